"""The outbox and its sender: moderator alerts, retries, one delivery per mail, the log fallback.

Mail goes to a real SMTP server (aiosmtpd on 127.0.0.1) started by the `smtp` fixture
(tests/conftest.py).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from datetime import timedelta
from email.message import EmailMessage

import pytest
import sqlalchemy as sa
from aiosmtpd.smtp import AuthResult, LoginPassword
from werkzeug.security import generate_password_hash

from commentsvc.config import settings_of
from commentsvc.extensions import db
from commentsvc.mail import send_due, worker
from commentsvc.mail.sender import claim
from commentsvc.models import Comment, MailStatus, Moderator, OutboxMail, Status, utcnow
from commentsvc.moderation import moderate

from .conftest import MODERATOR, SECRET, unique_uri
from .settings_helpers import change_settings

# A real SMTP server (the `smtp` fixture) and the settings that send to it, for every test here.
pytestmark = pytest.mark.usefixtures("mail_settings")

SMTP_PASSWORD = "smtp-pass-Zq81!x"


# --- helpers ---------------------------------------------------------------------------------


def send(app, now=None):
    with app.app_context():
        report = send_due(db.session, settings_of(app), now=now)
        db.session.remove()
    return report


def send_from_two_threads(app) -> list[Exception]:
    """Run two senders at once, as two processes would; what either raised."""
    start = threading.Barrier(2)
    errors = []

    def sender():
        try:
            start.wait(5)
            send(app)
        except Exception as exc:  # reported to the caller; a thread must not die silently
            errors.append(exc)

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return errors


def approve(app, comment_id: int) -> None:
    """A moderator approves a comment (as from the queue)."""
    with app.app_context():
        moderate(db.session, settings_of(app), db.session.get(Comment, comment_id), "approve", "mo")
        db.session.commit()
        db.session.remove()


def outbox(app) -> list[OutboxMail]:
    with app.app_context():
        mails = db.session.execute(sa.select(OutboxMail).order_by(OutboxMail.id)).scalars().all()
        db.session.expunge_all()
    return mails


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def html_of(message: EmailMessage) -> str:
    return message.get_body(("html",)).get_content().replace("\r\n", "\n")


def add_moderator(app, name: str, email: str, active: bool = True) -> None:
    with app.app_context():
        db.session.add(
            Moderator(
                name=name,
                email=email,
                active=active,
                password_hash=generate_password_hash("x" * 12, "pbkdf2:sha256:1"),
            )
        )
        db.session.commit()


def comment_status(app, comment_id: int) -> Status:
    with app.app_context():
        return db.session.get(Comment, comment_id).status


# --- moderator alerts ------------------------------------------------------------------------


def test_held_comment_alerts_each_moderator_address_exactly_once(app, smtp, make_comment):
    change_settings(app, MODERATOR_EMAILS=[MODERATOR, "Mod@Example.com", "boss@example.com"])
    add_moderator(app, "boss", "BOSS@example.com")
    add_moderator(app, "third", "third@example.com")
    add_moderator(app, "gone", "gone@example.com", active=False)

    comment = make_comment(unique_uri(), "Please review me", email="reader@example.org")
    assert comment["status"] == "pending"
    assert [m.status for m in outbox(app)] == [MailStatus.queued] * 3  # queued, not sent inline
    assert smtp.received == []

    report = send(app)
    assert (report.sent, report.retrying, report.failed) == (3, 0, 0)
    assert sorted(r for got in smtp.received for r in got.recipients) == [
        "boss@example.com",
        MODERATOR,
        "third@example.com",
    ]
    assert send(app).sent == 0 and len(smtp.received) == 3


@pytest.mark.parametrize("mail_overrides", [{"MODERATION": "none"}])
def test_approved_comment_alerts_nobody(app, make_comment):
    make_comment(unique_uri(), "Fine", email="reader@example.org")
    assert outbox(app) == []


def test_spam_alerts_nobody(app, post):
    response = post(unique_uri(), "Buy now", hp="I am a bot")
    assert response.status_code == 201
    assert outbox(app) == []


def test_mail_is_written_in_the_comments_transaction(app, post, monkeypatch):
    """A post that fails after the events ran leaves neither the comment nor its mail."""

    def broken(*args, **kwargs):
        raise RuntimeError("failure after the receivers ran")

    monkeypatch.setattr("commentsvc.comments.tokens.issue_edit_token", broken)
    with pytest.raises(RuntimeError):
        post(unique_uri(), "Lost whole")
    assert outbox(app) == []
    with app.app_context():
        assert db.session.execute(sa.select(sa.func.count(Comment.id))).scalar_one() == 0


def test_alert_has_text_and_html_parts_and_escapes_the_comment(app, smtp, make_comment):
    uri = unique_uri()
    make_comment(
        uri,
        "<script>alert(1)</script> & **bold**",
        author="<b>Eve</b>",
        email="eve@example.org",
        website="https://eve.example/",
        title="A post",
    )
    send(app)
    (message,) = smtp.to(MODERATOR)

    assert message["Subject"] == "Comment awaiting review: A post"
    assert message["From"] == "Blog comments <comments@blog.test>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe"] is None  # internal alert: the settings decide, no list
    text, html = text_of(message), html_of(message)

    assert "<script>alert(1)</script> & **bold**" in text
    for part in (text, html):
        assert "eve@example.org" in part and "https://eve.example/" in part
        assert "every comment is reviewed" in part  # the held reason
        assert "http://comments.test/comments?uri=" in part  # the thread's page
        assert len(re.findall(r"http://comments\.test/mail/moderate/[\w.\-]+", part)) == 3
    assert "<script>" not in html and "<b>Eve</b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; **bold**" in html
    assert "&lt;b&gt;Eve&lt;/b&gt;" in html


# --- retries ---------------------------------------------------------------------------------


def test_server_down_delays_the_mail_but_loses_neither_mail_nor_comment(
    app, mail_server, make_comment
):
    comment = make_comment(unique_uri(), "Held while the mail server sleeps")
    before = utcnow()

    report = send(app)  # nothing listens on the port yet
    assert (report.sent, report.retrying, report.server_down) == (0, 1, True)
    (mail,) = outbox(app)
    assert mail.status == MailStatus.queued and mail.attempts == 1
    assert mail.next_attempt > before + timedelta(seconds=50)
    assert "Connection" in mail.last_error
    assert comment_status(app, comment["id"]) == Status.pending

    mail_server.start()
    assert send(app).sent == 0  # not due yet: the backoff holds
    assert mail_server.received == []

    report = send(app, now=mail.next_attempt + timedelta(seconds=1))
    assert report.sent == 1 and len(mail_server.received) == 1
    (mail,) = outbox(app)
    assert mail.status == MailStatus.sent and mail.attempts == 2 and mail.sent is not None
    assert send(app, now=mail.next_attempt + timedelta(days=1)).sent == 0
    assert len(mail_server.received) == 1


@pytest.mark.parametrize("mail_overrides", [{"SMTP_STARTTLS": True}])
def test_a_server_without_starttls_delays_every_mail_and_gives_none_up(
    app, smtp, make_comment, caplog
):
    """SMTP_STARTTLS on and a server that does not offer it: a setting to fix, not a refusal of
    each mail. The mails wait (their tries spent as for a server that is down) and the log
    says what to change."""
    caplog.set_level(logging.WARNING, logger="commentsvc.mail")
    make_comment(unique_uri(), "First held comment")
    make_comment(unique_uri(), "Second held comment")
    report = send(app)
    assert (report.sent, report.failed, report.server_down) == (0, 0, True)
    mails = outbox(app)
    assert [m.status for m in mails] == [MailStatus.queued, MailStatus.queued]
    assert "STARTTLS" in mails[0].last_error and "COMMENTSVC_SMTP_STARTTLS" in mails[0].last_error
    assert smtp.received == []


@pytest.mark.parametrize("mail_overrides", [{"MAIL_MAX_ATTEMPTS": 3}])
def test_mail_is_given_up_after_the_last_attempt(app, make_comment):
    make_comment(unique_uri(), "Nobody will hear of this")
    now = utcnow()
    delays = []
    for _ in range(3):
        send(app, now=now)
        (mail,) = outbox(app)
        delays.append(mail.next_attempt - now)
        now = mail.next_attempt + timedelta(seconds=1)
    assert mail.status == MailStatus.failed and mail.attempts == 3
    assert delays[0] < delays[1]  # backoff grows
    assert send(app, now=now + timedelta(days=30)).handled == 0


def test_a_claimed_mail_cannot_be_claimed_again(app, make_comment):
    make_comment(unique_uri(), "Only once")
    (mail,) = outbox(app)
    with app.app_context():
        now = utcnow()
        first = claim(db.session, settings_of(app), mail.id, mail.next_attempt, now)
        second = claim(db.session, settings_of(app), mail.id, mail.next_attempt, now)
        assert first is not None and second is None
        db.session.remove()


def test_two_senders_at_once_send_each_mail_once(app, smtp, make_comment):
    change_settings(app, MODERATOR_EMAILS=[f"mod{i}@example.com" for i in range(8)])
    make_comment(unique_uri(), "Eight alerts")
    assert send_from_two_threads(app) == []
    recipients = sorted(r for got in smtp.received for r in got.recipients)
    assert recipients == sorted(settings_of(app).moderator_emails)
    assert {m.status for m in outbox(app)} == {MailStatus.sent}


# --- without a mail server, and secrets -----------------------------------------------------


@pytest.mark.parametrize("mail_overrides", [{"SMTP_HOST": None}])
def test_without_smtp_host_mail_is_logged_and_marked_sent(app, make_comment, caplog):
    caplog.set_level(logging.INFO, logger="commentsvc.mail")
    make_comment(unique_uri(), "Log me", title="Logged post")
    report = send(app)
    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    (mail,) = outbox(app)
    assert mail.status == MailStatus.sent
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == "commentsvc.mail")
    assert "Comment awaiting review: Logged post" in logged and MODERATOR in logged
    assert "http://comments.test/mail/moderate/" in logged


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == SMTP_PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # unhandled: aiosmtpd answers 535 itself


@pytest.mark.parametrize(
    "mail_overrides", [{"SMTP_USERNAME": "blog", "SMTP_PASSWORD": SMTP_PASSWORD}]
)
def test_login_works_and_no_secret_reaches_the_mail_or_the_log(
    app, mail_server, make_comment, caplog
):
    caplog.set_level(logging.DEBUG)
    mail_server.start(authenticator=_authenticator, auth_require_tls=False)
    make_comment(unique_uri(), "Secret-free", email="reader@example.org", notify=True)
    assert send(app).sent == 1  # the moderator alert (the opt-in waits for the approval)
    for got in mail_server.received:
        assert SMTP_PASSWORD.encode() not in got.raw and SECRET.encode() not in got.raw
    assert SMTP_PASSWORD not in caplog.text and SECRET not in caplog.text


@pytest.mark.parametrize(
    "mail_overrides", [{"SMTP_USERNAME": "blog", "SMTP_PASSWORD": SMTP_PASSWORD + "-wrong"}]
)
def test_refused_login_is_retried_and_the_password_never_stored_or_logged(
    app, mail_server, make_comment, caplog
):
    caplog.set_level(logging.DEBUG)
    mail_server.start(authenticator=_authenticator, auth_require_tls=False)
    make_comment(unique_uri(), "Wrong password")
    assert send(app).retrying == 1
    (mail,) = outbox(app)
    assert mail.status == MailStatus.queued and "SMTPAuthenticationError" in mail.last_error
    assert SMTP_PASSWORD not in mail.last_error and SMTP_PASSWORD not in caplog.text


# --- running the sender ----------------------------------------------------------------------


def test_send_mail_once_command_drains_the_outbox(app, smtp, make_comment):
    make_comment(unique_uri(), "Sent by the command")
    result = app.test_cli_runner().invoke(args=["send-mail", "--once"])
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 to retry, 0 given up" in result.output
    assert len(smtp.to(MODERATOR)) == 1


def sender_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "commentsvc-mail"]


def test_background_sender_starts_on_the_first_request_once_per_process(app, client):
    change_settings(app, MAIL_BACKGROUND=True)
    assert app.extensions[worker.STATE]["pid"] is None  # creating the app started nothing
    assert sender_threads() == []

    client.get("/healthz")  # TESTING: never in tests unless asked
    assert sender_threads() == []

    app.testing = False
    try:
        client.get("/healthz")
        client.get("/healthz")
        # Thread.start() returns once the thread runs: there is nothing to wait for.
        [sender] = sender_threads()
        assert sender.is_alive() and sender.daemon
        assert app.extensions[worker.STATE]["pid"] == os.getpid()
    finally:
        worker.stop_background_senders()
    assert sender_threads() == []


def test_background_sender_sends_soon_after_the_commit(app, smtp, make_comment):
    stop = threading.Event()
    thread = threading.Thread(target=worker.run_forever, args=(app, 60, stop), daemon=True)
    thread.start()
    try:
        make_comment(unique_uri(), "Wake up")
        deadline = time.monotonic() + 10
        while not smtp.received and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        stop.set()
        worker._wake.set()
        thread.join(10)
    assert not thread.is_alive()
    assert len(smtp.to(MODERATOR)) == 1  # long before the 60 s poll: the commit woke it
