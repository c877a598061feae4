"""Moderators lift bans and take words off the blocklist; the audit page shows who did what.

(Deactivation ending a moderator's sessions is proved by test_admin_sessions.py.)
"""

from __future__ import annotations

from datetime import timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from commentsvc.admin.accounts import AUDIT_PER_PAGE
from commentsvc.extensions import db
from commentsvc.models import AuditEntry, Ban, BlockedWord, Role, utcnow
from tests.support.admin import csrf_token, signed_in

from .conftest import unique_uri

TROLL = "troll@example.com"


@pytest.fixture
def admin(app):
    """An administrator's own client (beside `client`, a reader's)."""
    return signed_in(app, "boss", Role.admin)


@pytest.fixture
def moderator(app):
    """A moderator's own client (beside `client`, a reader's)."""
    return signed_in(app, "mo")


def ids(app, model) -> list[int]:
    with app.app_context():
        found = db.session.scalars(sa.select(model.id)).all()
        db.session.remove()
    return found


class _Rows(HTMLParser):
    """The text of each cell of each row of a page's table bodies."""

    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_body = self._in_cell = False

    def handle_starttag(self, tag, attrs):
        if tag == "tbody":
            self._in_body = True
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif tag == "td" and self._in_body:
            self._in_cell = True
            self.rows[-1].append("")

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_body = False
        elif tag == "td":
            self._in_cell = False

    def handle_data(self, data):
        if self._in_cell:
            self.rows[-1][-1] += data


def table_rows(html: str) -> list[list[str]]:
    parser = _Rows()
    parser.feed(html)
    return parser.rows


# --- bans ------------------------------------------------------------------------------------


def test_lifting_a_ban_lets_the_author_post_again(app, admin, moderator, post):
    token = csrf_token(admin, "/admin/bans")
    admin.post(
        "/admin/bans",
        data={"csrf_token": token, "kind": "email", "value": TROLL, "action": "refuse"},
    )
    assert post(unique_uri(), "Banned", email=TROLL).status_code == 403
    (ban_id,) = ids(app, Ban)

    # Any moderator may lift a ban, from the bans page.
    token = csrf_token(moderator, "/admin/bans")
    response = moderator.post(f"/admin/bans/{ban_id}/delete", data={"csrf_token": token})

    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/bans")
    assert ids(app, Ban) == []
    assert TROLL not in moderator.get("/admin/bans").get_data(as_text=True)
    again = post(unique_uri(), "Welcome back", email=TROLL)
    assert again.status_code == 201 and again.get_json()["status"] == "approved"
    with app.app_context():
        entry = db.session.execute(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).scalar()
        assert (entry.actor, entry.action, entry.target) == ("mo", "unban", "email ban")


def test_lifting_a_ban_needs_the_csrf_token(app, admin, post):
    token = csrf_token(admin, "/admin/bans")
    admin.post(
        "/admin/bans",
        data={"csrf_token": token, "kind": "email", "value": TROLL, "action": "refuse"},
    )
    (ban_id,) = ids(app, Ban)
    app.config["WTF_CSRF_ENABLED"] = True
    assert admin.post(f"/admin/bans/{ban_id}/delete", data={}).status_code == 400
    assert ids(app, Ban) == [ban_id]
    assert post(unique_uri(), "Still banned", email=TROLL).status_code == 403


# --- blocked words ---------------------------------------------------------------------------


def test_taking_a_word_off_the_blocklist_lets_it_through(app, admin, moderator, post):
    token = csrf_token(admin, "/admin/words")
    admin.post("/admin/words", data={"csrf_token": token, "word": "casino", "action": "refuse"})
    assert post(unique_uri(), "best casino online").status_code == 403
    (word_id,) = ids(app, BlockedWord)

    # Only admins keep the blocklist.
    other = csrf_token(moderator, "/admin/")
    assert (
        moderator.post(f"/admin/words/{word_id}/delete", data={"csrf_token": other}).status_code
        == 403
    )
    assert ids(app, BlockedWord) == [word_id]

    response = admin.post(f"/admin/words/{word_id}/delete", data={"csrf_token": token})

    assert response.status_code == 303 and response.headers["Location"].endswith("/admin/words")
    assert ids(app, BlockedWord) == []
    assert "The blocklist is empty." in admin.get("/admin/words").get_data(as_text=True)
    allowed = post(unique_uri(), "best casino online")
    assert allowed.status_code == 201 and allowed.get_json()["status"] == "approved"
    with app.app_context():
        entry = db.session.execute(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).scalar()
        assert (entry.actor, entry.action, entry.target, entry.detail) == (
            "boss",
            "unblocklist",
            "word",
            "casino",
        )


# --- the audit page --------------------------------------------------------------------------


def test_the_audit_page_lists_every_action_newest_first(app, admin, make_comment):
    comment = make_comment(unique_uri(), "To be deleted")
    token = csrf_token(admin, "/admin/")
    admin.post(f"/admin/comments/{comment['id']}/delete", data={"csrf_token": token})
    admin.post(
        "/admin/bans",
        data={
            "csrf_token": token,
            "kind": "email",
            "value": TROLL,
            "action": "hold",
            "reason": "<b>rude</b> & loud",
        },
    )

    response = admin.get("/admin/audit")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    rows = [cells[1:] for cells in table_rows(html)]  # the time aside
    assert len(rows) == 3
    assert rows[:2] == [
        ["boss", "ban", "email ban", "hold: <b>rude</b> & loud"],
        ["boss", "delete", f"comment {comment['id']}", "approved -> deleted"],
    ]
    assert rows[2][:2] == ["boss", "login"]
    assert "&lt;b&gt;rude&lt;/b&gt; &amp; loud" in html  # a moderator's words, never markup
    assert "<b>rude</b>" not in html


def test_the_audit_page_is_paged_and_for_admins_only(app, admin, moderator):
    with app.app_context():
        start = utcnow() - timedelta(days=1)
        for n in range(AUDIT_PER_PAGE + 1):
            db.session.add(
                AuditEntry(
                    actor="script",
                    action="test",
                    target=f"item {n}",
                    created=start + timedelta(seconds=n),
                )
            )
        db.session.commit()
        total = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
        db.session.remove()

    first = table_rows(admin.get("/admin/audit").get_data(as_text=True))
    last_page = -(-total // AUDIT_PER_PAGE)
    last = table_rows(admin.get(f"/admin/audit?page={last_page}").get_data(as_text=True))

    assert len(first) == AUDIT_PER_PAGE
    assert [cells[1:4] for cells in last][-1] == ["script", "test", "item 0"]  # the oldest
    assert [cells[3] for cells in first if cells[1] == "script"][0] == f"item {AUDIT_PER_PAGE}"
    assert moderator.get("/admin/audit").status_code == 403
