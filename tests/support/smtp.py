"""A real SMTP server (aiosmtpd on 127.0.0.1) that keeps every mail it is given, optionally
speaking STARTTLS with a throwaway certificate, as production mail servers do."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.need import HOST, free_port
from tests.support.tls import make_certificate

__all__ = ["MailServer", "Received", "make_certificate"]


@dataclass
class Received:
    recipients: list[str]
    message: EmailMessage
    raw: bytes
    over_tls: bool


class MailServer:
    """aiosmtpd on a port chosen up front (it cannot take port 0), so a test can send to it
    before it is started."""

    def __init__(self):
        self.port = free_port()
        self.received: list[Received] = []
        self.controller: Controller | None = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's naming)
        message = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append(
            Received(list(envelope.rcpt_tos), message, envelope.content, session.ssl is not None)
        )
        return "250 OK"

    def start(
        self, cert: Path | None = None, key: Path | None = None, **smtp_options: Any
    ) -> MailServer:
        """Listen; with cert and key, offer STARTTLS and refuse mail before it (530)."""
        if cert is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(cert, key)
            smtp_options = {"tls_context": context, "require_starttls": True, **smtp_options}
        self.controller = Controller(self, hostname=HOST, port=self.port, **smtp_options)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def to(self, address: str) -> list[EmailMessage]:
        return [r.message for r in self.received if address in r.recipients]

    @property
    def recipients(self) -> list[list[str]]:
        """The recipients of every mail, in the order they came."""
        return [r.recipients for r in self.received]
