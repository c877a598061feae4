"""Every XSS vector and naughty string of the shared corpora, posted through the API."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from commentsvc.extensions import db
from commentsvc.models import Comment, Thread

from .conftest import corpus

COMMENTS_PER_THREAD = 500
SHOWN_FAILURES = 40
BROWSER_STRIPS = "".join(map(chr, range(0x21)))  # C0 controls and space, at either end of a URL

# What stored HTML may hold, written out here and not imported from commentsvc.render: were the
# renderer's allowlist widened (an <img>, an onclick), these tests must not widen with it.
ALLOWED_TAGS = {"p", "br", "em", "strong", "code", "pre", "blockquote", "ul", "ol", "li", "a"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title", "rel"}}
ALLOWED_PROTOCOLS = {"http", "https", "mailto"}
LINK_REL = "nofollow ugc noopener"


# --- what safe stored HTML looks like ----------------------------------------------------------


class _HTMLAudit(HTMLParser):
    """Walks stored HTML and notes everything outside the allowlist."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # attribute values arrive entity-decoded
        self.problems: list[str] = []
        self.markup = 0  # tags, comments and declarations seen: each began with a "<"

    def handle_starttag(self, tag, attrs):
        self.markup += 1
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"tag <{tag}> is not allowed")
            return
        names = [name for name, _ in attrs]
        if len(names) != len(set(names)):
            self.problems.append(f"<{tag}> repeats an attribute")
        allowed = ALLOWED_ATTRIBUTES.get(tag, [])
        self.problems += [f"attribute {name!r} on <{tag}>" for name in names if name not in allowed]
        if tag == "a":
            values = dict(attrs)
            self.problems += link_problems(values.get("href"))
            if values.get("rel") != LINK_REL:
                self.problems.append(f"rel is {values.get('rel')!r}, not {LINK_REL!r}")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        self.markup += 1
        if tag not in ALLOWED_TAGS:
            self.problems.append(f"end tag </{tag}> is not allowed")

    def handle_comment(self, data):
        self.markup += 1
        self.problems.append("an HTML comment")

    def handle_decl(self, decl):
        self.markup += 1
        self.problems.append(f"a declaration <!{decl}>")

    def unknown_decl(self, data):
        self.markup += 1
        self.problems.append(f"a declaration <![{data}]>")

    def handle_pi(self, data):
        self.markup += 1
        self.problems.append(f"a processing instruction <?{data}>")


def link_problems(href: str | None) -> list[str]:
    """Why an href would not be an absolute http, https or mailto URL, if it would not."""
    if href is None:
        return ["a link without href"]
    # A browser drops these before it reads the scheme ("java\tscript:" is "javascript:").
    if href != href.strip(BROWSER_STRIPS) or any(ch in href for ch in "\t\n\r"):
        return [f"href {href!r} holds characters a browser would drop"]
    try:
        parts = urlsplit(href)
    except ValueError:
        return [f"href {href!r} is not a URL"]
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_PROTOCOLS:
        return [f"href {href!r} has scheme {scheme!r}"]
    if scheme != "mailto" and not parts.netloc:
        return [f"href {href!r} is relative to the page"]  # "https:x" resolves against the page
    return []


def html_problems(html: str) -> list[str]:
    """Everything in html outside the allowlist; empty when html is safe to show."""
    audit = _HTMLAudit()
    audit.feed(html)
    audit.close()
    # The sanitiser escapes every "<" of text, so each one left must open markup seen above.
    if html.count("<") != audit.markup:
        audit.problems.append(f"{html.count('<')} '<' but only {audit.markup} parsed as markup")
    return audit.problems


def error_shape_problems(response) -> list[str]:
    """Why a refusal's body is not {"error": {"code", "message", "fields"?}}, if it is not."""
    body = response.get_json(silent=True)
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return [f"error body {response.get_data(as_text=True)[:200]!r}"]
    error = body["error"]
    problems = []
    if set(error) - {"code", "message", "fields"}:
        problems.append(f"unexpected error keys {sorted(set(error))}")
    for key in ("code", "message"):
        if not isinstance(error.get(key), str) or not error[key]:
            problems.append(f"error {key} is {error.get(key)!r}")
    fields = error.get("fields", {})
    if not isinstance(fields, dict) or not all(
        isinstance(reasons, list) and reasons and all(isinstance(r, str) for r in reasons)
        for reasons in fields.values()
    ):
        problems.append(f"error fields are {fields!r}")
    return problems


# --- the corpora -------------------------------------------------------------------------------


def _lines(path: Path) -> list[str]:
    # One vector a line. Split on "\n" only: str.splitlines would also cut at \x0b, \x1c,
    # U+2028 and friends, which some vectors hold on purpose. Blank lines are not vectors.
    return [line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]


def _bleach_input(path: Path) -> list[str]:
    lines = path.read_text(encoding="utf-8").split("\n")
    return ["\n".join(lines[: lines.index("--")])]


def _json_field(field: str) -> Callable[[Path], list[str]]:
    return lambda path: [case[field] for case in json.loads(path.read_text(encoding="utf-8"))]


def _json_strings(path: Path) -> list[str]:
    return json.loads(path.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Corpus:
    path: str  # under ../shared/corpora/
    read: Callable[[Path], list[str]]
    # How many of its vectors are accepted, so that their stored HTML is checked, and how many
    # it holds. A validator refusing more (all, at worst) would leave less checked: it fails.
    accepted: int
    vectors: int


# name: (accepted, vectors). The few refused are blank or hold control characters.
PAYLOADS_ALL_THE_THINGS = {
    "0xcela_event_handlers": (105, 105),
    "BRUTELOGIC-XSS-STRINGS": (110, 110),
    "IntrudersXSS": (178, 179),
    "JHADDIX_XSS": (110, 110),
    "MarioXSSVectors": (274, 274),
    "RSNAKE_XSS": (73, 73),
    "XSSDetection": (202, 202),
    "XSS_Polyglots": (16, 16),
    "port_swigger_xss_cheatsheet_event_handlers": (114, 114),
    "xss_payloads_quick": (39, 39),
}
CORPORA = [
    Corpus("xss/payloadbox-xss-payload-list.txt", _lines, 6613, 6613),
    *(
        Corpus(f"xss/payloadsallthethings/{name}.txt", _lines, *counts)
        for name, counts in PAYLOADS_ALL_THE_THINGS.items()
    ),
    *(Corpus(f"xss/bleach-tests-data/{n}.test", _bleach_input, 1, 1) for n in range(1, 21)),
    Corpus("xss/html5lib/sanitizer-tests1.json", _json_field("input"), 70, 72),
    Corpus("xss/dompurify/expect.json", _json_field("payload"), 214, 223),
    Corpus("naughty/blns.json", _json_strings, 507, 515),
]


def test_the_floors_add_up_to_what_the_corpora_hold():
    xss = [c for c in CORPORA if c.path.startswith("xss/")]
    assert (sum(c.accepted for c in xss), sum(c.vectors for c in xss)) == (8138, 8150)


VECTOR_FILES = ("*.txt", "*.test", "*.json")


def test_every_vector_file_in_the_corpora_is_posted():
    """A file added to the corpora folder must get a loader above, or it would go untested."""
    root = corpus()
    present = {
        str(path.relative_to(root))
        for folder in ("xss", "naughty")
        for pattern in VECTOR_FILES
        for path in (root / folder).rglob(pattern)
    }
    present.discard("naughty/blns.txt")  # the same strings as blns.json, with category comments
    assert present == {c.path for c in CORPORA}


# --- posting -----------------------------------------------------------------------------------


# The sanitiser never touches the database, so the XSS vectors run on SQLite alone; the naughty
# strings (NUL bytes, odd encodings) are what a backend can choke on, so they run on both.
XSS_CORPORA = [c for c in CORPORA if c.path.startswith("xss/")]
NAUGHTY_CORPORA = [c for c in CORPORA if not c.path.startswith("xss/")]


@pytest.mark.backends("sqlite")
@pytest.mark.parametrize("source", XSS_CORPORA, ids=[c.path for c in XSS_CORPORA])
def test_xss_vectors_are_stored_safe_or_refused_cleanly(source, app, client, form_token):
    _post_corpus(source, app, client, form_token)


@pytest.mark.parametrize("source", NAUGHTY_CORPORA, ids=[c.path for c in NAUGHTY_CORPORA])
def test_naughty_strings_are_stored_safe_or_refused_cleanly(source, app, client, form_token):
    _post_corpus(source, app, client, form_token)


def _post_corpus(source, app, client, form_token):
    vectors = source.read(corpus(*source.path.split("/")))
    assert vectors, f"{source.path} holds no vectors"
    batch = secrets.token_hex(4)
    failures: list[str] = []
    accepted: dict[int, tuple[int, str, str]] = {}  # comment id -> (index, vector, its html)
    uris_accepted: set[str] = set()

    def fail(index: int, vector: str, problem: str) -> None:
        failures.append(f"#{index} {vector[:120]!r}: {problem}")

    for index, vector in enumerate(vectors):
        uri = f"/corpus/{batch}/{index // COMMENTS_PER_THREAD}.html"
        response = client.post(
            "/api/comments", json={"uri": uri, "text": vector, "form_token": form_token(uri)}
        )
        if response.status_code == 201:
            body = response.get_json()
            accepted[body["id"]] = (index, vector, body["html"])
            uris_accepted.add(uri)
        elif 400 <= response.status_code < 500:
            for problem in error_shape_problems(response):
                fail(index, vector, f"HTTP {response.status_code}, {problem}")
        else:
            fail(index, vector, f"HTTP {response.status_code}")

    # The app fixture empties the tables after each test, so every row now is this test's.
    with app.app_context():
        rows = db.session.execute(sa.select(Comment.id, Comment.html)).all()
        thread_uris = set(db.session.scalars(sa.select(Thread.uri)))
        db.session.remove()
    stored = dict(rows)
    checked = 0
    for comment_id, html in stored.items():
        if comment_id not in accepted:
            failures.append(f"comment {comment_id} is stored though its post was refused")
            continue
        index, vector, answered = accepted[comment_id]
        if html != answered:
            fail(index, vector, f"stored html {html!r} differs from the response's {answered!r}")
        for problem in html_problems(html):
            fail(index, vector, f"{problem} in {html[:200]!r}")
        checked += 1
    for comment_id in accepted.keys() - stored.keys():
        failures.append(f"comment {comment_id} was answered 201 but is not stored")
    if thread_uris != uris_accepted:
        failures.append(f"threads {sorted(thread_uris ^ uris_accepted)} exist without a comment")

    assert not failures, (
        f"{len(failures)} problem(s) among {len(vectors)} vectors of {source.path}:\n"
        + "\n".join(failures[:SHOWN_FAILURES])
    )
    assert (checked, len(vectors)) == (source.accepted, source.vectors), (
        f"{source.path}: {checked} of {len(vectors)} vectors accepted and their HTML checked, "
        f"where {source.accepted} of {source.vectors} were; a refusal now is a lost check"
    )
