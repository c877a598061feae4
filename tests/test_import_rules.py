"""What holds for every import: run twice it adds nothing, a newer file adds only what is new,
a bad file is refused in one line with exit status 2 and the database as it was, XML is read
safely, cached pages are current at once, and the command line's options do what they say."""

from __future__ import annotations

import json
import time
import tracemalloc
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import func, select

from commentsvc.config import settings_of
from commentsvc.errors import BadImportFile
from commentsvc.extensions import db
from commentsvc.importers import import_file
from commentsvc.models import Comment, Status, Thread
from tests.conftest import corpus
from tests.test_import_formats import run_import, stored

DISQUS_HEAD = (
    '<?xml version="1.0" encoding="utf-8"?>\n<disqus xmlns="http://disqus.com" '
    'xmlns:dsq="http://disqus.com/disqus-internals">\n'
)


def disqus_post(
    ident: int, thread: int = 1, parent: int | None = None, text: str = "", author: str = "Reader"
) -> str:
    parent_tag = f'<parent dsq:id="{parent}"/>' if parent else ""
    return (
        f'<post dsq:id="{ident}"><message>{escape(text or f"<p>Comment {ident}</p>")}'
        f"</message><createdAt>2015-06-01T10:{ident // 60 % 60:02d}:{ident % 60:02d}Z"
        f"</createdAt><isDeleted>false</isDeleted><isSpam>false</isSpam><author><name>"
        f"{escape(author)}</name><email>r{ident}@example.org</email></author>"
        f'<ipAddress>198.51.100.{ident % 250}</ipAddress><thread dsq:id="{thread}"/>'
        f"{parent_tag}</post>\n"
    )


def disqus_file(path, posts, threads=(1,)):
    head = "".join(
        f'<thread dsq:id="{t}"><link>https://blog.example/post-{t}/</link>'
        f"<title>Post {t}</title></thread>\n"
        for t in threads
    )
    path.write_text(DISQUS_HEAD + head + "".join(posts) + "</disqus>\n", encoding="utf-8")
    return path


def count_comments(app) -> int:
    with app.app_context():
        return db.session.execute(select(func.count()).select_from(Comment)).scalar_one()


def test_a_second_run_adds_nothing(app):
    path = corpus("imports", "disqus", "isso-disqus.xml")
    first = run_import(app, "disqus", path)
    before = stored(app)
    again = run_import(app, "disqus", path)
    assert (first.comments, first.skipped) == (5, 0)
    assert (again.comments, again.skipped, again.threads_created, again.threads_reused) == (
        0,
        5,
        0,
        2,
    )
    assert "Nothing new: every comment of this file was imported before." in again.lines()
    assert stored(app) == before


def test_a_newer_overlapping_export_adds_only_the_new_comments(app, tmp_path):
    older = disqus_file(tmp_path / "old.xml", [disqus_post(i) for i in range(1, 11)])
    newer = disqus_file(
        tmp_path / "new.xml",
        [disqus_post(i) for i in range(6, 16)]
        + [disqus_post(16, parent=3, text="<p>late reply to 3</p>")],
    )
    run_import(app, "disqus", older)
    report = run_import(app, "disqus", newer)
    assert (report.comments, report.skipped, report.threads_reused) == (6, 5, 1)
    comments = stored(app)
    assert len(comments) == 16
    # The reply's parent came with the older file: it is found in the database.
    assert comments["disqus:16"]["parent"] == "disqus:3"


def test_replies_before_their_parents_and_across_batches_are_linked(app, tmp_path):
    posts = [disqus_post(2500, parent=1)]  # first in the file, its parent last
    posts += [disqus_post(i, parent=i - 1 if i % 3 else None) for i in range(2, 2400)]
    posts += [disqus_post(1)]
    report = run_import(app, "disqus", disqus_file(tmp_path / "big.xml", posts))
    assert report.comments == 2400 and not report.reattached
    comments = stored(app)
    assert comments["disqus:2500"]["parent"] == "disqus:1"
    assert comments["disqus:1001"]["parent"] == "disqus:1000"  # across the first batch's end
    assert comments["disqus:1502"]["parent"] == "disqus:1501"
    assert comments["disqus:1500"]["parent"] is None


def test_comments_are_inserted_a_batch_per_statement_each_with_its_own_row(
    app, count_queries, tmp_path
):
    # A statement per comment (SQLite's RETURNING in the parameters' order) made an import's
    # inserts cost as much as its parsing; each id is matched to its row by the origin.
    posts = [disqus_post(i, parent=i - 1 if i % 4 != 1 else None) for i in range(1, 2101)]
    path = disqus_file(tmp_path / "many.xml", posts)
    count_queries.clear()
    report = run_import(app, "disqus", path)
    inserts = [s for s in count_queries if s.lstrip().upper().startswith("INSERT INTO COMMENTS")]
    assert report.comments == 2100 and len(inserts) == 3  # batches of 1,000
    with app.app_context():
        rows = db.session.execute(select(Comment.origin, Comment.email, Comment.id)).all()
    ids = {origin: ident for origin, _, ident in rows}
    assert all(email == f"r{origin[7:]}@example.org" for origin, email, _ in rows)
    comments = stored(app)
    assert all(
        comments[f"disqus:{i}"]["parent"] == (f"disqus:{i - 1}" if i % 4 != 1 else None)
        for i in range(1, 2101)
    )
    assert sorted(ids.values()) == sorted(set(ids.values()))


def test_a_reply_to_a_comment_of_another_thread_goes_to_the_top(app, tmp_path):
    path = disqus_file(
        tmp_path / "x.xml",
        [disqus_post(1, thread=1), disqus_post(2, thread=2, parent=1)],
        threads=(1, 2),
    )
    report = run_import(app, "disqus", path)
    assert report.reattached == [('<post dsq:id="2">', "its parent disqus:1 is in another thread")]
    assert stored(app)["disqus:2"]["parent"] is None


def test_cached_thread_pages_and_counts_are_current_right_after_an_import(app, client, tmp_path):
    run_import(app, "disqus", disqus_file(tmp_path / "a.xml", [disqus_post(1)]))
    assert len(client.get("/api/threads?uri=/post-1/").get_json()["comments"]) == 1  # cached
    run_import(app, "disqus", disqus_file(tmp_path / "b.xml", [disqus_post(1), disqus_post(2)]))
    assert len(client.get("/api/threads?uri=/post-1/").get_json()["comments"]) == 2
    assert client.get("/api/counts?uri=/post-1/").get_json()["counts"] == {"/post-1/": 2}


def test_a_dry_run_reports_but_saves_nothing(app, tmp_path):
    report = run_import(app, "disqus", corpus("imports", "disqus", "isso-disqus.xml"), dry_run=True)
    assert report.comments == 5 and report.lines()[0].startswith("Dry run of an import")
    assert count_comments(app) == 0


def test_uri_map_moves_threads_and_status_holds_them(app, tmp_path):
    mapping = tmp_path / "map.csv"
    mapping.write_text("# old URL,new uri\nhttp://example.org/,/moved/hello/\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(
        args=[
            "import",
            "disqus",
            str(corpus("imports", "disqus", "isso-disqus.xml")),
            "--uri-map",
            str(mapping),
            "--status",
            "pending",
            "--site",
            "blog2",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "Comments: 5 imported (1 deleted, 4 pending)" in result.output
    comments = stored(app, site="blog2")
    assert comments["disqus:4"]["uri"] == "/moved/hello/"
    assert comments["disqus:8"]["uri"] == "/blog/2013/02/12/redacted/index.html"  # not mapped
    assert stored(app) == {}  # the default site has none


# --- bad files ---------------------------------------------------------------------------------


def cli_import(app, *args: str):
    return app.test_cli_runner().invoke(args=["import", *args])


def refused_in_one_line(result, reason: str) -> None:
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    message = result.stderr.strip()
    assert "\n" not in message and message.startswith("Error: ") and reason in message, message


@pytest.fixture
def seeded(app):
    """A database holding one imported thread, which every refused import must leave as is."""
    run_import(app, "wordpress", corpus("imports", "wordpress", "isso-wordpress.xml"))
    return stored(app)


def truncated(tmp_path, source, fraction=0.6, name="cut.xml"):
    data = source.read_bytes()
    path = tmp_path / name
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


BAD_FILES = {
    "disqus file named blogger": (
        "blogger",
        lambda tmp: corpus("imports", "disqus", "isso-disqus.xml"),
        "this is not a Blogger export (its root element is <disqus>)",
    ),
    "json named wordpress": (
        "wordpress",
        lambda tmp: corpus("imports", "isso", "isso-generic.json"),
        "this is not a WordPress export: not an XML file",
    ),
    "xml named isso": (
        "isso",
        lambda tmp: corpus("imports", "disqus", "isso-disqus.xml"),
        "this is not an Isso export: not JSON",
    ),
    "xml named commentsvc": (
        "commentsvc",
        lambda tmp: corpus("imports", "disqus", "isso-disqus.xml"),
        "this is not a commentsvc export: not JSON",
    ),
    "truncated xml": (
        "wordpress",
        lambda tmp: truncated(tmp, corpus("imports", "wordpress", "isso-wordpress.xml")),
        "the file ends too early",
    ),
    "truncated json": (
        "isso",
        lambda tmp: truncated(tmp, corpus("imports", "isso", "isso-generic.json"), name="cut.json"),
        "not JSON, or cut short",
    ),
    "wrong encoding": ("disqus", lambda tmp: _latin1_disqus(tmp), "not well-formed XML at line 3"),
    "empty file": ("disqus", lambda tmp: _write(tmp, b""), "the file is empty"),
    "cut inside the root tag": (
        "disqus",
        lambda tmp: _write(tmp, DISQUS_HEAD.encode()[:60]),
        "the file ends too early, inside what begins at line 2, column 0",
    ),
    "unknown export version": (
        "commentsvc",
        lambda tmp: _write(
            tmp, json.dumps({"format": "commentsvc-export", "version": 99, "threads": []}).encode()
        ),
        "this export is of version 99; this commentsvc reads version 1",
    ),
    "not an isso database": (
        "isso",
        lambda tmp: _sqlite_without_isso_tables(tmp),
        "this is not an Isso database",
    ),
    "external entity": (
        "disqus",
        lambda tmp: _write(
            tmp,
            (
                b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b'<disqus xmlns="http://disqus.com">&x;</disqus>'
            ),
        ),
        "the file declares XML entities or a DTD, which are refused",
    ),
}


def _native(threads) -> bytes:
    return json.dumps({"format": "commentsvc-export", "version": 1, "threads": threads}).encode()


def _comment(**fields):
    return {
        "id": 1,
        "parent": None,
        "status": "approved",
        "created": "2020-01-01T00:00:00Z",
        "text": "Hello",
        "origin": "commentsvc:x:1",
        **fields,
    }


ODD_RECORDS = {
    "isso comments not a list": (
        "isso",
        b'[{"id": "/a", "comments": 5}]',
        ("thread 0", "its comments are not a list"),
    ),
    "date as a number": (
        "commentsvc",
        _native([{"uri": "/a", "comments": [_comment(created=12345)]}]),
        ("thread /a, comment id 1", "no date"),
    ),
    "date out of range": (
        "commentsvc",
        _native([{"uri": "/a", "comments": [_comment(created="0001-01-01T00:00:00+14:00")]}]),
        ("thread /a, comment id 1", "not a date"),
    ),
    "id as a list": (
        "commentsvc",
        _native([{"uri": "/a", "comments": [_comment(id=[1], parent=[1])]}]),
        ("thread /a, comment id [1]", "its parent is not a comment id"),
    ),
}


@pytest.mark.parametrize("case", ODD_RECORDS, ids=list(ODD_RECORDS))
def test_records_of_the_wrong_kind_are_refused_and_reported(app, tmp_path, case):
    fmt, data, (where, reason) = ODD_RECORDS[case]
    report = run_import(app, fmt, _write(tmp_path, data))
    assert [(w, r[: len(reason)]) for w, r in report.refused] == [(where, reason)]
    assert report.comments == 0


def test_odd_values_that_can_be_kept_are_kept_safely(app, tmp_path):
    path = _write(
        tmp_path,
        _native(
            [
                {
                    "uri": "/a",
                    "title": 5,
                    "comments": [
                        _comment(
                            score=10**30,
                            author="x" * 500,
                            email="not-an-address",
                            website="javascript:x",
                        )
                    ],
                }
            ]
        ),
    )
    report = run_import(app, "commentsvc", path)
    assert report.comments == 1 and report.changed == {
        "E-mail addresses left out as not valid": 1,
        "Websites left out as not valid": 1,
    }
    (comment,) = stored(app).values()
    assert (comment["title"], comment["score"], len(comment["author"])) == ("5", 0, 80)
    assert (comment["email"], comment["website"]) == (None, None)


def test_our_export_is_read_whatever_the_order_of_its_members(app, tmp_path):
    threads = [{"uri": f"/t{n}/", "comments": [_comment(origin=f"o:{n}")]} for n in range(3)]
    text = json.dumps(
        {"format": "commentsvc-export", "threads": threads, "version": 1}, indent=1, sort_keys=True
    )
    report = run_import(app, "commentsvc", _write(tmp_path, text.encode()))
    assert (report.threads_created, report.comments) == (3, 3)


def test_our_export_of_another_version_after_its_threads_is_refused_whole(app, tmp_path):
    text = json.dumps(
        {
            "format": "commentsvc-export",
            "threads": [{"uri": "/t/", "comments": [_comment()]}],
            "version": 2,
        }
    )
    result = cli_import(app, "commentsvc", str(_write(tmp_path, text.encode())))
    refused_in_one_line(result, "this export is of version 2")
    assert count_comments(app) == 0


def test_our_export_cut_short_is_refused(app, tmp_path):
    export = tmp_path / "export.json"
    run_import(app, "disqus", corpus("imports", "disqus", "isso-disqus.xml"))
    assert app.test_cli_runner().invoke(args=["export", str(export)]).exit_code == 0
    cut = truncated(tmp_path, export, 0.7, name="cut.json")
    result = cli_import(app, "commentsvc", str(cut), "--site", "copy")
    refused_in_one_line(result, "not JSON, or cut short")
    assert stored(app, site="copy") == {}


def test_an_unknown_declared_encoding_is_a_bad_file(app, tmp_path):
    path = _write(tmp_path, b'<?xml version="1.0" encoding="latin-999"?><disqus/>')
    refused_in_one_line(cli_import(app, "disqus", str(path)), "declares an unknown encoding")


def _write(tmp_path, data: bytes, name: str = "bad.file"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _latin1_disqus(tmp_path):
    text = DISQUS_HEAD + '<thread dsq:id="1"><link>https://b.example/p/</link></thread>'
    return _write(tmp_path, text.encode() + "<post>Café</post></disqus>".encode("latin-1"))


def _sqlite_without_isso_tables(tmp_path):
    import sqlite3

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as other:
        other.execute("CREATE TABLE comments (id INTEGER PRIMARY KEY, body TEXT)")
    return path


@pytest.mark.parametrize("case", BAD_FILES, ids=list(BAD_FILES))
def test_bad_files_are_refused_in_one_line_and_change_nothing(app, seeded, tmp_path, case):
    fmt, make, reason = BAD_FILES[case]
    result = cli_import(app, fmt, str(make(tmp_path)))
    refused_in_one_line(result, reason)
    assert stored(app) == seeded


def test_a_file_failing_after_a_thousand_comments_leaves_the_database_as_it_was(
    app, seeded, tmp_path
):
    # More than a batch is written to the transaction before the parser meets the cut.
    posts = [disqus_post(i, thread=1 + i % 40) for i in range(1, 3001)]
    whole = disqus_file(tmp_path / "whole.xml", posts, threads=range(1, 41))
    result = cli_import(app, "disqus", str(truncated(tmp_path, whole, 0.9)))
    refused_in_one_line(result, "the file ends too early")
    assert stored(app) == seeded
    with app.app_context():
        assert db.session.execute(select(func.count()).select_from(Thread)).scalar_one() == 2


def test_a_bad_uri_map_is_refused_in_one_line(app, tmp_path):
    mapping = _write(tmp_path, b"https://old.example/a/,javascript:alert(1)\n", "map.csv")
    result = cli_import(
        app,
        "disqus",
        str(corpus("imports", "disqus", "isso-disqus.xml")),
        "--uri-map",
        str(mapping),
    )
    refused_in_one_line(result, "--uri-map")
    assert count_comments(app) == 0


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + str(i - 1 or "") + ";") * 10}">\n' for i in range(1, 10)
    )
    + ']>\n<disqus xmlns="http://disqus.com"><post>&lol9;</post></disqus>\n'
)


def test_an_entity_expansion_bomb_is_refused_at_once_in_constant_memory(app, tmp_path):
    path = _write(tmp_path, BILLION_LAUGHS.encode(), "lol.xml")
    tracemalloc.start()
    started = time.perf_counter()
    with app.app_context(), pytest.raises(BadImportFile, match="declares XML entities"):
        import_file(db.session, settings_of(app), "disqus", str(path))
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 0.5 and peak < 2 * 1024 * 1024, (elapsed, peak)
    assert count_comments(app) == 0


# --- what the command prints -------------------------------------------------------------------


def test_the_report_names_every_refused_record_and_where_it_is(app):
    result = cli_import(app, "disqus", str(corpus("imports", "disqus", "isso-disqus.xml")))
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        "Import from Disqus",
        "Threads: 2 created, 0 reused",
        "Comments: 5 imported (4 approved, 1 deleted), 0 skipped as already imported",
    ]
    assert lines[-2:] == [
        "Refused: 1",
        '  <post dsq:id="6">: its thread (dsq:id "1337") is not in the file',
    ]
    assert result.stderr == ""  # no progress bar when standard error is not a terminal


def test_imported_comments_are_not_held_by_the_spam_checks(app, tmp_path):
    # The same text twice from one address would be a duplicate for a new post; an import
    # takes the old blog's verdict.
    path = disqus_file(
        tmp_path / "d.xml",
        [disqus_post(1, text="<p>same</p>"), disqus_post(251, text="<p>same</p>")],
    )
    run_import(app, "disqus", path)
    assert {c["status"] for c in stored(app).values()} == {Status.approved}


def _import_on_a_terminal(database_url: str, *args: str) -> str:
    """Run the command with its standard error on a pseudo-terminal; what it drew there."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios
    from pathlib import Path

    main, side = pty.openpty()
    # A terminal of 80 columns (a new pseudo-terminal has none, where a bar would be empty).
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    env = {
        **os.environ,
        "COMMENTSVC_DATABASE_URL": database_url,
        "COMMENTSVC_SECRET_KEY": "terminal-test-key",
    }
    script = Path(sys.executable).parent / "commentsvc"
    process = subprocess.run(
        [str(script), "import", *args],
        stderr=side,  # noqa: S603
        stdout=subprocess.PIPE,
        env=env,
        timeout=60,
        check=False,
    )
    os.close(side)
    drawn = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(main)
    assert process.returncode == 0, drawn
    return drawn.decode("utf-8", "replace")


@pytest.mark.backends("sqlite")
def test_a_progress_bar_is_drawn_on_a_terminal_unless_quiet(app, database_url, tmp_path):
    path = disqus_file(tmp_path / "d.xml", [disqus_post(i) for i in range(1, 200)])
    drawn = _import_on_a_terminal(database_url, "disqus", str(path), "--dry-run")
    assert "B/s" in drawn and drawn.startswith("\r")  # drawn in place, then cleared
    assert _import_on_a_terminal(database_url, "disqus", str(path), "--dry-run", "--quiet") == ""


def test_imported_html_stays_html_when_a_moderator_edits_it_or_it_is_rendered_again(app):
    from commentsvc.comments import edit_as_moderator

    run_import(app, "blogger", corpus("imports", "blogger", "gconverters-blogger-sample2.xml"))
    origin = "blogger:tag:blogger.com,1999:blog-3113891067179933828.post-8841580313327712653"
    with app.app_context():
        comment = db.session.execute(select(Comment).where(Comment.origin == origin)).scalar_one()
        edit_as_moderator(db.session, comment, comment.text.replace("NICE", "GREAT"), "jo")
        db.session.commit()
        assert comment.html == "Nice picture!!!<br><br>I mean <strong>GREAT</strong> picture."
        comment.html = "stale"
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["rerender"])
    assert result.exit_code == 0 and "1 comment(s) re-rendered" in result.output
    assert stored(app)[origin]["html"] == (
        "Nice picture!!!<br><br>I mean <strong>GREAT</strong> picture."
    )


def test_worker_processes_store_exactly_what_one_process_stores(app, tmp_path):
    posts = [
        disqus_post(
            i,
            thread=1 + i % 3,
            parent=i - 1 if i % 4 else None,
            text=f"<p>Comment <b>{i}</b> https://example.org/{i}</p>",
        )
        for i in range(1, 1300)
    ]
    path = disqus_file(tmp_path / "d.xml", posts, threads=(1, 2, 3))
    alone = run_import(app, "disqus", path, site="alone")
    pooled = run_import(app, "disqus", path, site="pooled", workers=2)
    assert alone.as_dict() == pooled.as_dict()
    assert stored(app, site="pooled") == stored(app, site="alone")
    assert stored(app, site="pooled")["disqus:7"]["html"] == (
        '<p>Comment <strong>7</strong> <a href="https://example.org/7" rel="nofollow ugc '
        'noopener">https://example.org/7</a></p>'
    )
