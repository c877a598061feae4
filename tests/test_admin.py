"""The moderator pages: login, roles, CSRF, the queue and its actions, the audit log."""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from commentsvc.extensions import db
from commentsvc.models import (
    AuditEntry,
    BlockedWord,
    Comment,
    Moderator,
    ModeratorSite,
    Role,
    RuleAction,
    Site,
    Status,
    Thread,
)
from tests.support.admin import PASSWORD, csrf_token, login, make_moderator

from .conftest import corpus, unique_uri

IMPORT_FILE = ("imports", "disqus", "isso-disqus.xml")  # a real export, valid to import


def statuses(app, ids=None) -> dict[int, str]:
    with app.app_context():
        query = sa.select(Comment.id, Comment.status)
        if ids:
            query = query.where(Comment.id.in_(ids))
        return {i: s.value for i, s in db.session.execute(query).all()}


def audit(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(AuditEntry.actor, AuditEntry.action, AuditEntry.target).order_by(
                AuditEntry.id
            )
        ).all()
    return [tuple(r) for r in rows]


def admin_routes(app, **ids):
    """Every /admin URL with concrete ids (1 unless given, e.g. comment_id=7), and the methods
    it answers."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        values = {arg: ids.get(arg, 1) for arg in rule.arguments}
        for arg, converter in rule._converters.items():
            if hasattr(converter, "items"):  # any(...): take its first choice
                values[arg] = next(iter(converter.items))
        url = rule.rule
        for arg, value in values.items():
            url = re.sub(rf"<[^>]*{arg}>", str(value), url)
        yield url, rule.methods - {"HEAD", "OPTIONS"}


def test_no_admin_page_or_action_without_login(app, client, make_comment):
    """A stranger holding a valid CSRF token (the login page's, in their own session) passes
    the CSRF check, so what sends every page and action to the login page is the login guard."""
    comment = make_comment(unique_uri(), "keep")
    make_moderator(app, "mo")
    with app.app_context():
        thread_id = db.session.scalar(sa.select(Thread.id))
    token = csrf_token(client)
    form = {
        "csrf_token": token,
        "action": "delete",
        "ids": [str(comment["id"])],
        "text": "changed",
        "title": "changed",
        "word": "keep",
        "kind": "email",
        "value": "x@example.com",
        "name": "sneaky",
        "email": "s@example.com",
        "role": "admin",
        "password": "0123456789",
        "active": "y",
    }
    for url, methods in admin_routes(app, comment_id=comment["id"], thread_id=thread_id):
        if url == "/admin/login":
            continue
        for method in methods:
            response = client.open(url, method=method, data=form)
            assert response.status_code == 302, (method, url, response.status_code)
            assert urlsplit(response.headers["Location"]).path == "/admin/login", (method, url)
    assert statuses(app) == {comment["id"]: "approved"}
    assert audit(app) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Moderator.id))) == 1
    # The same token logs in: it was valid all along, so no refusal above was the CSRF check's.
    response = client.post(
        "/admin/login", data={"name": "mo", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303


@pytest.mark.usefixtures("held")
def test_every_post_without_csrf_token_is_refused(app, moderator, make_comment):
    comment = make_comment(unique_uri(), "keep")
    moderator.application.config["WTF_CSRF_ENABLED"] = True
    for url, methods in admin_routes(app):
        if "POST" in methods:
            response = moderator.post(
                url,
                data={
                    "action": "approve",
                    "ids": [comment["id"]],
                    "text": "changed",
                    "title": "x",
                    "word": "x",
                    "value": "x@example.com",
                },
            )
            assert response.status_code == 400, url
    assert statuses(app) == {comment["id"]: "pending"}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditEntry.id))) == 1  # the login


# Who may post to which admin endpoint. A new POST endpoint must be added to one of the two,
# so that its role is a decision this file records.
ADMIN_ONLY_POSTS = {
    "admin.moderators",
    "admin.moderator_sites",
    "admin.activate",
    "admin.words",
    "admin.unblock",
    "admin.imports",
}
MODERATOR_POSTS = {
    "admin.login",
    "admin.logout",
    "admin.password",
    "admin.display_name",
    "admin.act",
    "admin.bulk",
    "admin.edit",
    "admin.reply",
    "admin.close",
    "admin.rename",
    "admin.bans",
    "admin.ban_author",
    "admin.unban",
}


def test_every_admin_post_has_a_recorded_role(app):
    posts = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("admin.") and "POST" in rule.methods
    }
    assert posts == ADMIN_ONLY_POSTS | MODERATOR_POSTS


def accounts_and_rules(app) -> tuple:
    """Moderator accounts, blocked words, audit entries, comments and threads, to compare."""
    with app.app_context():
        rows = tuple(
            db.session.execute(query).all()
            for query in (
                sa.select(
                    Moderator.id,
                    Moderator.name,
                    Moderator.role,
                    Moderator.active,
                    Moderator.password_hash,
                ).order_by(Moderator.id),
                sa.select(ModeratorSite.moderator_id, ModeratorSite.site).order_by(
                    ModeratorSite.moderator_id, ModeratorSite.site
                ),
                sa.select(BlockedWord.id, BlockedWord.word, BlockedWord.action),
                sa.select(AuditEntry.id),
                sa.select(Comment.id),
                sa.select(Thread.id),
            )
        )
        db.session.remove()
    return rows


def test_moderator_cannot_do_admin_only_things(app, moderator):
    """Logged in, with a valid CSRF token, a moderator is refused every admin-only page and
    action with 403, and nothing changes."""
    make_moderator(app, "boss", role=Role.admin)
    active = make_moderator(app, "colleague")
    inactive = make_moderator(app, "retired", active=False)
    with app.app_context():
        word = BlockedWord(word="casino", action=RuleAction.spam)
        db.session.add(word)
        db.session.commit()
        word_id = word.id
    for url in (
        "/admin/words",
        "/admin/moderators",
        "/admin/audit",
        "/admin/import",
        "/admin/spam-filter",
    ):
        assert moderator.get(url).status_code == 403, url
    token = csrf_token(moderator, "/admin/")
    with corpus(*IMPORT_FILE).open("rb") as export:
        upload = export.read()
    posts = {
        "admin.activate": [
            (f"/admin/moderators/{inactive}/activate", {}),
            (f"/admin/moderators/{active}/deactivate", {}),
        ],
        "admin.moderator_sites": [(f"/admin/moderators/{active}/sites", {"sites": "default"})],
        "admin.unblock": [(f"/admin/words/{word_id}/delete", {})],
        "admin.moderators": [
            (
                "/admin/moderators",
                {
                    "name": "sneaky",
                    "email": "s@example.com",
                    "role": "admin",
                    "password": "0123456789",
                    "active": "y",
                },
            )
        ],
        "admin.words": [("/admin/words", {"word": "hello", "action": "refuse"})],
        "admin.imports": [
            (
                "/admin/import",
                {
                    "fmt": "disqus",
                    "site": "default",
                    "status": "approved",
                    "save": "y",
                    "upload": lambda: (io.BytesIO(upload), "export.xml"),
                },
            )
        ],
    }
    assert set(posts) == ADMIN_ONLY_POSTS
    before = accounts_and_rules(app)
    for endpoint, requests in posts.items():
        for url, fields in requests:
            data = {
                "csrf_token": token,
                **{k: v() if callable(v) else v for k, v in fields.items()},
            }
            response = moderator.post(url, data=data)
            assert response.status_code == 403, (endpoint, url, response.status_code)
            assert "Your role does not allow this." in response.get_data(as_text=True)
    assert accounts_and_rules(app) == before
    # The token was good: the same session may still do what moderators may.
    response = moderator.post(
        "/admin/bans",
        data={"csrf_token": token, "kind": "email", "value": "troll@example.com", "action": "hold"},
    )
    assert response.status_code == 303


def test_admin_adds_a_moderator_who_can_log_in(admin, app, client):
    token = csrf_token(admin, "/admin/moderators")
    response = admin.post(
        "/admin/moderators",
        data={
            "csrf_token": token,
            "name": "newbie",
            "email": "new@example.com",
            "role": "moderator",
            "sites": "default",
            "password": "a long password",
            "active": "y",
        },
    )
    assert response.status_code == 303
    fresh = app.test_client()
    assert login(fresh, "new@example.com", "a long password").status_code == 303
    assert ("boss", "add moderator") in [(a, b) for a, b, _ in audit(app)]


@pytest.fixture
def throttled(settings):
    settings.update(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3 per minute")


@pytest.mark.usefixtures("throttled")
def test_wrong_passwords_are_throttled_for_that_account_from_that_address(app):
    make_moderator(app, "mo")
    first = app.test_client()
    codes = [login(first, "mo", "wrong password").status_code for _ in range(4)]
    assert codes == [401, 401, 401, 429]
    assert "Too many attempts" in login(first, "mo", PASSWORD).get_data(as_text=True)
    other_address = app.test_client()
    other_address.environ_base["REMOTE_ADDR"] = "10.9.8.7"
    # Strangers' wrong passwords never lock the owner out from elsewhere.
    assert login(other_address, "mo", PASSWORD).status_code == 303


@pytest.mark.usefixtures("throttled")
def test_correct_logins_are_not_counted_as_failures(app):
    make_moderator(app, "mo")
    for _ in range(5):
        client = app.test_client()
        assert login(client).status_code == 303


def test_wrong_password_and_inactive_account_are_refused(app, client):
    make_moderator(app, "mo")
    make_moderator(app, "gone", active=False)
    response = login(client, "mo", "not the password")
    assert response.status_code == 401
    assert "Wrong name or password." in response.get_data(as_text=True)
    assert login(client, "gone").status_code == 401
    assert client.get("/admin/").status_code == 302


@pytest.mark.usefixtures("held")
def test_queue_lists_pending_first_and_oldest_first(app, moderator, make_comment):
    uri = unique_uri()
    first = make_comment(uri, "first pending", email="a@example.com", author="Ann")
    second = make_comment(uri, "second pending")
    page = moderator.get("/admin/").get_data(as_text=True)
    assert page.index(f'id="c{first["id"]}"') < page.index(f'id="c{second["id"]}"')
    assert "a@example.com" in page and "127.0.0.0" in page
    assert "every comment is reviewed" in page
    assert "first pending" in page and "<p>first pending</p>" in page
    assert re.search(r"Pending <span class=\"count\">2</span>", page)


@pytest.mark.usefixtures("held")
def test_queue_filters_by_author_email_text_and_thread(moderator, make_comment):
    one, two = unique_uri(), unique_uri()
    make_comment(one, "about apples", author="Ann", email="ann@example.com")
    make_comment(two, "about pears", author="Bob", email="bob@example.com")
    for query, expected, absent in (
        ({"author": "ann"}, "apples", "pears"),
        ({"email": "bob@"}, "pears", "apples"),
        ({"q": "PEARS"}, "pears", "apples"),
    ):
        page = moderator.get("/admin/", query_string=query).get_data(as_text=True)
        assert expected in page and absent not in page, query


@pytest.mark.usefixtures("held")
def test_approve_publishes_and_is_audited(app, client, moderator, make_comment):
    uri = unique_uri()
    comment = make_comment(uri, "hold me")
    token = csrf_token(moderator, "/admin/")
    response = moderator.post(
        f"/admin/comments/{comment['id']}/approve",
        data={"csrf_token": token, "next": "/admin/?status=pending"},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/admin/?status=pending")
    assert client.get("/api/counts", query_string={"uri": uri}).get_json()["counts"][uri] == 1
    assert ("mo", "approve", f"comment {comment['id']}") in audit(app)


@pytest.mark.usefixtures("held")
def test_bulk_action_changes_exactly_the_selected_comments(app, moderator, make_comment):
    uri = unique_uri()
    ids = [make_comment(uri, f"c{i}")["id"] for i in range(4)]
    token = csrf_token(moderator, "/admin/")
    response = moderator.post(
        "/admin/bulk",
        data={"csrf_token": token, "action": "spam", "ids": [str(ids[0]), str(ids[2])]},
    )
    assert response.status_code == 303
    assert statuses(app) == {ids[0]: "spam", ids[1]: "pending", ids[2]: "spam", ids[3]: "pending"}
    spam_entries = [t for _, action, t in audit(app) if action == "spam"]
    assert spam_entries == [f"comment {ids[0]}", f"comment {ids[2]}"]


@pytest.mark.usefixtures("held")
def test_delete_and_restore(app, moderator, make_comment):
    comment = make_comment(unique_uri(), "x")
    token = csrf_token(moderator, "/admin/")
    moderator.post(f"/admin/comments/{comment['id']}/delete", data={"csrf_token": token})
    assert statuses(app) == {comment["id"]: "deleted"}
    moderator.post(f"/admin/comments/{comment['id']}/restore", data={"csrf_token": token})
    assert statuses(app) == {comment["id"]: "approved"}


def test_edit_rerenders_and_reply_is_public_and_marked(app, client, moderator, make_comment):
    uri = unique_uri()
    comment = make_comment(uri, "typo")
    token = csrf_token(moderator, f"/admin/comments/{comment['id']}/edit")
    moderator.post(
        f"/admin/comments/{comment['id']}/edit", data={"csrf_token": token, "text": "*fixed*"}
    )
    moderator.post(
        f"/admin/comments/{comment['id']}/reply", data={"csrf_token": token, "text": "Thanks!"}
    )
    thread = client.get("/api/threads", query_string={"uri": uri}).get_json()
    top = thread["comments"][0]
    assert top["html"] == "<p><em>fixed</em></p>" and top["edited"]
    assert top["replies"][0]["author"] == "mo" and top["replies"][0]["html"] == "<p>Thanks!</p>"
    with app.app_context():
        reply = db.session.get(Comment, top["replies"][0]["id"])
        assert reply.moderator_id is not None and reply.status == Status.approved
    assert [a for _, a, _ in audit(app)][-2:] == ["edit", "reply"]


def test_empty_edit_is_refused_on_the_page(app, moderator, make_comment):
    comment = make_comment(unique_uri(), "keep")
    token = csrf_token(moderator, f"/admin/comments/{comment['id']}/edit")
    response = moderator.post(
        f"/admin/comments/{comment['id']}/edit", data={"csrf_token": token, "text": ""}
    )
    assert response.status_code == 400
    assert "This field is required." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Comment, comment["id"]).text == "keep"


def test_closed_thread_refuses_comments_and_reopens(app, moderator, make_comment, post):
    uri = unique_uri()
    make_comment(uri, "first")
    with app.app_context():
        thread_id = db.session.scalar(sa.select(Thread.id).where(Thread.uri == uri))
    page = moderator.get("/admin/threads").get_data(as_text=True)
    assert uri in page and "1 approved" in page
    token = csrf_token(moderator, "/admin/threads")
    moderator.post(f"/admin/threads/{thread_id}/close", data={"csrf_token": token})
    assert post(uri, "late").status_code == 403
    moderator.post(f"/admin/threads/{thread_id}/reopen", data={"csrf_token": token})
    moderator.post(
        f"/admin/threads/{thread_id}/rename",
        data={"csrf_token": token, "title": "Persistence pays off"},
    )
    assert post(uri, "in time").status_code == 201
    assert (
        moderator.application.test_client()
        .get("/api/threads", query_string={"uri": uri})
        .get_json()["title"]
        == "Persistence pays off"
    )
    assert [a for _, a, _ in audit(app)][-3:] == ["close", "reopen", "rename"]


@pytest.mark.parametrize("ban_action, expected", [("hold", 201), ("refuse", 403)])
def test_banned_email_is_held_or_refused(app, admin, post, ban_action, expected):
    token = csrf_token(admin, "/admin/bans")
    admin.post(
        "/admin/bans",
        data={
            "csrf_token": token,
            "kind": "email",
            "value": "Troll@Example.com",
            "action": ban_action,
        },
    )
    response = post(unique_uri(), "hi", email="troll@example.com")
    assert response.status_code == expected
    if expected == 201:
        assert response.get_json()["status"] == "pending"
        with app.app_context():
            assert db.session.get(Comment, response.get_json()["id"]).held_reason == "banned email"
    friend = post(unique_uri(), "hello", email="friend@example.com")
    assert friend.get_json()["status"] == "approved"


def test_ban_by_address_from_the_queue(app, moderator, make_comment, post):
    comment = make_comment(unique_uri(), "from this address")
    token = csrf_token(moderator, "/admin/")
    moderator.post(
        f"/admin/comments/{comment['id']}/ban", data={"csrf_token": token, "kind": "address"}
    )
    assert post(unique_uri(), "again").get_json()["status"] == "pending"
    assert "ban" in [a for _, a, _ in audit(app)]


def test_blocklisted_word_marks_spam_and_many_links_hold(app, admin, post):
    token = csrf_token(admin, "/admin/words")
    admin.post("/admin/words", data={"csrf_token": token, "word": "Casino", "action": "spam"})
    spam = post(unique_uri(), "best casino online").get_json()
    assert spam["status"] == "pending"  # spam looks held to the poster
    assert post(unique_uri(), "the casinos of Monte Carlo").get_json()["status"] == "approved"
    links = post(unique_uri(), "https://a.com, [b](https://b.org) and <https://c.net>")
    assert links.get_json()["status"] == "pending"
    with app.app_context():
        assert db.session.get(Comment, spam["id"]).status == Status.spam
        assert db.session.get(Comment, links.get_json()["id"]).held_reason.startswith("3 links")


def test_logout_ends_the_session(moderator):
    token = csrf_token(moderator, "/admin/")
    assert moderator.post("/admin/logout", data={"csrf_token": token}).status_code == 303
    assert moderator.get("/admin/").status_code == 302


def test_password_change(app, moderator):
    token = csrf_token(moderator, "/admin/password")
    wrong = moderator.post(
        "/admin/password",
        data={
            "csrf_token": token,
            "current": "nope",
            "new": "brand new password",
            "repeat": "brand new password",
        },
    )
    assert wrong.status_code == 400
    ok = moderator.post(
        "/admin/password",
        data={
            "csrf_token": token,
            "current": PASSWORD,
            "new": "brand new password",
            "repeat": "brand new password",
        },
    )
    assert ok.status_code == 303
    assert login(app.test_client(), "mo", "brand new password").status_code == 303


def test_session_cookie_is_httponly_and_samesite(app):
    make_moderator(app, "mo")
    client = app.test_client()
    cookies = login(client).headers.getlist("Set-Cookie")
    session = next(c for c in cookies if c.startswith("session="))
    assert "HttpOnly" in session and "SameSite=Lax" in session
    assert "Secure" not in session  # served over plain HTTP here; PUBLIC_URL https:// sets it


def test_create_moderator_command_reads_the_password_from_stdin(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=["create-moderator", "Ann", "--email", "ann@example.com", "--password-stdin"],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert login(app.test_client(), "Ann", "a long enough password").status_code == 303
    again = runner.invoke(
        args=["create-moderator", "ann", "--email", "x@example.com", "--password-stdin"],
        input="a long enough password\n",
    )
    assert again.exit_code != 0 and "exists" in again.output
    short = runner.invoke(
        args=["create-moderator", "Bo", "--email", "bo@example.com", "--password-stdin"],
        input="short\n",
    )
    assert short.exit_code != 0


def test_session_cookie_is_secure_when_served_over_https(database_url, settings):
    from commentsvc import create_app

    app = create_app(
        {**settings, "DATABASE_URL": database_url, "PUBLIC_URL": "https://comments.example"}
    )
    make_moderator(app, "mo")
    client = app.test_client()
    page = client.get("/admin/login", base_url="https://comments.example").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post(
        "/admin/login",
        data={"name": "mo", "password": PASSWORD, "csrf_token": token},
        base_url="https://comments.example",
        headers={"Referer": "https://comments.example/admin/login"},
    )
    assert response.status_code == 303
    session = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "Secure" in session and "HttpOnly" in session
    with app.app_context():
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
        db.session.add(Site(name="default"))
        db.session.commit()
        db.engine.dispose()
