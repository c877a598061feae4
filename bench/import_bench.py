"""Time `commentsvc import disqus` on synthetic Disqus exports of 10,000 and 100,000 comments.

Run from the repository root:
    .venv/bin/python bench/import_bench.py [--sizes 10000,100000] [--backends sqlite,postgresql]

For each size it writes a Disqus export (fixed random seed, streamed to a temporary file), and
for each backend it migrates a fresh database, imports the file with the command an operator
runs, checks what was stored, imports it again (everything must be skipped) and prints the
wall time and the importing process's own peak RSS. See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import TextIO
from xml.sax.saxutils import escape

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(REPO))  # measure the tree this file sits in, wherever the venv points

import sqlalchemy as sa  # noqa: E402

from tests.support.databases import fresh_postgres, migrate, postgres_problem  # noqa: E402
from tests.support.env import service_env  # noqa: E402

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/"
SIZES = (10_000, 100_000)
BACKENDS = ("sqlite", "postgresql")
COMMENTS_PER_THREAD = 20
SEED = 20131011
TARGET_RATE = 2_000  # comments per second, on SQLite
TARGET_MIB = 250  # peak RSS of the importing process

REPLY_SHARE = 0.6  # of the posts after a thread's first
MAX_DEPTH = 12
BEFORE_PARENT_SHARE = 0.04  # of the replies, written before the post they answer
SPAM_SHARE, DELETED_SHARE = 0.03, 0.02
CLOSED_THREADS, DELETED_THREADS = 0.05, 0.005
START = datetime(2012, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=8 * 365)
POST_ID, THREAD_ID = 1_089_378_960, 2_145_002_000  # Disqus ids: large, increasing, with gaps


# --- the export ----------------------------------------------------------------------------------

WORDS = """
the a of to and in that it is was for on with as this but be at by not are from have had or
you I we they your post thanks great point article blog server comment comments reader
writing database backup cache memory disk query index thread reply SQLite PostgreSQL Python
deploy nginx config release update version upgrade bug fix test feature idea example question
answer agree disagree really quite simply exactly maybe perhaps never always sometimes often
interesting useful helpful confusing wrong right old new fast slow small large simple clever
café naïve façade résumé Zürich São-Paulo Kraków Ærø Straße jalapeño déjà-vu coöperate
""".split()
ODD_WORDS = [
    "日本語のブログ",
    "спасибо",
    "Ελληνικά",
    "שלום",
    "“quoted”",
    "— yes —",
    "🙂",
    "👍",
    "&amp;",
    "&lt;tag&gt;",
    "½",
    "€20",
    "…",
]
FIRST = [
    "Anna",
    "Bob",
    "Chloé",
    "Dmitri",
    "Eve",
    "François",
    "Grace",
    "Håkon",
    "Ines",
    "José",
    "Kai",
    "Łukasz",
    "Maria",
    "Nils",
    "Özge",
    "Pat",
    "Quinn",
    "Renée",
    "Søren",
    "Tomás",
    "Uma",
    "Vikram",
    "Wei",
    "Ximena",
    "Yuki",
    "Zoë",
    "田中",
    "Алексей",
]
LAST = [
    "Smith",
    "Müller",
    "García",
    "Rossi",
    "Nowak",
    "Dubois",
    "Jensen",
    "O'Brien",
    "Kim",
    "Silva",
    "Novák",
    "Yılmaz",
    "van der Berg",
    "Nakamura",
    "Ivanova",
    "",
]
DOMAINS = ["example.com", "example.org", "mail.example.net", "posteo.example", "uni.example.edu"]


@dataclass
class Plan:
    """Who answers whom: posts numbered in order of writing, and the order of the file."""

    thread_of: list[int]
    parent: list[int]  # -1 for a top-level post
    depth: list[int]
    order: list[int]  # post at each position of the file
    first_post: list[int]  # of each thread


@dataclass
class Export:
    path: Path
    comments: int
    threads: int
    replies: int = 0
    before_parent: int = 0
    max_depth: int = 0
    deep: int = 0  # replies at depth 3 or more
    busiest: int = 0  # comments of the busiest thread
    statuses: Counter = field(default_factory=Counter)
    lengths: list[int] = field(default_factory=list)  # min, mean, max of the messages
    size: int = 0
    seconds: float = 0.0

    def describe(self) -> str:
        low, mean, high = self.lengths
        return (
            f"{self.comments:,} comments over {self.threads:,} threads (busiest "
            f"{self.busiest:,}), {self.replies:,} replies ({self.deep:,} at depth 3 to "
            f"{self.max_depth}, {self.before_parent:,} written before their parent), "
            + ", ".join(f"{n:,} {s}" for s, n in sorted(self.statuses.items()))
            + f"; messages {low}-{high} characters, mean {mean}; "
            f"{self.size / 1e6:.1f} MB, written in {self.seconds:.1f} s"
        )


def plan_posts(rng: random.Random, comments: int, threads: int) -> Plan:
    # Every thread gets a post; a few threads get most of the others, as on a real blog.
    weights = [rng.paretovariate(2.0) for _ in range(threads)]
    thread_of = list(range(threads)) + rng.choices(
        range(threads), cum_weights=list(accumulate(weights)), k=comments - threads
    )
    rng.shuffle(thread_of)
    posts_of: list[list[int]] = [[] for _ in range(threads)]
    parent: list[int] = []
    depth: list[int] = []
    for post, thread in enumerate(thread_of):
        earlier, answers = posts_of[thread], -1
        if earlier and rng.random() < REPLY_SHARE:
            if rng.random() < 0.7:  # the conversation of the moment: deep chains
                answers = earlier[-1 - min(len(earlier) - 1, int(rng.expovariate(0.7)))]
            else:
                answers = rng.choice(earlier)
            while depth[answers] >= MAX_DEPTH:
                answers = parent[answers]
        parent.append(answers)
        depth.append(0 if answers < 0 else depth[answers] + 1)
        earlier.append(post)
    # Exports are not strictly in order: some replies come before the post they answer.
    order, position = list(range(comments)), list(range(comments))
    for post in range(comments):
        answers = parent[post]
        if answers >= 0 and rng.random() < BEFORE_PARENT_SHARE:
            a, b = position[post], position[answers]
            order[a], order[b] = order[b], order[a]
            position[post], position[answers] = b, a
    return Plan(thread_of, parent, depth, order, [posts[0] for posts in posts_of])


def sentence(rng: random.Random) -> str:
    words = rng.choices(WORDS, k=rng.randint(5, 18))
    if rng.random() < 0.15:
        words.insert(rng.randrange(len(words)), rng.choice(ODD_WORDS))
    if rng.random() < 0.12:
        at = rng.randrange(len(words))
        tag = rng.choice(("b", "i", "em", "strong", "code"))
        words[at] = f"<{tag}>{words[at]}</{tag}>"
    if rng.random() < 0.1:
        at = rng.randrange(len(words))
        slug = "-".join(rng.choices(WORDS[:60], k=3)).lower()
        words[at] = (
            f'<a href="https://{rng.choice(DOMAINS)}/{rng.randint(2009, 2020)}/{slug}" '
            f'rel="nofollow noopener" title="{words[at]}">{words[at]}</a>'
        )
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice("..........?!")


def message(rng: random.Random) -> str:
    """A comment's HTML as Disqus exports it: paragraphs, the odd line break, 50-1,500 chars."""
    target = 55 + int(1400 * rng.random() ** 2.2)
    paragraphs, current, length = [], [], 0
    while length < target:
        part = sentence(rng)
        if length + len(part) + 40 > 1500 and length >= 50:
            break
        if current and rng.random() < 0.1:
            current.append("<br>")
        current.append(part)
        length += len(part) + 1
        if rng.random() < 0.3:
            paragraphs.append(current)
            current = []
            length += 7
    if current:
        paragraphs.append(current)
    html = "".join(f"<p>{' '.join(p)}</p>" for p in paragraphs)
    if len(paragraphs) > 1 and rng.random() < 0.05:  # quoting an earlier comment
        quoted, rest = html.split("</p>", 1)
        html = f"<blockquote>{quoted}</p></blockquote>{rest}"
    return html


def readers(rng: random.Random, count: int) -> list[tuple[str, str, str, str]]:
    """Name, e-mail, Disqus username (empty for guests) and address of each commenter."""
    people = []
    for n in range(count):
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}".strip()
        ascii_name = re.sub(r"[^a-z]", "", name.lower()) or "reader"
        email = f"{ascii_name}{n}@{rng.choice(DOMAINS)}" if rng.random() < 0.85 else ""
        username = f"{ascii_name}_{n}" if rng.random() < 0.5 else ""
        if rng.random() < 0.1:
            address = ":".join(f"{rng.randrange(65536):x}" for _ in range(8))
        else:
            address = ".".join(str(rng.randrange(1, 255)) for _ in range(4))
        people.append((name, email, username, address))
    return people


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def post_time(post: int, comments: int) -> datetime:
    return START + SPAN * (post / comments)


def write_threads(out: TextIO, rng: random.Random, plan: Plan, comments: int) -> set[int]:
    deleted = set()
    for thread, first in enumerate(plan.first_post):
        title = " ".join(rng.choices(WORDS, k=rng.randint(3, 8))).capitalize()
        if rng.random() < 0.1:
            title += " & more"
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        created = post_time(first, comments) - timedelta(hours=rng.uniform(1, 72))
        link = (
            f"https://blog.example.org/?p={thread}"
            if rng.random() < 0.05
            else f"https://blog.example.org/{created:%Y/%m}/{slug}-{thread}/"
        )
        if rng.random() < DELETED_THREADS:
            deleted.add(thread)
        out.write(
            f'  <thread dsq:id="{THREAD_ID + 7 * thread}">\n    <id>{thread}</id>\n'
            f'    <forum>exampleblog</forum>\n    <category dsq:id="1"/>\n'
            f"    <link>{escape(link)}</link>\n    <title>{escape(title)}</title>\n"
            f"    <message/>\n    <createdAt>{stamp(created)}</createdAt>\n"
            f"    <author>\n      <email>editor@blog.example.org</email>\n"
            f"      <name>The Editor</name>\n      <isAnonymous>false</isAnonymous>\n"
            f"      <username>editor</username>\n    </author>\n"
            f"    <ipAddress>192.0.2.1</ipAddress>\n"
            f"    <isClosed>{str(rng.random() < CLOSED_THREADS).lower()}</isClosed>\n"
            f"    <isDeleted>{str(thread in deleted).lower()}</isDeleted>\n  </thread>\n"
        )
    # Disqus also writes threads without a link, which name no page; no post is in them.
    for n in range(3):
        out.write(f'  <thread dsq:id="{THREAD_ID - 1 - n}">\n    <id/>\n  </thread>\n')
    return deleted


def write_post(
    out: TextIO,
    rng: random.Random,
    plan: Plan,
    post: int,
    comments: int,
    people: list,
    deleted_threads: set[int],
    export: Export,
) -> None:
    text = message(rng)
    name, email, username, address = rng.choice(people)
    spam, deleted = rng.random() < SPAM_SHARE, rng.random() < DELETED_SHARE
    thread, answers = plan.thread_of[post], plan.parent[post]
    if spam:
        export.statuses["spam"] += 1
    elif deleted or thread in deleted_threads:
        export.statuses["deleted"] += 1
    else:
        export.statuses["approved"] += 1
    export.lengths[0] = min(export.lengths[0], len(text))
    export.lengths[1] += len(text)
    export.lengths[2] = max(export.lengths[2], len(text))
    author = (
        f"      <email>{email}</email>\n      <name>{escape(name)}</name>\n"
        f"      <isAnonymous>{str(not username).lower()}</isAnonymous>\n"
        + (f"      <username>{username}</username>\n" if username else "")
    )
    out.write(
        f'  <post dsq:id="{POST_ID + 17 * post}">\n    <id/>\n'
        f"    <message><![CDATA[{text}]]></message>\n"
        f"    <createdAt>{stamp(post_time(post, comments))}</createdAt>\n"
        f"    <isDeleted>{str(deleted).lower()}</isDeleted>\n"
        f"    <isSpam>{str(spam).lower()}</isSpam>\n"
        f"    <author>\n{author}    </author>\n    <ipAddress>{address}</ipAddress>\n"
        f'    <thread dsq:id="{THREAD_ID + 7 * thread}"/>\n'
        + (f'    <parent dsq:id="{POST_ID + 17 * answers}"/>\n' if answers >= 0 else "")
        + "  </post>\n"
    )


def write_export(path: Path, comments: int, threads: int) -> Export:
    """A Disqus export of `comments` posts over `threads` threads, written as it is made."""
    started = time.perf_counter()
    rng = random.Random(SEED)
    plan = plan_posts(rng, comments, threads)
    people = readers(rng, max(50, comments // 6))
    export = Export(path, comments, threads, lengths=[10**9, 0, 0])
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<disqus xmlns="http://disqus.com" '
            'xmlns:dsq="http://disqus.com/disqus-internals" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xsi:schemaLocation="http://disqus.com/api/schemas/1.0/disqus.xsd '
            'http://disqus.com/api/schemas/1.0/internals.xsd">\n'
            '  <category dsq:id="1">\n    <forum>exampleblog</forum>\n'
            "    <title>General</title>\n    <isDefault>true</isDefault>\n"
            "  </category>\n"
        )
        deleted_threads = write_threads(out, rng, plan, comments)
        for post in plan.order:
            write_post(out, rng, plan, post, comments, people, deleted_threads, export)
        out.write("</disqus>\n")
    position_of = [0] * comments
    for position, post in enumerate(plan.order):
        position_of[post] = position
    export.replies = sum(1 for answers in plan.parent if answers >= 0)
    export.before_parent = sum(
        1
        for post, answers in enumerate(plan.parent)
        if answers >= 0 and position_of[post] < position_of[answers]
    )
    export.max_depth = max(plan.depth)
    export.deep = sum(1 for d in plan.depth if d >= 3)
    export.busiest = max(Counter(plan.thread_of).values())
    export.lengths[1] //= comments
    export.size = path.stat().st_size
    export.seconds = time.perf_counter() - started
    return export


# --- importing -----------------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    peak_mib: float  # the importing process's own peak, not the largest of all children
    output: str


@dataclass
class Result:
    backend: str
    export: Export
    startup: Run | None = None
    first: Run | None = None
    second: Run | None = None
    problems: list[str] = field(default_factory=list)


def run_measured(command: list[str], env: dict[str, str]) -> Run:
    """Run a command to its end; its wall time, and its peak RSS from its own rusage."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except BaseException:
            process.kill()
            process.wait()
            raise
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        output = out.read().decode("utf-8", "replace")
    if process.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command[1:])} exited with {process.returncode}:\n{output[-3000:]}"
        )
    return Run(seconds, usage.ru_maxrss / 1024, output)  # ru_maxrss is in KiB on Linux


def import_command(path: Path) -> list[str]:
    return [str(BIN / "commentsvc"), "import", "disqus", str(path), "--quiet"]


def stored(database_url: str) -> tuple[int, Counter, int]:
    """Threads of the default site, its comments by status, and how many are replies."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            threads = conn.execute(
                sa.text("SELECT count(*) FROM threads WHERE site = 'default'")
            ).scalar_one()
            rows = conn.execute(
                sa.text(
                    "SELECT c.status, count(*), count(c.parent_id) FROM comments c "
                    "JOIN threads t ON t.id = c.thread_id WHERE t.site = 'default' "
                    "GROUP BY c.status"
                )
            ).all()
    finally:
        engine.dispose()
    return threads, Counter({status: n for status, n, _ in rows}), sum(r[2] for r in rows)


def check_first(result: Result, database_url: str) -> None:
    export, output = result.export, result.first.output
    if f"Comments: {export.comments} imported" not in output or "Refused: 0" not in output:
        result.problems.append(f"first import reported: {' | '.join(output.splitlines()[:6])}")
    if "top level" in output:
        result.problems.append("some replies lost their parent")
    threads, statuses, replies = stored(database_url)
    if threads != export.threads:
        result.problems.append(f"{threads:,} threads stored, {export.threads:,} expected")
    if statuses != export.statuses:
        result.problems.append(f"stored {dict(statuses)}, expected {dict(export.statuses)}")
    if replies != export.replies:
        result.problems.append(
            f"{replies:,} replies linked to their parent, {export.replies:,} expected"
        )


def check_second(result: Result, database_url: str) -> None:
    output = result.second.output
    if f"0 imported, {result.export.comments} skipped" not in output:
        result.problems.append(f"second import reported: {' | '.join(output.splitlines()[:3])}")
    _, statuses, _ = stored(database_url)
    if sum(statuses.values()) != result.export.comments:
        result.problems.append(f"{sum(statuses.values()):,} comments after the second import")


def run_backend(
    backend: str, export: Export, empty: Path, workdir: Path, postgres_url: str
) -> Result:
    result = Result(backend, export)
    with ExitStack() as stack:
        if backend == "sqlite":
            database_url = f"sqlite:///{workdir / f'{backend}-{export.comments}.sqlite3'}"
        else:
            database_url = stack.enter_context(
                fresh_postgres(postgres_url, prefix="commentsvc_bench")
            )
        migrate(database_url, workdir)
        env = service_env(database_url, workdir)
        # As on an operator's machine, where pip compiled the package at install or its first
        # run left the bytecode behind, the timed runs do not compile the modules they load.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        # An export without posts: the fixed cost of the command (interpreter, app, imports),
        # and the code it loads is read from disk (and compiled) once before the timed runs.
        result.startup = run_measured(import_command(empty), env)
        result.first = run_measured(import_command(export.path), env)
        check_first(result, database_url)
        result.second = run_measured(import_command(export.path), env)
        check_second(result, database_url)
    if backend == "sqlite":
        Path(database_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    return result


def write_empty_export(path: Path) -> None:
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<disqus xmlns="http://disqus.com" '
        'xmlns:dsq="http://disqus.com/disqus-internals">\n'
        '  <thread dsq:id="1">\n    <link>https://blog.example.org/empty/</link>\n'
        "    <title>Nobody commented</title>\n  </thread>\n</disqus>\n",
        encoding="utf-8",
    )


# --- output --------------------------------------------------------------------------------------


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def print_table(results: list[Result]) -> None:
    rows = [
        (
            "backend",
            "comments",
            "threads",
            "file MB",
            "import s",
            "comments/s",
            f">= {TARGET_RATE:,}/s",
            "peak RSS MiB",
            f"< {TARGET_MIB} MiB",
            "2nd run s",
            "2nd RSS MiB",
            "start-up s",
            "checks",
        )
    ]
    for r in results:
        rate = r.export.comments / r.first.seconds
        rows.append(
            (
                r.backend,
                f"{r.export.comments:,}",
                f"{r.export.threads:,}",
                f"{r.export.size / 1e6:.1f}",
                f"{r.first.seconds:.1f}",
                f"{rate:,.0f}",
                _met(rate >= TARGET_RATE) if r.backend == "sqlite" else "-",
                f"{r.first.peak_mib:.0f}",
                _met(r.first.peak_mib < TARGET_MIB),
                f"{r.second.seconds:.1f}",
                f"{r.second.peak_mib:.0f}",
                f"{r.startup.seconds:.1f}",
                "ok" if not r.problems else "FAILED",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    print(
        "\n== commentsvc import disqus FILE --quiet, a fresh database per row; wall time of "
        "the command, peak RSS of its process =="
    )
    for n, row in enumerate(rows):
        print(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))
    print(
        f"targets: >= {TARGET_RATE:,} comments/s on SQLite, peak RSS < {TARGET_MIB} MiB. "
        "comments/s counts the whole command, start-up included; 2nd run: the same file "
        "again, every comment skipped; start-up: an export without posts."
    )
    for r in results:
        for problem in r.problems:
            print(f"FAILED {r.backend} {r.export.comments:,}: {problem}")


def describe_machine() -> str:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "?"
    if git("status", "--porcelain", "--", "commentsvc", "migrations"):
        commit += " + uncommitted changes"
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    return (
        f"commentsvc {commit}; Python {platform.python_version()}; {os.cpu_count()} CPUs, "
        f"load average {load} (shared machine: absolute figures are noisy)"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes",
        default=",".join(map(str, SIZES)),
        help=f"comma-separated numbers of comments; threads are 1 in {COMMENTS_PER_THREAD}",
    )
    parser.add_argument(
        "--backends", default=",".join(BACKENDS), help="comma-separated: sqlite, postgresql"
    )
    parser.add_argument(
        "--postgres-url",
        default=DEFAULT_POSTGRES_URL,
        help="server on which a throw-away database is created (and dropped)",
    )
    args = parser.parse_args(argv)
    try:
        args.sizes = [int(n) for n in args.sizes.split(",")]
    except ValueError:
        parser.error("--sizes takes whole numbers, e.g. 10000,100000")
    if not args.sizes or min(args.sizes) < COMMENTS_PER_THREAD:
        parser.error(f"every size must be at least {COMMENTS_PER_THREAD}")
    args.backends = [b.strip() for b in args.backends.split(",")]
    if not args.backends or set(args.backends) - set(BACKENDS):
        parser.error("--backends takes sqlite, postgresql or both")
    return args


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)  # clean up on kill as on Ctrl-C
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if "postgresql" in args.backends and (problem := postgres_problem(args.postgres_url)):
        print(f"{problem}; run with --backends sqlite", file=sys.stderr)
        return 2
    print(describe_machine(), flush=True)
    results = []
    workdir = Path(tempfile.mkdtemp(prefix="commentsvc-import-bench-"))
    try:
        empty = workdir / "empty.xml"
        write_empty_export(empty)
        for size in args.sizes:
            export = write_export(
                workdir / f"disqus-{size}.xml", size, max(1, size // COMMENTS_PER_THREAD)
            )
            print(f"\nexport: {export.describe()}", flush=True)
            for backend in args.backends:
                result = run_backend(backend, export, empty, workdir, args.postgres_url)
                results.append(result)
                print(
                    f"  {backend}: imported in {result.first.seconds:.1f} s "
                    f"(peak RSS {result.first.peak_mib:.0f} MiB), again in "
                    f"{result.second.seconds:.1f} s",
                    flush=True,
                )
            export.path.unlink()
    except KeyboardInterrupt:
        print(
            "\ninterrupted: import stopped, temporary files and database removed", file=sys.stderr
        )
        return 130
    except (RuntimeError, OSError, subprocess.SubprocessError, sa.exc.SQLAlchemyError) as exc:
        print(f"\nbenchmark failed (temporary files and database removed): {exc}", file=sys.stderr)
        return 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(results)
    return 1 if any(r.problems for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
