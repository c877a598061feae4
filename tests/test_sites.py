"""Several sites in one install: each its own origins, policy, rules, moderators and mail, and
an install from before sites upgrades with nothing lost and nothing changed in effect."""

from __future__ import annotations

import re
import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from commentsvc import create_app, sites
from commentsvc.config import settings_of
from commentsvc.extensions import db, init_migrations
from commentsvc.mail.alerts import queue_digest_if_due
from commentsvc.models import (
    Ban,
    BanKind,
    BlockedWord,
    Comment,
    ModeratorSite,
    OutboxMail,
    Role,
    RuleAction,
    Status,
    Thread,
    utcnow,
)
from commentsvc.rules import add_ban, block_word
from commentsvc.tokens import issue_form_token
from commentsvc.transactions import read_with_retry
from tests.support.admin import csrf_token, login, make_moderator
from tests.support.databases import empty_database_like

from .conftest import SECRET, unique_uri
from .settings_helpers import change_settings, changed

BLOG, DOCS = "http://blog.test", "http://docs.test"


@pytest.fixture
def docs(app):
    """A second site: its own origin, every comment reviewed, its own alert address."""
    with app.app_context():
        site = sites.add(db.session, "docs", origins=[DOCS], title="The docs", moderation="all")
        sites.set_value(db.session, site, "alert-emails", "docs-team@example.com")
        sites.set_value(db.session, site, "sender-name", "Docs comments")
        db.session.commit()
    return "docs"


def post(client, uri, text=None, *, site="default", origin=BLOG, **fields):
    text = text or f"Hello {uuid.uuid4().hex[:6]}"  # never a repeat of an earlier text
    token = issue_form_token(SECRET, site, uri)
    query = "" if site == "default" else f"?site={site}"
    return client.post(
        f"/api/comments{query}",
        json={"uri": uri, "text": text, "form_token": token, **fields},
        headers={"Origin": origin},
    )


def test_each_site_takes_comments_from_its_own_origins_under_its_own_policy(app, client, docs):
    uri = unique_uri()
    refused = post(client, uri, site="docs", origin=BLOG)
    assert refused.status_code == 403
    on_docs = post(client, uri, site="docs", origin=DOCS)
    assert on_docs.status_code == 201 and on_docs.get_json()["status"] == "pending"  # all
    on_blog = post(client, uri, site="default", origin=BLOG)
    with app.app_context():
        reason = db.session.get(Comment, on_blog.get_json()["id"]).held_reason
    assert on_blog.status_code == 201 and on_blog.get_json()["status"] == "approved", reason
    assert post(client, uri, site="default", origin=DOCS).status_code == 403
    with app.app_context():
        threads = db.session.execute(sa.select(Thread.site).where(Thread.uri == uri)).scalars()
        assert sorted(threads) == ["default", "docs"]  # one thread per site, same address


def test_cors_answers_each_site_for_its_own_origins_only(client, docs):
    uri = unique_uri()
    read = client.get(
        "/api/threads", query_string={"uri": uri, "site": "docs"}, headers={"Origin": DOCS}
    )
    assert read.headers.get("Access-Control-Allow-Origin") == DOCS
    other = client.get(
        "/api/threads", query_string={"uri": uri, "site": "docs"}, headers={"Origin": BLOG}
    )
    assert "Access-Control-Allow-Origin" not in other.headers
    own = client.get("/api/threads", query_string={"uri": uri}, headers={"Origin": BLOG})
    assert own.headers.get("Access-Control-Allow-Origin") == BLOG


def test_an_unknown_site_is_refused_with_the_usual_error_shape(client):
    for path in ("/api/threads", "/api/counts", "/api/form-token"):
        answer = client.get(path, query_string={"uri": "/a.html", "site": "nowhere"})
        assert answer.status_code == 400, path
        assert answer.get_json()["error"]["fields"] == {"site": ["Unknown site."]}
    answer = post(client, "/a.html", site="nowhere")
    assert answer.status_code == 400 and "site" in answer.get_json()["error"]["fields"]


def test_a_site_known_to_one_database_is_unknown_to_another_in_the_same_process(
    app, client, docs, tmp_path, settings
):
    """Readers' requests keep each site's settings a few seconds; what one database knows
    must not answer for another served by the same process."""
    assert client.get("/api/counts", query_string={"uri": "/a/", "site": "docs"}).status_code == 200
    other = create_app({**settings, "DATABASE_URL": f"sqlite:///{tmp_path / 'other.db'}"})
    init_migrations(other)
    with other.app_context():
        upgrade()
    answer = other.test_client().get("/api/counts", query_string={"uri": "/a/", "site": "docs"})
    with other.app_context():
        db.engine.dispose()
    assert answer.status_code == 400
    assert answer.get_json()["error"]["fields"] == {"site": ["Unknown site."]}


def test_counts_feeds_and_pages_are_per_site(app, client, docs):
    uri = unique_uri()
    assert post(client, uri, "On the blog", site="default").status_code == 201
    docs_post = post(client, uri, "On the docs", site="docs", origin=DOCS).get_json()
    with app.app_context():
        db.session.get(Comment, docs_post["id"]).status = Status.approved
        db.session.commit()
    counts = client.get("/api/counts", query_string={"uri": [uri, unique_uri()], "site": "docs"})
    assert counts.get_json()["counts"][uri] == 1
    both = [
        client.get("/api/threads", query_string={"uri": uri, **query}).get_json()
        for query in ({}, {"site": "docs"})
    ]
    assert [[c["html"] for c in t["comments"]] for t in both] == [
        ["<p>On the blog</p>"],
        ["<p>On the docs</p>"],
    ]
    feed = client.get("/feed/recent.atom", query_string={"site": "docs"}).get_data(as_text=True)
    assert "On the docs" in feed and "On the blog" not in feed and "site=docs" in feed
    page = client.get("/comments", query_string={"uri": uri, "site": "docs"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "On the docs" in text and "On the blog" not in text
    assert 'name="site" value="docs"' in text
    assert client.get("/comments", query_string={"uri": uri, "site": "nowhere"}).status_code == 400


def test_a_reader_cannot_reach_another_sites_comment_through_this_site(client, docs):
    mine = post(client, unique_uri(), site="docs", origin=DOCS).get_json()
    auth = {"Authorization": f"Bearer {mine['edit_token']}", "Origin": BLOG}
    assert (
        client.patch(
            f"/api/comments/{mine['id']}", json={"text": "changed"}, headers=auth
        ).status_code
        == 404
    )
    assert client.delete(f"/api/comments/{mine['id']}", headers=auth).status_code == 404
    auth["Origin"] = DOCS
    assert (
        client.patch(
            f"/api/comments/{mine['id']}?site=docs", json={"text": "changed"}, headers=auth
        ).status_code
        == 200
    )


def test_rules_apply_on_their_own_site_only(app, client, docs):
    with app.app_context():
        block_word(db.session, "casino", RuleAction.refuse, "test", site="docs")
        add_ban(
            db.session,
            BanKind.email,
            "banned@example.com",
            RuleAction.spam,
            None,
            "test",
            site="docs",
        )
        db.session.commit()
    assert post(client, unique_uri(), "casino night", site="docs", origin=DOCS).status_code == 403
    assert post(client, unique_uri(), "casino night").status_code == 201
    banned = post(client, unique_uri(), "hello", email="banned@example.com")
    assert banned.get_json()["status"] == "approved"  # the docs ban is not the blog's
    on_docs = post(
        client, unique_uri(), "hello", site="docs", origin=DOCS, email="banned@example.com"
    ).get_json()
    with app.app_context():
        assert db.session.get(Comment, on_docs["id"]).status.value == "spam"


# --- moderators ----------------------------------------------------------------------------------


@pytest.fixture
def two_sites(app, client, docs):
    """A held comment, a thread and a ban on each site, and a moderator of the blog only."""
    change_settings(app, MODERATION="all")
    blog_comment = post(client, unique_uri(), "Blog question", site="default").get_json()
    docs_comment = post(client, unique_uri(), "Docs question", site="docs", origin=DOCS).get_json()
    with app.app_context():
        docs_thread = db.session.get(Comment, docs_comment["id"]).thread_id
        docs_ban = add_ban(
            db.session, BanKind.email, "x@example.com", RuleAction.hold, None, "test", site="docs"
        ).id
        docs_word = block_word(db.session, "spammy", RuleAction.hold, "test", site="docs").id
        db.session.commit()
    make_moderator(app, "blogmod", sites=("default",))
    moderator = app.test_client()
    assert login(moderator, "blogmod").status_code == 303
    return {
        "blog": blog_comment["id"],
        "docs": docs_comment["id"],
        "thread": docs_thread,
        "ban": docs_ban,
        "word": docs_word,
        "client": moderator,
    }


def statuses(app) -> dict[int, str]:
    with app.app_context():
        return {c.id: c.status.value for c in db.session.execute(sa.select(Comment)).scalars()}


def test_a_moderator_sees_only_their_sites(two_sites):
    moderator = two_sites["client"]
    queue = moderator.get("/admin/").get_data(as_text=True)
    assert "Blog question" in queue and "Docs question" not in queue
    everything = moderator.get("/admin/?status=all").get_data(as_text=True)
    assert "Docs question" not in everything
    assert moderator.get("/admin/?site=docs").status_code == 403
    threads = moderator.get("/admin/threads").get_data(as_text=True)
    assert f"/admin/threads/{two_sites['thread']}/" not in threads
    bans = moderator.get("/admin/bans").get_data(as_text=True)
    assert "x@example.com" not in bans


def test_every_admin_route_on_another_sites_object_is_refused_and_changes_nothing(app, two_sites):
    moderator = two_sites["client"]
    token = csrf_token(moderator, "/admin/")
    before = statuses(app)
    docs_id, thread, ban = two_sites["docs"], two_sites["thread"], two_sites["ban"]
    forms = {"csrf_token": token, "text": "changed", "title": "renamed", "kind": "email"}
    tried = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin/") or not rule.arguments & {
            "comment_id",
            "thread_id",
            "ban_id",
        }:
            continue
        values = {"comment_id": docs_id, "thread_id": thread, "ban_id": ban}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if "action" in rule.arguments or "change" in rule.arguments:
                choices = {
                    "action": ["approve", "spam", "delete", "restore"],
                    "change": ["close", "reopen"],
                }
                key = "action" if "action" in rule.arguments else "change"
                urls = [rule.build({**values, key: choice})[1] for choice in choices[key]]
            else:
                urls = [rule.build(values)[1]]
            for url in urls:
                answer = moderator.open(url, method=method, data=forms)
                tried.append((method, url, answer.status_code))
    assert len(tried) >= 10
    assert all(status == 403 for _, _, status in tried), tried
    bulk = moderator.post(
        "/admin/bulk",
        data={"csrf_token": token, "action": "spam", "ids": [str(two_sites["blog"]), str(docs_id)]},
    )
    assert bulk.status_code == 403
    assert statuses(app) == before
    with app.app_context():
        assert db.session.get(Ban, ban) is not None
        assert db.session.get(Thread, thread).title != "renamed"
        assert db.session.get(BlockedWord, two_sites["word"]) is not None


def test_an_admin_sees_every_site_and_switches_between_them(app, client, two_sites):
    make_moderator(app, "boss", role=Role.admin)
    assert login(client, "boss").status_code == 303
    queue = client.get("/admin/").get_data(as_text=True)
    assert "Blog question" in queue and "Docs question" in queue
    assert '<option value="docs"' in queue
    only_docs = client.get("/admin/?site=docs").get_data(as_text=True)
    assert "Docs question" in only_docs and "Blog question" not in only_docs
    token = csrf_token(client, "/admin/")
    assert (
        client.post(
            f"/admin/comments/{two_sites['docs']}/approve", data={"csrf_token": token}
        ).status_code
        == 303
    )


def test_held_comments_alert_that_sites_moderators_under_its_sender_name(app, client, docs):
    change_settings(app, MODERATOR_EMAILS=["blog-team@example.com"])
    make_moderator(app, "blogmod", email="blogmod@example.com", sites=("default",))
    make_moderator(app, "docsmod", email="docsmod@example.com", sites=("docs",))
    make_moderator(app, "boss", email="boss@example.com", role=Role.admin)
    post(client, unique_uri(), "Please review the docs", site="docs", origin=DOCS)
    with app.app_context():
        mails = db.session.execute(sa.select(OutboxMail)).scalars().all()
        recipients = sorted(m.recipient for m in mails)
        senders = {m.sender_name for m in mails}
    assert recipients == ["boss@example.com", "docs-team@example.com", "docsmod@example.com"]
    assert senders == {"Docs comments"}


def test_each_sites_held_comments_have_their_own_hourly_digest(app, client, docs):
    """One site's flood neither uses up another's alerts nor is digested to its moderators."""
    change_settings(
        app, MODERATOR_EMAILS=["blog-team@example.com"], ALERTS_PER_HOUR=1, MODERATION="all"
    )
    make_moderator(app, "docsmod", email="docsmod@example.com", sites=("docs",))
    for n in range(3):
        post(client, unique_uri(), f"Docs flood {n}", site="docs", origin=DOCS)
    post(client, unique_uri(), "One blog question")  # the blog's own alert, not digested
    with app.app_context():
        alerted = db.session.execute(
            sa.select(OutboxMail.recipient).where(OutboxMail.subject.like("Comment awaiting%"))
        ).scalars()
        assert sorted(alerted) == [
            "blog-team@example.com",
            "docs-team@example.com",
            "docsmod@example.com",
        ]
        assert queue_digest_if_due(db.session, settings_of(app), utcnow()) == 2
        digests = db.session.execute(
            sa.select(OutboxMail).where(OutboxMail.subject.like("%held for review"))
        ).scalars()
        sent = sorted((m.recipient, m.sender_name, m.subject) for m in digests)
        (queue_link,) = {
            line
            for m in db.session.execute(sa.select(OutboxMail.text_body)).scalars()
            for line in m.splitlines()
            if "/admin/" in line and "held for review" not in line
        }
    assert sent == [
        ("docs-team@example.com", "Docs comments", "2 more comments held for review"),
        ("docsmod@example.com", "Docs comments", "2 more comments held for review"),
    ]
    assert "site=docs" in queue_link


# --- the command line ------------------------------------------------------------------------


def test_site_commands_add_list_and_set(app):
    runner = app.test_cli_runner()
    added = runner.invoke(
        args=[
            "site",
            "add",
            "shop",
            "--origin",
            "https://shop.example",
            "--title",
            "The shop",
            "--policy",
            "none",
        ]
    )
    assert added.exit_code == 0, added.output
    assert 'data-site="shop"' in added.output
    again = runner.invoke(args=["site", "add", "shop", "--origin", "https://shop.example"])
    assert again.exit_code == 2 and "exists already" in again.output
    bad = runner.invoke(args=["site", "add", "Bad Name", "--origin", "https://x.example"])
    assert bad.exit_code == 2 and "lowercase" in bad.output
    path = runner.invoke(args=["site", "add", "x", "--origin", "https://x.example/blog"])
    assert path.exit_code == 2 and "--origin" in path.output
    assert runner.invoke(args=["site", "set", "shop", "max-links", "5"]).exit_code == 0
    wrong = runner.invoke(args=["site", "set", "shop", "max-links", "many"])
    assert wrong.exit_code == 2 and "not a valid max-links" in wrong.output
    mails = runner.invoke(args=["site", "set", "shop", "alert-emails", "ann@shop.example, bob"])
    assert mails.exit_code == 2 and "not a valid alert-emails" in mails.output
    unknown = runner.invoke(args=["site", "set", "shop", "colour", "red"])
    assert unknown.exit_code == 2 and "Unknown key" in unknown.output
    assert runner.invoke(args=["site", "set", "nowhere", "title", "x"]).exit_code == 2
    listed = runner.invoke(args=["site", "list"]).output
    assert re.search(r"^default\t\tinstall settings$", listed, re.M)
    assert re.search(
        r"^shop\tThe shop\t.*allowed_origins=\['https://shop.example'\].*"
        r"max_links=5.*moderation=none",
        listed,
        re.M,
    )
    assert runner.invoke(args=["site", "set", "shop", "max-links", ""]).exit_code == 0
    assert "max_links" not in runner.invoke(args=["site", "list"]).output
    made = runner.invoke(
        args=[
            "create-moderator",
            "shopmod",
            "--email",
            "s@example.com",
            "--role",
            "moderator",
            "--site",
            "shop",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert made.exit_code == 0, made.output
    with app.app_context():
        rows = db.session.execute(sa.select(ModeratorSite.site)).scalars().all()
    assert rows == ["shop"]
    missing = runner.invoke(
        args=[
            "create-moderator",
            "m2",
            "--email",
            "m2@example.com",
            "--role",
            "moderator",
            "--site",
            "nowhere",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert missing.exit_code == 2 and "nowhere" in missing.output


# --- upgrading an install from before sites -------------------------------------------------


@contextmanager
def database_at(database_url, tmp_path, revision: str, statements: list[str]):
    """An app on a database of its own, migrated to `revision`, holding what `statements`
    insert (`:no`, `:yes` and `:when` are bound), left at that revision."""
    with empty_database_like(database_url, tmp_path, f"commentsvc_at_{revision}") as url:
        app = create_app(
            {
                "DATABASE_URL": url,
                "SECRET_KEY": SECRET,
                "MODERATION": "none",
                "MIN_SUBMIT_SECONDS": 0,
                "RATELIMIT_ENABLED": False,
                "ALLOWED_ORIGINS": [BLOG],
                "MAIL_BACKGROUND": False,
            }
        )
        init_migrations(app)
        try:
            with app.app_context():
                upgrade(revision=revision)
                with db.engine.begin() as conn:
                    for statement in statements:
                        conn.execute(
                            sa.text(statement),
                            {"no": False, "yes": True, "when": "2008-01-19 10:00:00"},
                        )
                db.engine.dispose()
            yield app
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


@pytest.fixture
def before_sites(database_url, tmp_path):
    """A database at the schema before sites, with a thread, a comment, a ban, a blocked word
    and a moderator in it, upgraded."""
    with database_at(
        database_url,
        tmp_path,
        "0010",
        [
            "INSERT INTO threads (id, site, uri, title, closed, created, version, "
            "approved_count) VALUES (1, 'default', '/2008/01/persistence-pays-off.html', "
            "'Persistence pays off', :no, :when, 1, 1)",
            "INSERT INTO comments (id, thread_id, author, text, html, status, created, "
            "score, notify, avatar, text_format) VALUES (1, 1, 'Sam', 'Have you had a "
            "difficult sale?', '<p>Have you had a difficult sale?</p>', 'approved', :when, "
            "0, :no, 'abc', 'markdown')",
            "INSERT INTO bans (id, kind, value, action, created) VALUES "
            "(1, 'email', 'spam@example.com', 'refuse', :when)",
            "INSERT INTO blocked_words (id, word, action, created) VALUES "
            "(1, 'casino', 'hold', :when)",
            "INSERT INTO moderators (id, name, email, password_hash, role, active, created) "
            "VALUES (1, 'mo', 'mo@example.com', 'x', 'moderator', :yes, :when)",
        ],
    ) as app:
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield app


def test_an_install_from_before_sites_upgrades_with_nothing_lost_or_changed(before_sites):
    app = before_sites
    with app.app_context():
        assert sites.names(db.session) == ["default"]
        assert sites.overrides(sites.require(db.session, "default")) == {
            "site_title": None,
        }  # the install's settings decide, as before
        assert [(b.site, b.value) for b in db.session.execute(sa.select(Ban)).scalars()] == [
            ("default", "spam@example.com")
        ]
        assert [(w.site, w.word) for w in db.session.execute(sa.select(BlockedWord)).scalars()] == [
            ("default", "casino")
        ]
        assert db.session.execute(sa.select(ModeratorSite.site)).scalars().all() == ["default"]
        db.session.remove()
    client = app.test_client()
    thread = client.get(
        "/api/threads", query_string={"uri": "/2008/01/persistence-pays-off.html"}
    ).get_json()
    assert [c["html"] for c in thread["comments"]] == ["<p>Have you had a difficult sale?</p>"]
    assert post(client, unique_uri(), "hi", email="spam@example.com").status_code == 403
    held = post(client, unique_uri(), "casino tonight").get_json()
    assert held["status"] == "pending"  # the word still holds, the ban still refuses


# --- every thread belongs to a site the database knows --------------------------------------

AT_0011 = [
    "INSERT INTO sites (name, title, created) VALUES ('docs', 'The docs', :when)",
    *[
        "INSERT INTO threads (id, site, uri, title, closed, created, version, approved_count) "
        f"VALUES ({ident}, '{site}', '{uri}', NULL, :no, :when, 1, 1)"
        for ident, site, uri in [
            (1, "default", "/a.html"),
            (2, "docs", "/a.html"),
            (3, "legacy", "/old.html"),  # a site with no row: the key must not lose it
        ]
    ],
    *[
        "INSERT INTO comments (id, thread_id, parent_id, author, text, html, status, created, "
        f"score, notify, avatar, text_format) VALUES ({ident}, {thread}, {parent}, 'Sam', "
        f"'{text}', '<p>{text}</p>', 'approved', :when, 0, :no, 'abc', 'markdown')"
        for ident, thread, parent, text in [
            (1, 1, "NULL", "On the blog"),
            (2, 1, "1", "A reply"),
            (3, 2, "NULL", "On the docs"),
            (4, 3, "NULL", "Long ago"),
        ]
    ],
    "INSERT INTO votes (id, comment_id, voter, address, value, created) "
    "VALUES (1, 3, 'v', 'a', 1, :when)",
    "INSERT INTO subscriptions (id, comment_id, email, confirmed, created, confirm_mailed) "
    "VALUES (1, 1, 'sam@example.com', :when, :when, :when)",
    "INSERT INTO outbox (id, recipient, subject, text_body, status, attempts, next_attempt, "
    "created, comment_id) VALUES (1, 'mo@example.com', 'Held', 'Held', 'queued', 0, :when, "
    ":when, 3)",
]
KEPT_ROWS = {
    "sites": "SELECT name, title FROM sites ORDER BY name",
    "threads": "SELECT id, site, uri FROM threads ORDER BY id",
    "comments": "SELECT id, thread_id, parent_id, text FROM comments ORDER BY id",
    "votes": "SELECT id, comment_id FROM votes ORDER BY id",
    "subscriptions": "SELECT id, comment_id FROM subscriptions ORDER BY id",
    "outbox": "SELECT id, comment_id FROM outbox ORDER BY id",
}


def kept_rows() -> dict[str, list[tuple]]:
    with db.engine.connect() as conn:
        return {t: [tuple(r) for r in conn.execute(sa.text(q))] for t, q in KEPT_ROWS.items()}


def test_threads_keep_their_sites_and_the_database_refuses_an_unknown_one(database_url, tmp_path):
    with database_at(database_url, tmp_path, "0011", AT_0011) as app, app.app_context():
        before = kept_rows()
        upgrade()
        after = kept_rows()
        assert after == {**before, "sites": [*before["sites"], ("legacy", None)]}
        keys = sa.inspect(db.engine).get_foreign_keys("threads")
        assert [(k["constrained_columns"], k["referred_table"]) for k in keys] == [
            (["site"], "sites")
        ]
        db.session.add(Thread(site="nowhere", uri="/a.html"))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.commit()
        db.session.rollback()
        downgrade(revision="0011")
        assert kept_rows() == after
        upgrade()
        assert kept_rows() == after
        db.session.remove()


def test_a_sites_settings_are_built_once_per_read_and_follow_the_install(app, docs):
    """Readers' requests share the site's settings built at the last read; settings of the
    install that change (a new object) are the base of the next ones at once."""
    with app.app_context():
        install = settings_of(app)
        first = sites.cached_settings(install, "docs", read_with_retry, now=1.0)
        assert sites.cached_settings(install, "docs", read_with_retry, now=1.5) is first
        assert (first.site, first.moderation, first.allowed_origins) == ("docs", "all", (DOCS,))
        other = changed(install, MAX_LINKS=7)
        rebuilt = sites.cached_settings(other, "docs", read_with_retry, now=1.6)
        assert rebuilt.max_links == 7 and rebuilt.moderation == "all"
