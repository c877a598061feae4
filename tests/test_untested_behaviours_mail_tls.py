"""Mail goes out over STARTTLS by default, and never in the clear to a server that cannot do it.

A real SMTP server (aiosmtpd on 127.0.0.1) speaks TLS with a certificate made for this test;
the sender trusts it the way it trusts any certificate, through OpenSSL's default store
(SSL_CERT_FILE), so the sender's own verification is what is exercised.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from commentsvc.config import settings_of
from commentsvc.extensions import db
from commentsvc.mail import send_due, worker
from commentsvc.models import MailStatus, OutboxMail
from tests.support.smtp import make_certificate

from .conftest import unique_uri
from .settings_helpers import change_settings

MODERATOR = "mod@example.com"


@pytest.fixture
def certificates(tmp_path, monkeypatch):
    """The server's certificate, trusted by OpenSSL's default store; and one nobody trusts."""
    trusted = make_certificate(tmp_path, "trusted")
    stranger = make_certificate(tmp_path, "stranger")
    monkeypatch.setenv("SSL_CERT_FILE", str(trusted[0]))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return {"trusted": trusted, "stranger": stranger}


@pytest.fixture(autouse=True)
def mail_settings(settings, mail_server):
    worker.stop_background_senders()
    # SMTP_STARTTLS is left out on purpose: its default is what is under test.
    settings.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=mail_server.port,
        SMTP_TIMEOUT=5,
        MAIL_FROM="Blog comments <comments@blog.test>",
        MODERATOR_EMAILS=[MODERATOR],
        MODERATION="all",
    )
    return settings


def send(app):
    with app.app_context():
        report = send_due(db.session, settings_of(app))
        db.session.remove()
    return report


def outbox(app) -> list[OutboxMail]:
    with app.app_context():
        mails = db.session.execute(sa.select(OutboxMail).order_by(OutboxMail.id)).scalars().all()
        db.session.expunge_all()
    return mails


def test_mail_is_delivered_over_starttls_by_default(app, mail_server, certificates, make_comment):
    assert settings_of(app).smtp_starttls is True  # nobody turned it on: the default
    mail_server.start(*certificates["trusted"])
    make_comment(unique_uri(), "Please review me")

    report = send(app)

    assert (report.sent, report.retrying, report.failed) == (1, 0, 0)
    assert [(r.recipients, r.over_tls) for r in mail_server.received] == [([MODERATOR], True)]
    assert [m.status for m in outbox(app)] == [MailStatus.sent]


def test_a_server_without_starttls_never_gets_the_mail_in_the_clear(app, mail_server, make_comment):
    mail_server.start()  # plain SMTP, no STARTTLS offered
    make_comment(unique_uri(), "Secret moderation alert")

    report = send(app)

    assert report.sent == 0
    assert mail_server.received == []
    (mail,) = outbox(app)
    assert mail.status != MailStatus.sent and mail.sent is None
    assert "STARTTLS" in mail.last_error  # the owner sees why in the outbox


def test_a_certificate_the_sender_does_not_trust_is_refused_and_retried(
    app, mail_server, certificates, make_comment
):
    mail_server.start(*certificates["stranger"])
    make_comment(unique_uri(), "Not for an impostor")

    report = send(app)

    assert (report.sent, report.retrying, report.server_down) == (0, 1, True)
    assert mail_server.received == []
    (mail,) = outbox(app)
    assert mail.status == MailStatus.queued and "CERTIFICATE_VERIFY_FAILED" in mail.last_error


def test_starttls_can_be_turned_off_for_a_local_relay(app, mail_server, make_comment):
    change_settings(app, SMTP_STARTTLS=False)
    mail_server.start()
    make_comment(unique_uri(), "To the relay on this host")

    assert send(app).sent == 1
    assert [(r.recipients, r.over_tls) for r in mail_server.received] == [([MODERATOR], False)]
