"""Mail goes out over STARTTLS by default, and never in the clear to a server that cannot do it.

A real SMTP server (aiosmtpd on 127.0.0.1) speaks TLS with a certificate made for this test;
the sender trusts it the way it trusts any certificate, through OpenSSL's default store
(SSL_CERT_FILE), so the sender's own verification is what is exercised.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from commentsvc.config import settings_of
from commentsvc.extensions import db
from commentsvc.mail import send_due, worker
from commentsvc.models import MailStatus, OutboxMail

from .conftest import need, unique_uri
from .settings_helpers import change_settings

MODERATOR = "mod@example.com"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_certificate(folder: Path, name: str) -> tuple[Path, Path]:
    """A one-day self-signed certificate for 127.0.0.1 (the sender checks the host name)."""
    need(shutil.which("openssl") is not None, "openssl is missing (apt-get install -y openssl)")
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


@dataclass
class Delivery:
    recipients: list[str]
    over_tls: bool


@dataclass
class TLSMailServer:
    """aiosmtpd that records, for every mail, whether it came over TLS."""

    port: int = field(default_factory=free_port)
    received: list[Delivery] = field(default_factory=list)
    controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope):
        self.received.append(Delivery(list(envelope.rcpt_tos), session.ssl is not None))
        return "250 OK"

    def start(self, cert: Path | None = None, key: Path | None = None) -> TLSMailServer:
        options = {}
        if cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            # Production servers refuse mail before STARTTLS: 530 to a plain MAIL FROM.
            options = {"tls_context": context, "require_starttls": True}
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()


@pytest.fixture
def mail_server():
    server = TLSMailServer()
    yield server
    server.stop()


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
    assert mail_server.received == [Delivery([MODERATOR], over_tls=True)]
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
    assert mail_server.received == [Delivery([MODERATOR], over_tls=False)]
