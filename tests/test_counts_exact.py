"""Comment counts kept on the thread row are exact right after every kind of change.

Each change is made through one app (in this process) and read back through another: a
gunicorn process of its own on the same database, whose cached pages were warmed just before.
The counts API, the thread JSON's count, the no-JavaScript page and a fresh SELECT count(*) of
the approved comments must all agree, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import http.client
import re
import secrets
import sys
import threading
import time
import unicodedata
import urllib.parse
from contextlib import ExitStack
from dataclasses import dataclass
from xml.sax.saxutils import escape

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade
from psycopg.pq import TransactionStatus
from sqlalchemy import event

from commentsvc import create_app, sites
from commentsvc.comments import post_comment
from commentsvc.config import settings_of
from commentsvc.extensions import db, init_migrations
from commentsvc.importers import import_file
from commentsvc.models import Comment
from commentsvc.moderation import moderate
from commentsvc.tokens import issue_action_token, issue_form_token
from commentsvc.transactions import commit_write
from tests.support.admin import csrf_token, login, make_moderator
from tests.support.databases import fresh_postgres, migrated_database, postgres_base
from tests.support.env import SECRET_KEY, service_env
from tests.support.http import Client
from tests.support.server import LOAD_SETTINGS, Server

from .settings_helpers import change_settings

CASINO = "\n".join(f"[win big {n}](https://casino{n}.example/bonus)" for n in range(20))
_APPROVED = sa.text(
    "SELECT count(*) FROM comments JOIN threads ON threads.id = comments.thread_id"
    " WHERE threads.uri = :uri AND comments.status = 'approved'"
)


@dataclass
class Service:
    url: str  # the database both apps use
    reader: Server  # the other process, that only reads
    engine: sa.Engine  # for the SELECT count(*) that owes nothing to the service

    def agree(self, uri: str, expected: int) -> None:
        """Every way of reading the count, in the reading process, says `expected`."""
        with self.engine.connect() as conn:
            selected = conn.execute(_APPROVED, {"uri": uri}).scalar_one()
        with Client(self.reader.port) as client:
            got = client.counts([uri])[uri]
            posted = client.request("POST", "/api/counts", {"uris": [uri, "/nothing-here/"]})
            thread = client.thread(uri)
            own = client.thread(uri, limit=1)  # another page of the same thread
            page = client.request("GET", f"/comments?uri={uri}")
        label = (
            "No comments"
            if expected == 0
            else "1 comment"
            if expected == 1
            else f"{expected} comments"
        )
        assert selected == expected, f"{selected} approved comments stored, {expected} expected"
        assert (got, posted.json()["counts"], thread["count"], own["count"]) == (
            expected,
            {uri: expected, "/nothing-here/": 0},
            expected,
            expected,
        )
        assert page.status == 200 and f">{label}</h2>" in page.body.decode(), label


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(request, tmp_path_factory):
    """A migrated database of its own, with a reading gunicorn process (one worker, so the
    pages it caches are the ones it serves next)."""
    base = postgres_base() if request.param == "postgresql" else ""
    tmp = tmp_path_factory.mktemp(f"counts-{request.param}")
    with migrated_database(request.param, tmp, base) as url:
        engine = sa.create_engine(url)
        try:
            with Server(
                service_env(url, tmp, **LOAD_SETTINGS), tmp / "reader.log", workers=1
            ) as reader:
                yield Service(url, reader, engine)
        finally:
            engine.dispose()


def _app(service: Service, **settings):
    app = create_app(
        {
            "DATABASE_URL": service.url,
            "SECRET_KEY": SECRET_KEY,
            "MIN_SUBMIT_SECONDS": 0,
            "RATELIMIT_ENABLED": False,
            "MODERATION": "none",
            "PUBLIC_URL": "http://comments.test",
            "ALLOWED_ORIGINS": ["http://blog.test"],
            "MAIL_BACKGROUND": False,
            **settings,
        }
    )
    app.config["TESTING"] = True
    return app


@pytest.fixture
def apps(service):
    """Make writing apps over the service's database, each with its own engine."""
    made = []

    def _make(**settings):
        made.append(_app(service, **settings))
        return made[-1]

    yield _make
    for app in made:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def writer(apps):
    return apps()


def uri_of_test() -> str:
    return f"/counts/{secrets.token_hex(6)}/"


def post(app, uri: str, text: str | None = None, *, held: bool = False, **fields) -> dict:
    """A comment through the writer's API: approved at once, or held (moderation: all)."""
    change_settings(app, MODERATION="all" if held else "none")
    body = {
        "uri": uri,
        "text": text or f"Comment {secrets.token_hex(4)}",
        "form_token": issue_form_token(SECRET_KEY, "default", uri),
        **fields,
    }
    response = app.test_client().post("/api/comments", json=body)
    assert response.status_code == 201, response.get_json()
    comment = response.get_json()
    assert comment["status"] == ("pending" if held else "approved")
    return comment


@pytest.fixture
def moderator(writer):
    """A logged-in moderator's client of the writer, and a helper for its actions."""
    name = f"mo{secrets.token_hex(4)}"
    make_moderator(writer, name)
    client = writer.test_client()
    assert login(client, name).status_code == 303
    return client


def act(moderator, path: str, **data) -> None:
    response = moderator.post(path, data={"csrf_token": csrf_token(moderator, "/admin/"), **data})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]


def bulk(moderator, action: str, ids: list[int]) -> None:
    act(moderator, "/admin/bulk", action=action, ids=[str(i) for i in ids])


def statuses(service: Service, ids: list[int]) -> list[str]:
    with service.engine.connect() as conn:
        found = dict(
            conn.execute(sa.select(Comment.id, Comment.status).where(Comment.id.in_(ids))).all()
        )
    return [found[i].value for i in ids]


# --- every kind of change, read through the other process ------------------------------------


def test_posts_count_when_approved_and_not_while_held(service, writer):
    uri = uri_of_test()
    service.agree(uri, 0)
    first = post(writer, uri)
    service.agree(uri, 1)
    post(writer, uri, held=True)
    service.agree(uri, 1)
    post(writer, uri, parent_id=first["id"])
    service.agree(uri, 2)


def test_approval_of_a_held_or_spam_comment_counts_it(service, writer, moderator):
    uri = uri_of_test()
    post(writer, uri)
    held = post(writer, uri, held=True)
    service.agree(uri, 1)
    act(moderator, f"/admin/comments/{held['id']}/approve")
    service.agree(uri, 2)
    act(moderator, f"/admin/comments/{held['id']}/spam")
    service.agree(uri, 1)
    act(moderator, f"/admin/comments/{held['id']}/approve")
    service.agree(uri, 2)


def test_marking_spam_uncounts_an_approved_comment(service, writer, moderator):
    uri = uri_of_test()
    comments = [post(writer, uri) for _ in range(3)]
    service.agree(uri, 3)
    act(moderator, f"/admin/comments/{comments[1]['id']}/spam")
    service.agree(uri, 2)
    act(moderator, f"/admin/comments/{comments[1]['id']}/spam")  # already so: no change
    service.agree(uri, 2)


def test_deletion_by_the_author_leaves_an_uncounted_placeholder(service, writer):
    uri = uri_of_test()
    parent = post(writer, uri)
    post(writer, uri, parent_id=parent["id"])
    alone = post(writer, uri)
    service.agree(uri, 3)
    client = writer.test_client()
    for comment in (parent, alone):
        response = client.delete(
            f"/api/comments/{comment['id']}",
            headers={"Authorization": f"Bearer {comment['edit_token']}"},
        )
        assert response.status_code in (200, 204), response.get_data(as_text=True)
    service.agree(uri, 1)
    with Client(service.reader.port) as reader:
        [placeholder] = reader.thread(uri)["comments"]
    assert placeholder["id"] == parent["id"] and placeholder["status"] == "deleted"


def test_deletion_and_restore_by_a_moderator(service, writer, moderator):
    uri = uri_of_test()
    parent = post(writer, uri)
    post(writer, uri, parent_id=parent["id"])
    service.agree(uri, 2)
    act(moderator, f"/admin/comments/{parent['id']}/delete")
    service.agree(uri, 1)
    act(moderator, f"/admin/comments/{parent['id']}/restore")
    service.agree(uri, 2)


def test_an_edit_sent_back_to_review_is_uncounted(service, writer):
    uri = uri_of_test()
    comment = post(writer, uri)
    post(writer, uri)
    service.agree(uri, 2)
    response = writer.test_client().patch(
        f"/api/comments/{comment['id']}",
        json={"text": CASINO},
        headers={"Authorization": f"Bearer {comment['edit_token']}"},
    )
    assert response.status_code == 200 and response.get_json()["status"] == "pending"
    service.agree(uri, 1)
    response = writer.test_client().patch(  # a harmless edit of a held comment keeps it held
        f"/api/comments/{comment['id']}",
        json={"text": "Sorry, just the one link."},
        headers={"Authorization": f"Bearer {comment['edit_token']}"},
    )
    assert response.status_code == 200
    service.agree(uri, 1)


def test_a_moderators_reply_and_edit(service, writer, moderator):
    uri = uri_of_test()
    comment = post(writer, uri)
    service.agree(uri, 1)
    act(moderator, f"/admin/comments/{comment['id']}/reply", text="Thanks!")
    service.agree(uri, 2)
    act(moderator, f"/admin/comments/{comment['id']}/edit", text="*Edited* by a moderator")
    service.agree(uri, 2)


def test_bulk_moderation(service, writer, moderator):
    uri, other = uri_of_test(), uri_of_test()
    approved = [post(writer, uri)["id"] for _ in range(2)]
    held = [post(writer, uri, held=True)["id"] for _ in range(4)]
    elsewhere = post(writer, other, held=True)["id"]
    service.agree(uri, 2)
    service.agree(other, 0)
    bulk(moderator, "approve", [*held[:3], approved[0], elsewhere])  # one was already approved
    service.agree(uri, 5)
    service.agree(other, 1)
    bulk(moderator, "spam", [held[0], held[3], elsewhere])  # held[3] was pending: no change
    service.agree(uri, 4)
    service.agree(other, 0)
    bulk(moderator, "delete", [approved[0], approved[1], held[1]])
    service.agree(uri, 1)
    bulk(moderator, "restore", [approved[1], held[0]])  # spam restored is approved too
    service.agree(uri, 3)
    assert statuses(service, [*approved, *held]) == [
        "deleted",
        "approved",
        "approved",
        "deleted",
        "approved",
        "spam",
    ]


def test_a_one_click_link_from_an_alert(service, apps):
    writer = apps(MODERATOR_EMAILS=["alerts@example.com"])
    uri = uri_of_test()
    held = post(writer, uri, held=True)
    service.agree(uri, 0)
    path = "/mail/moderate/" + issue_action_token(
        SECRET_KEY, held["id"], "approve", "alerts@example.com"
    )
    client = writer.test_client()
    form = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    assert client.post(path, data={"csrf_token": token}).status_code == 200
    service.agree(uri, 1)


def test_erasure_of_a_readers_data(service, writer):
    uri, other = uri_of_test(), uri_of_test()
    email = f"ann-{secrets.token_hex(3)}@example.com"
    mine = post(writer, uri, email=email)
    post(writer, uri, parent_id=mine["id"], email="bob@example.com")
    post(writer, uri, email=email)
    post(writer, other, email=email)
    post(writer, other, held=True, email=email)
    service.agree(uri, 3)
    service.agree(other, 1)
    result = writer.test_cli_runner().invoke(args=["erase", "--email", email.upper(), "--yes"])
    assert result.exit_code == 0 and "4 comment(s) erased" in result.output, result.output
    service.agree(uri, 1)
    service.agree(other, 0)


def _disqus(path, thread_url: str, posts: list[tuple[int, str]], start: int = 0):
    """A Disqus export of one thread: (id, "approved" | "spam" | "deleted") per post."""
    body = "".join(
        f'<post dsq:id="{start + n}"><message>&lt;p&gt;Imported {start + n}&lt;/p&gt;</message>'
        f"<createdAt>2015-06-01T10:00:{n % 60:02d}Z</createdAt>"
        f"<isDeleted>{str(kind == 'deleted').lower()}</isDeleted>"
        f"<isSpam>{str(kind == 'spam').lower()}</isSpam>"
        f'<author><name>Reader {n}</name></author><thread dsq:id="1"/></post>\n'
        for n, kind in posts
    )
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<disqus xmlns="http://disqus.com" '
        'xmlns:dsq="http://disqus.com/disqus-internals">\n'
        f'<thread dsq:id="1"><link>{escape(thread_url)}</link><title>Post</title></thread>\n'
        f"{body}</disqus>\n",
        encoding="utf-8",
    )
    return path


def _import(app, path, **options):
    with app.app_context():
        report = import_file(db.session, settings_of(app), "disqus", str(path), **options)
        db.session.commit()
    return report


def test_imports_into_existing_and_new_threads(service, writer, tmp_path):
    uri, new = uri_of_test(), uri_of_test()
    post(writer, uri)
    service.agree(uri, 1)
    service.agree(new, 0)
    start = int(time.time() * 1000)  # Disqus ids of their own: imports skip ids seen before
    kinds = ["approved", "approved", "spam", "deleted", "approved"]
    report = _import(
        writer,
        _disqus(tmp_path / "a.xml", f"https://blog.test{uri}", list(enumerate(kinds)), start),
    )
    assert report.comments == 5
    service.agree(uri, 4)
    _import(
        writer,
        _disqus(
            tmp_path / "b.xml",
            f"https://blog.test{new}",
            [(0, "approved"), (1, "approved")],
            start + 100,
        ),
    )
    service.agree(new, 2)
    held = _import(
        writer,
        _disqus(tmp_path / "c.xml", f"https://blog.test{uri}", [(0, "approved")], start + 200),
        status="pending",
    )
    assert held.imported == {"pending": 1}
    service.agree(uri, 4)


def test_the_counts_are_one_statement_outside_any_transaction(app, client, monkeypatch):
    """A page's counts cost one SELECT, with no BEGIN before it nor ROLLBACK after it (on
    PostgreSQL each would be a round trip of its own); on PostgreSQL the SELECT is the same
    however many URIs are asked for, so it is prepared once. (The site's settings are read
    once per process every few seconds; here they are read before counting starts and kept.)"""
    monkeypatch.setattr(sites, "CACHE_SECONDS", 3600.0)
    sites.forget_cached()
    assert client.get("/api/counts?uri=/warm/").status_code == 200
    seen = []

    def record(conn, cursor, statement, *args):
        dbapi = conn.connection.dbapi_connection
        in_transaction = (
            dbapi.in_transaction
            if conn.dialect.name == "sqlite"
            else dbapi.info.transaction_status != TransactionStatus.IDLE
        )
        seen.append((statement, in_transaction))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "after_cursor_execute", record)
    try:
        two = client.get("/api/counts?uri=/a/&uri=/b/").get_json()
        three = client.post("/api/counts", json={"uris": ["/a/", "/b/", "/c/"]}).get_json()
    finally:
        event.remove(engine, "after_cursor_execute", record)
    assert two == {"counts": {"/a/": 0, "/b/": 0}}
    assert three == {"counts": {"/a/": 0, "/b/": 0, "/c/": 0}}
    assert [(statement.split()[0], in_transaction) for statement, in_transaction in seen] == [
        ("SELECT", False),
        ("SELECT", False),
    ]
    if engine.dialect.name == "postgresql":
        assert seen[0][0] == seen[1][0]


def test_the_uri_check_refuses_exactly_controls_surrogates_and_spaces():
    """The counts check every uri of a page with one regular expression: it refuses what the
    character-by-character checks did (control, surrogate, space), on every code point."""
    from commentsvc.validation import _NOT_IN_URI

    differ = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if bool(_NOT_IN_URI.search(chr(code)))
        != (unicodedata.category(chr(code)) in ("Cc", "Cs") or chr(code).isspace())
    ]
    assert differ == []


# --- writers at once ---------------------------------------------------------------------------


def test_an_approval_waiting_for_another_in_the_same_thread_counts_both(service, apps):
    """The second writer waits for the first's lock on the thread; its recount, made after the
    wait, must see the first's approval (a recount from before the wait would lose it)."""
    first, second = apps(), apps()
    uri = uri_of_test()
    ids = [post(first, uri, held=True)["id"] for _ in range(2)]
    service.agree(uri, 0)

    def approve_the_other():
        with second.app_context():
            commit_write(
                lambda: moderate(
                    db.session, settings_of(second), db.session.get(Comment, ids[1]), "approve", "b"
                )
            )

    with first.app_context():
        moderate(db.session, settings_of(first), db.session.get(Comment, ids[0]), "approve", "a")
        waited = waits_for_this_commit(approve_the_other)
    assert waited, "the second approval did not wait for the first"
    service.agree(uri, 2)


def waits_for_this_commit(write) -> bool:
    """Run `write` in another thread while this app context holds an uncommitted write, then
    commit; whether `write` was still waiting (for the lock) when the commit came. `write`
    must end without error afterwards."""
    started, finished = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def run():
        try:
            started.set()
            write()
            finished.set()
        except BaseException as exc:
            errors.append(exc)
            raise

    waiter = threading.Thread(target=run)
    waiter.start()
    assert started.wait(10)
    time.sleep(0.5)
    waited = not finished.is_set()
    db.session.commit()
    waiter.join(30)
    assert not errors and finished.is_set()
    return waited


@pytest.mark.parametrize("holder", ["approval", "post"])
def test_a_post_waiting_for_another_write_in_the_same_thread_counts_both(service, apps, holder):
    """A new approved comment adds one to its thread's count in the UPDATE that waits for the
    other writer's lock: the addition must apply to the count that writer committed."""
    first, second = apps(), apps()
    uri = uri_of_test()
    held = post(first, uri, held=True)["id"]
    service.agree(uri, 0)

    with first.app_context():
        if holder == "approval":
            moderate(db.session, settings_of(first), db.session.get(Comment, held), "approve", "a")
        else:
            change_settings(first, MODERATION="none")
            post_comment(
                db.session,
                settings_of(first),
                data={
                    "uri": uri,
                    "text": f"Comment {secrets.token_hex(4)}",
                    "form_token": issue_form_token(SECRET_KEY, "default", uri),
                },
                remote_addr="203.0.113.9",
            )
        waited = waits_for_this_commit(lambda: post(second, uri))
    assert waited, "the post did not wait for the other write"
    service.agree(uri, 2)


def test_many_approvals_from_two_writers_at_once_end_exact(service, apps):
    first, second = apps(), apps()
    uri = uri_of_test()
    post(first, uri)
    ids = [post(first, uri, held=True)["id"] for _ in range(24)]
    service.agree(uri, 1)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def approve(app, mine: list[int]):
        try:
            with app.app_context():
                start.wait(10)
                for ident in mine:
                    commit_write(
                        lambda i=ident: moderate(
                            db.session, settings_of(app), db.session.get(Comment, i), "approve", "x"
                        )
                    )
                    db.session.remove()
        except BaseException as exc:
            errors.append(exc)
            raise

    writers = [
        threading.Thread(target=approve, args=(first, ids[0::2])),
        threading.Thread(target=approve, args=(second, ids[1::2])),
    ]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join(60)
    assert not errors and not any(t.is_alive() for t in writers)
    service.agree(uri, 25)


def _approve_by_link(port: int, comment_id: int) -> int:
    """A moderator's one-click approval through a server: the link's page, then its button."""
    path = "/mail/moderate/" + issue_action_token(
        SECRET_KEY, comment_id, "approve", "alerts@example.com"
    )
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        page = response.read().decode()
        cookie = response.getheader("Set-Cookie", "").split(";")[0]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        connection.request(
            "POST",
            path,
            urllib.parse.urlencode({"csrf_token": token}),
            {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
        )
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def test_approvals_through_two_processes_at_once_end_exact(service, writer, tmp_path):
    uri = uri_of_test()
    post(writer, uri)
    ids = [post(writer, uri, held=True)["id"] for _ in range(24)]
    service.agree(uri, 1)
    env = service_env(service.url, tmp_path, **LOAD_SETTINGS, MODERATOR_EMAILS="alerts@example.com")
    servers = [Server(env, tmp_path / f"{name}.log", workers=1) for name in "ab"]
    with ExitStack() as stack:
        for server in servers:
            stack.callback(server.stop)
            server.launch()
        for server in servers:
            server.wait_ready()
        start = threading.Barrier(4)
        answers: list[int] = []

        def approve(port: int, mine: list[int]) -> None:
            start.wait(30)
            answers.extend(_approve_by_link(port, ident) for ident in mine)

        clients = [
            threading.Thread(target=approve, args=(servers[n % 2].port, ids[n::4]))
            for n in range(4)
        ]
        for client in clients:
            client.start()
        for client in clients:
            client.join(120)
        logs = "".join(server.log_tail() for server in servers)
    assert answers == [200] * len(ids), logs
    service.agree(uri, 25)


# --- the migration -----------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_database(request, tmp_path):
    """An empty database, no tables yet."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'blank.sqlite3'}"
        return
    with fresh_postgres(postgres_base()) as url:
        yield url


def _thread_counts(app) -> dict[int, int]:
    with app.app_context():
        rows = db.session.execute(sa.text("SELECT id, approved_count FROM threads")).all()
        db.session.remove()
    return dict(rows)


def test_the_migration_counts_the_comments_already_there(blank_database):
    app = create_app({"DATABASE_URL": blank_database, "SECRET_KEY": SECRET_KEY})
    init_migrations(app)
    rows = {
        1: ["approved", "pending", "approved", "spam", "deleted", "approved"],
        2: ["pending", "deleted"],
        3: [],
    }
    with app.app_context():
        upgrade(revision="0008")
        with db.engine.begin() as conn:
            for thread, kinds in rows.items():
                conn.execute(
                    sa.text(
                        "INSERT INTO threads (id, site, uri, title, closed, created, version) "
                        "VALUES (:id, 'default', :uri, NULL, :no, :when, 0)"
                    ),
                    {
                        "id": thread,
                        "uri": f"/post-{thread}/",
                        "no": False,
                        "when": "2015-06-01 10:00:00",
                    },
                )
                for n, kind in enumerate(kinds):
                    conn.execute(
                        sa.text(
                            "INSERT INTO comments (thread_id, author, text, html, status, created, "
                            "score, notify, avatar) VALUES (:thread, 'Sam', :text, :text, :status, "
                            ":when, 0, :no, 'abc')"
                        ),
                        {
                            "thread": thread,
                            "text": f"c{n}",
                            "status": kind,
                            "no": False,
                            "when": "2015-06-01 10:00:00",
                        },
                    )
        upgrade()
        db.engine.dispose()
    assert _thread_counts(app) == {1: 3, 2: 0, 3: 0}
    app.config["TESTING"] = True
    counts = app.test_client().get("/api/counts?uri=/post-1/&uri=/post-2/").get_json()
    assert counts == {"counts": {"/post-1/": 3, "/post-2/": 0}}

    with app.app_context():
        downgrade(revision="0008")
        columns = {c["name"] for c in sa.inspect(db.engine).get_columns("threads")}
        kept = db.session.execute(sa.text("SELECT count(*) FROM comments")).scalar_one()
        db.session.remove()
        upgrade()
        db.session.remove()
        db.engine.dispose()
    assert "approved_count" not in columns
    assert kept == 8, "the downgrade lost comments"
    assert _thread_counts(app) == {1: 3, 2: 0, 3: 0}
    with app.app_context():
        db.engine.dispose()
