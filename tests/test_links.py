"""The pages mailed links open: one-click moderation, the reply opt-in, unsubscribing.

Every link is taken from a mail a real SMTP server received (see tests/test_mail.py).
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from itsdangerous.timed import TimestampSigner

from commentsvc.config import settings_of
from commentsvc.extensions import db
from commentsvc.models import AuditEntry, Comment, Moderator, Status, Subscription, UsedToken
from commentsvc.moderation import moderate
from commentsvc.tokens import issue_edit_token

from .conftest import SECRET, unique_uri
from .test_mail import MODERATOR, add_moderator, comment_status, html_of, outbox, send, text_of

# A real SMTP server (the `smtp` fixture) and the settings that send to it, for every test here.
pytestmark = pytest.mark.usefixtures("mail_settings")

ALICE, BOB = "alice@example.org", "bob@example.org"
MAX_AGE = 7 * 86400


# --- helpers ---------------------------------------------------------------------------------


def path_of(url: str) -> str:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "http://comments.test"  # on PUBLIC_URL
    return parts.path


def link(message, label: str) -> str:
    """The path of a labelled link ("Approve:  http://...") in a mail's plain-text part."""
    match = re.search(rf"^{label}:\s+(\S+)$", text_of(message), re.MULTILINE)
    assert match, f"no {label} link in the mail"
    return path_of(match.group(1))


def csrf(response) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
    assert match, "no CSRF token on the page"
    return match.group(1)


def submit(client, path: str):
    """Open a link's page, then press its button (the form's POST with its CSRF token)."""
    return client.post(path, data={"csrf_token": csrf(client.get(path))})


def audit(app) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(AuditEntry.actor, AuditEntry.action, AuditEntry.target)
        ).all()
    return [tuple(row) for row in rows]


def used_tokens(app) -> int:
    with app.app_context():
        return db.session.execute(
            sa.select(sa.func.count()).select_from(UsedToken).where(UsedToken.id.not_like("form:%"))
        ).scalar_one()  # mailed links only


def subscription_of(app, email: str) -> Subscription:
    with app.app_context():
        subscription = db.session.execute(
            sa.select(Subscription).where(Subscription.email == email)
        ).scalar_one()
        db.session.expunge(subscription)
    return subscription


def alert_for(app, smtp):
    send(app)
    alerts = [m for m in smtp.to(MODERATOR) if "awaiting review" in m["Subject"]]
    assert len(alerts) == 1
    return alerts[0]


def mails_to(app, smtp, address: str, subject_start: str) -> list:
    send(app)
    return [m for m in smtp.to(address) if m["Subject"].startswith(subject_start)]


def confirm_opt_in(app, client, smtp, email: str):
    (mail,) = mails_to(app, smtp, email, "Please confirm")
    match = re.search(r"http://comments\.test/mail/confirm/\S+", text_of(mail))
    response = submit(client, path_of(match.group()))
    assert response.status_code == 200
    assert "Reply notifications confirmed" in response.get_data(as_text=True)
    return mail


def unsubscribe_header_path(message) -> str:
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    match = re.fullmatch(r"<(http://\S+)>", message["List-Unsubscribe"])
    assert match, message["List-Unsubscribe"]
    return path_of(match.group(1))


# --- one-click moderation --------------------------------------------------------------------


def test_approve_link_get_changes_nothing_and_post_approves_once(app, client, smtp, make_comment):
    comment = make_comment(unique_uri(), "Approve me", author="Ann")
    path = link(alert_for(app, smtp), "Approve")

    page = client.get(path)
    assert page.status_code == 200
    assert "Approve this comment?" in page.get_data(as_text=True)
    assert comment_status(app, comment["id"]) == Status.pending
    assert used_tokens(app) == 0 and audit(app) == []

    done = client.post(path, data={"csrf_token": csrf(page)})
    assert done.status_code == 200 and "now approved" in done.get_data(as_text=True)
    assert comment_status(app, comment["id"]) == Status.approved
    assert audit(app) == [(f"mail link: {MODERATOR}", "approve", f"comment {comment['id']}")]

    again = client.post(path, data={"csrf_token": csrf(page)})
    assert again.status_code == 410 and "already been used" in again.get_data(as_text=True)
    assert client.get(path).status_code == 410
    assert len(audit(app)) == 1


@pytest.mark.parametrize(
    ("label", "status"), [("Mark as spam", Status.spam), ("Delete", Status.deleted)]
)
def test_spam_and_delete_links_act_on_post(app, client, smtp, make_comment, label, status):
    comment = make_comment(unique_uri(), "Buy pills")
    path = link(alert_for(app, smtp), label)
    assert submit(client, path).status_code == 200
    assert comment_status(app, comment["id"]) == status


# CSRF tokens are timed by itsdangerous too; untimed ones let the clock move for the link alone.
@pytest.mark.parametrize("mail_overrides", [{"WTF_CSRF_TIME_LIMIT": None}])
def test_expired_link_is_refused_and_changes_nothing(app, client, smtp, make_comment, monkeypatch):
    comment = make_comment(unique_uri(), "Too late")
    path = link(alert_for(app, smtp), "Approve")
    token = csrf(client.get(path))

    later = int(time.time()) + MAX_AGE + 60
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    page = client.get(path)
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)
    assert client.post(path, data={"csrf_token": token}).status_code == 410
    assert comment_status(app, comment["id"]) == Status.pending
    assert used_tokens(app) == 0


def test_forged_truncated_or_foreign_tokens_are_refused(app, client, smtp, make_comment):
    comment = make_comment(unique_uri(), "Target")
    path = link(alert_for(app, smtp), "Approve")
    token = csrf(client.get(path))
    for bad in (
        path[:-3],
        path[:-3] + "abc",
        "/mail/moderate/nonsense",
        "/mail/moderate/" + issue_edit_token(SECRET, comment["id"]),
    ):
        assert client.get(bad).status_code == 400, bad
        assert client.post(bad, data={"csrf_token": token}).status_code == 400, bad
    assert comment_status(app, comment["id"]) == Status.pending


def test_post_without_csrf_token_is_refused(app, client, smtp, make_comment):
    comment = make_comment(unique_uri(), "Forged form")
    path = link(alert_for(app, smtp), "Approve")
    client.get(path)
    response = client.post(path, data={})
    assert response.status_code == 400
    assert "open the link from the mail again" in response.get_data(as_text=True)
    assert comment_status(app, comment["id"]) == Status.pending


@pytest.mark.parametrize("mail_overrides", [{"MODERATOR_EMAILS": []}])
def test_link_of_a_deactivated_moderator_is_refused(app, client, smtp, make_comment):
    add_moderator(app, "mo", MODERATOR)
    comment = make_comment(unique_uri(), "Held")
    path = link(alert_for(app, smtp), "Approve")
    with app.app_context():
        db.session.execute(sa.update(Moderator).values(active=False))
        db.session.commit()
    assert client.get(path).status_code == 403
    assert comment_status(app, comment["id"]) == Status.pending


# --- reply notifications ---------------------------------------------------------------------


@pytest.mark.parametrize("mail_overrides", [{"MODERATION": "none"}])
def test_reply_is_notified_only_after_the_opt_in_is_confirmed(app, client, smtp, make_comment):
    uri = unique_uri()
    parent = make_comment(
        uri, "What worked for you?", email=ALICE, notify=True, title="Persistence pays off"
    )
    make_comment(uri, "Patience.", parent_id=parent["id"], email=BOB, author="Bob")
    assert mails_to(app, smtp, ALICE, "New reply") == []  # not confirmed yet

    (opt_in,) = mails_to(app, smtp, ALICE, "Please confirm")
    path = path_of(re.search(r"http://comments\.test/mail/confirm/\S+", text_of(opt_in)).group())
    page = client.get(path)
    assert page.status_code == 200 and subscription_of(app, ALICE).confirmed is None
    assert client.post(path, data={"csrf_token": csrf(page)}).status_code == 200
    assert subscription_of(app, ALICE).confirmed is not None

    reply = make_comment(uri, "Asking *twice*.", parent_id=parent["id"], email=BOB, author="Bob")
    make_comment(uri, "Answering myself", parent_id=parent["id"], email=ALICE)
    (notice,) = mails_to(app, smtp, ALICE, "New reply")
    # Named by its address: the title came from the first poster, unchecked.
    assert notice["Subject"] == f"New reply to your comment on {uri}"
    assert "Bob replied" in text_of(notice) and "> Asking *twice*." in text_of(notice)
    assert "<em>twice</em>" in html_of(notice)
    assert f"http://comments.test/comments?uri={uri}#comment-{reply['id']}" in text_of(notice)
    assert BOB not in text_of(notice) and BOB not in html_of(notice)
    assert unsubscribe_header_path(notice).startswith("/mail/unsubscribe/")
    assert len(smtp.to(ALICE)) == 2  # the opt-in and one notification: none for her own reply


def test_only_approved_replies_are_notified(app, client, smtp, make_comment, post):
    uri = unique_uri()
    parent = make_comment(uri, "Held question", email=ALICE, notify=True)
    assert mails_to(app, smtp, ALICE, "Please confirm") == []  # held: no mail to its address
    assert submit(client, link(alert_for(app, smtp), "Approve")).status_code == 200
    confirm_opt_in(app, client, smtp, ALICE)

    reply = make_comment(uri, "Held answer", parent_id=parent["id"], email=BOB)
    assert post(uri, "Spam answer", parent_id=parent["id"], hp="bot").status_code == 201
    assert mails_to(app, smtp, ALICE, "New reply") == []

    alerts = [m for m in smtp.to(MODERATOR) if "Held answer" in text_of(m)]
    assert submit(client, link(alerts[0], "Approve")).status_code == 200
    assert len(mails_to(app, smtp, ALICE, "New reply")) == 1
    assert comment_status(app, reply["id"]) == Status.approved


@pytest.mark.parametrize("mail_overrides", [{"MODERATION": "none"}])
def test_unsubscribe_page_post_stops_notifications(app, client, smtp, make_comment):
    uri = unique_uri()
    parent = make_comment(uri, "Tell me", email=ALICE, notify=True)
    opt_in = confirm_opt_in(app, client, smtp, ALICE)

    path = link(opt_in, "Unsubscribe")
    page = client.get(path)
    assert page.status_code == 200 and "<button" in page.get_data(as_text=True)
    assert subscription_of(app, ALICE).unsubscribed is None  # the GET changed nothing
    done = client.post(path, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200 and "no more e-mails" in done.get_data(as_text=True)

    make_comment(uri, "Unheard reply", parent_id=parent["id"], email=BOB)
    assert mails_to(app, smtp, ALICE, "New reply") == []


@pytest.mark.parametrize("mail_overrides", [{"MODERATION": "none"}])
def test_one_click_unsubscribe_post_stops_notifications(app, client, smtp, make_comment):
    uri = unique_uri()
    parent = make_comment(uri, "Tell me", email=ALICE, notify=True)
    confirm_opt_in(app, client, smtp, ALICE)
    make_comment(uri, "First reply", parent_id=parent["id"], email=BOB)
    (notice,) = mails_to(app, smtp, ALICE, "New reply")

    mail_client = app.test_client()  # RFC 8058: no cookie, no page, no CSRF token
    path = unsubscribe_header_path(notice)
    for _ in range(2):  # a repeated POST is still a success
        response = mail_client.post(
            path,
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert response.status_code == 200
    assert subscription_of(app, ALICE).unsubscribed is not None

    make_comment(uri, "Second reply", parent_id=parent["id"], email=BOB)
    assert len(mails_to(app, smtp, ALICE, "New reply")) == 1


@pytest.mark.parametrize("mail_overrides", [{"MODERATION": "none"}])
def test_confirmation_link_after_unsubscribing_is_refused(app, client, smtp, make_comment):
    make_comment(unique_uri(), "Changed my mind", email=ALICE, notify=True)
    (opt_in,) = mails_to(app, smtp, ALICE, "Please confirm")
    assert client.post(link(opt_in, "Unsubscribe")).status_code == 200
    path = path_of(re.search(r"http://comments\.test/mail/confirm/\S+", text_of(opt_in)).group())
    assert client.get(path).status_code == 410
    assert subscription_of(app, ALICE).confirmed is None


def test_spam_with_notify_mails_nobody(app, post):
    assert post(unique_uri(), "Bot", email=ALICE, notify=True, hp="bot").status_code == 201
    assert outbox(app) == []


# --- the pages themselves --------------------------------------------------------------------


def test_link_pages_are_plain_accessible_html(app, client, smtp, make_comment):
    comment = make_comment(unique_uri(), "Page check", email=ALICE, notify=True)
    alert = alert_for(app, smtp)
    with app.app_context():  # approved from the queue: the opt-in is mailed now
        moderate(
            db.session, settings_of(app), db.session.get(Comment, comment["id"]), "approve", "queue"
        )
        db.session.commit()
    (opt_in,) = mails_to(app, smtp, ALICE, "Please confirm")
    confirm = path_of(re.search(r"http://comments\.test/mail/confirm/\S+", text_of(opt_in)).group())
    pages = [
        link(alert, "Approve"),
        confirm,
        link(opt_in, "Unsubscribe"),
        "/mail/moderate/not-a-token",
    ]
    for path in pages:
        response = client.get(path)
        html = response.get_data(as_text=True)
        assert response.status_code in (200, 400), path
        assert '<html lang="en" dir="ltr">' in html and "<title>" in html and "<h1" in html
        assert "<script" not in html and "<style" not in html and "style=" not in html
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert response.headers["Referrer-Policy"] == "same-origin"
        assert response.headers["Cache-Control"] == "no-store"
        if response.status_code == 200:
            assert '<button type="submit">' in html
