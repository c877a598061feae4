"""Does posting slow down as one address's history grows? Time POST /api/comments in process
after 0, 10,000 and 100,000 earlier comments from the same address, on SQLite and PostgreSQL.

Every earlier comment is stored as a real row (text, digest of the normalised text, the same
address hash the timed posts carry, inside the duplicate window), on threads of 100 comments
each as a reader's history would be, so the duplicate check, the ban lookup and the form-token
insert all run against the full history. Each timed post is new text with a fresh form token
on one thread of its own, moderation `none`, no mail, rate limits off.

Usage: .venv/bin/python bench/post_history_bench.py [--db sqlite|postgres|both]
                                                     [--history 0,10000,100000] [--posts 300]
PostgreSQL comes from COMMENTSVC_TEST_DATABASE_URL (default the local `test` server); a
throwaway database is created and dropped.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this tree, not whatever the venv points at
sys.path.insert(0, str(ROOT / "bench"))

import sqlalchemy as sa  # noqa: E402
from _common import migrated_app  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from commentsvc.antispam import text_digest  # noqa: E402
from commentsvc.extensions import db  # noqa: E402
from commentsvc.models import Comment, Status, Thread, utcnow  # noqa: E402
from commentsvc.tokens import issue_form_token, keyed_hash  # noqa: E402

SECRET = "bench-" + "k" * 40
ADDRESS = "198.51.100.7"
URI = "/2008/01/persistence-pays-off.html"
ORIGIN = "http://blog.test"
BATCH = 5_000
PER_THREAD = 100


def _seed(app, total: int, have: int) -> None:
    """Bring the address's history from `have` to `total` comments, in batches."""
    remote_hash = keyed_hash(SECRET, ADDRESS)
    with app.app_context():
        now = utcnow()
        for start in range(have, total, BATCH):
            stop = min(start + BATCH, total)
            threads = {}
            for first in range(start - start % PER_THREAD, stop, PER_THREAD):
                thread = Thread(uri=f"/history/{first // PER_THREAD}.html", title="Earlier")
                db.session.add(thread)
                threads[first // PER_THREAD] = thread
            db.session.flush()
            rows = []
            for n in range(start, stop):
                thread = threads[n // PER_THREAD]
                text = f"Earlier comment number {n}: persistence pays off, {n * 7919 % 104729}."
                rows.append(
                    {
                        "thread_id": thread.id,
                        "author": "Regular",
                        "text": text,
                        "text_hash": text_digest(text),
                        "html": f"<p>{text}</p>",
                        "status": Status.approved,
                        "remote_hash": remote_hash,
                        "remote_addr": "198.51.100.0",
                        "avatar": "a" * 16,
                        "created": now - timedelta(seconds=n % 500),
                    }
                )
            db.session.execute(sa.insert(Comment), rows)
            db.session.commit()


def _time_posts(app, posts: int, tag: str) -> list[float]:
    client = app.test_client()
    headers = {"Origin": ORIGIN}
    times = []
    for n in range(posts):
        body = {
            "uri": URI,
            "author": "Regular",
            "text": f"A new thought {tag}-{n}, on selling.",
            "form_token": issue_form_token(SECRET, site="default", uri=URI),
        }
        began = time.perf_counter()
        answer = client.post(
            "/api/comments", json=body, headers=headers, environ_base={"REMOTE_ADDR": ADDRESS}
        )
        times.append((time.perf_counter() - began) * 1000)
        if answer.status_code != 201:
            raise SystemExit(f"post answered {answer.status_code}: {answer.get_data(True)[:200]}")
    return times


def _run(label: str, url: str, histories: list[int], posts: int) -> None:
    app = migrated_app(url, SECRET, ALLOWED_ORIGINS=[ORIGIN], PUBLIC_URL="http://comments.test")
    with app.app_context():
        db.session.add(Thread(uri=URI, title="Persistence pays off"))
        db.session.commit()
    _time_posts(app, 50, "warm")  # first-request costs out of the way
    have = 0
    print(f"\n{label}: POST /api/comments in process, ms per post ({posts} posts)")
    print(f"  {'earlier comments':>18}  {'median':>7}  {'p90':>7}  {'p99':>7}")
    for history in histories:
        if history > have:
            _seed(app, history, have)
            have = history
        times = sorted(_time_posts(app, posts, f"h{history}"))
        p90, p99 = times[int(len(times) * 0.9)], times[int(len(times) * 0.99)]
        print(f"  {history:>18,}  {statistics.median(times):7.2f}  {p90:7.2f}  {p99:7.2f}")
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--history", default="0,10000,100000")
    parser.add_argument("--posts", type=int, default=300)
    args = parser.parse_args()
    histories = sorted(int(value) for value in args.history.split(","))
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            _run("SQLite", f"sqlite:///{tmp}/bench.sqlite3", histories, args.posts)
    if args.db in ("postgres", "both"):
        base = os.environ.get(
            "COMMENTSVC_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        name = f"commentsvc_bench_{uuid.uuid4().hex[:10]}"
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            _run(
                "PostgreSQL",
                make_url(base).set(database=name).render_as_string(False),
                histories,
                args.posts,
            )
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
