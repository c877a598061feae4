"""Draining the outbox: claim a due mail, hand it to the mail server or the log, record the result.

Several processes may drain one outbox. A mail is claimed by one conditional UPDATE that only
matches while the row still holds the values this process read (queued, same next_attempt), so
exactly one process wins it; the claim also moves next_attempt forward by a lease, after which a
mail whose sender died mid-way is tried again.
"""

from __future__ import annotations

import logging
import random
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from ..config import Settings
from ..errors import MailServerUnusable
from ..models import MailStatus, OutboxMail, utcnow
from .upkeep import before_pass

log = logging.getLogger("commentsvc.mail")

BATCH = 50
RETRY_FIRST_SECONDS = 60  # then doubling: 1, 2, 4, 8 ... minutes
RETRY_MAX_SECONDS = 6 * 3600
# Raw header values (set_raw) are written as they are, never refolded into encoded-words.
MESSAGE_POLICY = policy.default.clone(refold_source="none")
ERROR_LENGTH = 500  # OutboxMail.last_error
IMPLICIT_TLS_PORT = 465

# Refusals of one message: the next mail may still go through on the same server.
MESSAGE_ERRORS = (
    smtplib.SMTPRecipientsRefused,
    smtplib.SMTPDataError,
    smtplib.SMTPNotSupportedError,
)


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    server_down: bool = False

    @property
    def handled(self) -> int:
        return self.sent + self.retrying + self.failed

    def add(self, other: SendReport) -> None:
        self.sent += other.sent
        self.retrying += other.retrying
        self.failed += other.failed
        self.server_down = self.server_down or other.server_down


class Transport(Protocol):
    def send(self, mail: OutboxMail, message: EmailMessage) -> None: ...
    def reset(self) -> None: ...
    def close(self) -> None: ...


class LogTransport:
    """No mail server configured: each mail goes to the log, so one box needs no setup."""

    def send(self, mail: OutboxMail, message: EmailMessage) -> None:
        log.info(
            "mail %s to %s (no SMTP_HOST set, so it is only logged)\nSubject: %s\n\n%s",
            mail.id,
            mail.recipient,
            mail.subject,
            mail.text_body,
        )

    def reset(self) -> None:
        pass

    def close(self) -> None:
        pass


class SMTPTransport:
    """One connection for a whole pass, opened on the first mail; STARTTLS and login if set."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        c = self.settings
        host, port, timeout = c.smtp_host or "", c.smtp_port, c.smtp_timeout
        if port == IMPLICIT_TLS_PORT:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
        try:
            if c.smtp_starttls and port != IMPLICIT_TLS_PORT:
                try:
                    smtp.starttls(context=ssl.create_default_context())
                except smtplib.SMTPNotSupportedError:
                    raise MailServerUnusable(
                        f"the mail server {host}:{port} does not offer STARTTLS: set "
                        "COMMENTSVC_SMTP_STARTTLS=false (or use port 465 for TLS from the start)"
                    ) from None
            if c.smtp_username:
                try:
                    smtp.login(c.smtp_username, c.smtp_password or "")
                except smtplib.SMTPNotSupportedError:
                    raise MailServerUnusable(
                        f"the mail server {host}:{port} does not offer a login (AUTH), or only "
                        "after STARTTLS: unset COMMENTSVC_SMTP_USERNAME or turn "
                        "COMMENTSVC_SMTP_STARTTLS on"
                    ) from None
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, mail: OutboxMail, message: EmailMessage) -> None:
        if self.smtp is None:
            self.smtp = self._connect()
        self.smtp.send_message(message, to_addrs=[mail.recipient])

    def reset(self) -> None:
        """Drop the connection after an error; the next mail opens a fresh one."""
        if self.smtp is not None:
            self.smtp.close()
            self.smtp = None

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            finally:
                self.reset()


def open_transport(settings: Settings) -> Transport:
    return SMTPTransport(settings) if settings.smtp_host else LogTransport()


def build_message(settings: Settings, mail: OutboxMail) -> EmailMessage:
    """The MIME message for an outbox row: plain text, HTML alternative, unsubscribe headers."""
    domain = parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost"
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["Subject"] = mail.subject
    message["From"] = (
        formataddr((mail.sender_name, parseaddr(settings.mail_from)[1]))
        if mail.sender_name
        else settings.mail_from
    )
    message["To"] = mail.recipient
    message["Date"] = format_datetime(utcnow())
    # Stable across retries, so a mail delivered twice after a crash is recognisably one mail.
    message["Message-ID"] = f"<outbox.{mail.id}.{int(mail.created.timestamp())}@{domain}>"
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies, please
    if mail.unsubscribe_url:
        # Raw: folded, a long URL would become an RFC 2047 encoded-word no client unsubscribes.
        message.set_raw("List-Unsubscribe", f"<{mail.unsubscribe_url}>")
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"  # RFC 8058
    message.set_content(mail.text_body)
    if mail.html_body:
        message.add_alternative(mail.html_body, subtype="html")
    return message


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff with a little jitter, so many processes do not retry in step."""
    seconds = min(RETRY_FIRST_SECONDS * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS)
    return timedelta(seconds=seconds * (1 + random.random() / 10))  # noqa: S311  (not crypto)


def describe(settings: Settings, exc: BaseException) -> str:
    """The error as stored and logged: never with the SMTP password in it."""
    text = f"{type(exc).__name__}: {exc}"
    if settings.smtp_password:
        text = text.replace(settings.smtp_password, "[hidden]")
    return text[:ERROR_LENGTH]


def lease(settings: Settings) -> timedelta:
    """How long a claimed mail is left to its sender: connect, TLS, login, data, each may wait."""
    return timedelta(seconds=300 + 10 * settings.smtp_timeout)


def claim(
    session: Session, settings: Settings, mail_id: int, seen: datetime, now: datetime
) -> OutboxMail | None:
    """Take one due mail for this process, or None when another process took it first."""
    result = session.execute(
        update(OutboxMail)
        .where(
            OutboxMail.id == mail_id,
            OutboxMail.status == MailStatus.queued,
            OutboxMail.next_attempt == seen,
        )
        .values(attempts=OutboxMail.attempts + 1, next_attempt=now + lease(settings))
        .execution_options(synchronize_session=False)
    )
    session.commit()
    if cast("CursorResult[Any]", result).rowcount != 1:
        return None
    return session.get(OutboxMail, mail_id)


def _record_failure(
    session: Session,
    settings: Settings,
    mail: OutboxMail,
    exc: BaseException,
    now: datetime,
    *,
    permanent: bool,
) -> bool:
    """Schedule the next try, or give up; True when the mail is given up."""
    mail.last_error = describe(settings, exc)
    give_up = permanent or mail.attempts >= settings.mail_max_attempts
    if give_up:
        mail.status = MailStatus.failed
        log.error(
            "mail %s given up after %d attempt(s): %s", mail.id, mail.attempts, mail.last_error
        )
    else:
        mail.next_attempt = now + retry_delay(mail.attempts)
        log.warning(
            "mail %s: attempt %d failed, next at %s: %s",
            mail.id,
            mail.attempts,
            mail.next_attempt.isoformat(timespec="seconds"),
            mail.last_error,
        )
    _commit(session, mail.id)
    return give_up


def send_batch(
    session: Session,
    settings: Settings,
    transport: Transport,
    now: datetime,
    limit: int = BATCH,
) -> SendReport:
    """Send up to `limit` due mails; stop early when the mail server cannot be reached."""
    report = SendReport()
    due = session.execute(
        select(OutboxMail.id, OutboxMail.next_attempt)
        .where(OutboxMail.status == MailStatus.queued, OutboxMail.next_attempt <= now)
        .order_by(OutboxMail.next_attempt, OutboxMail.id)
        .limit(limit)
    ).all()
    session.rollback()  # end the read transaction; each claim is its own short one
    for mail_id, seen in due:
        mail = claim(session, settings, mail_id, seen, now)
        if mail is None:
            continue
        try:
            message = build_message(settings, mail)
        except (ValueError, TypeError) as exc:  # a header no retry will make encodable
            _count(report, _record_failure(session, settings, mail, exc, now, permanent=True))
            continue
        try:
            transport.send(mail, message)
        except MESSAGE_ERRORS as exc:
            transport.reset()
            _count(
                report,
                _record_failure(session, settings, mail, exc, now, permanent=_is_permanent(exc)),
            )
            continue
        except Exception as exc:  # server down, timed out, login refused: try again later
            transport.reset()
            _count(report, _record_failure(session, settings, mail, exc, now, permanent=False))
            report.server_down = True  # the rest wait for the next pass, their tries unspent
            break
        mail.status = MailStatus.sent
        mail.sent = utcnow()
        if _commit(session, mail.id):
            report.sent += 1
            log.info("mail %s sent (attempt %d)", mail.id, mail.attempts)
    return report


def _commit(session: Session, mail_id: int) -> bool:
    """Record a mail's outcome; False when the mail was erased meanwhile (nothing to record)."""
    try:
        session.commit()
    except StaleDataError:
        session.rollback()
        log.info("mail %s was erased while it was being sent", mail_id)
        return False
    return True


def _count(report: SendReport, given_up: bool) -> None:
    if given_up:
        report.failed += 1
    else:
        report.retrying += 1


def _is_permanent(exc: Exception) -> bool:
    """A refusal of this message that no retry will change (a 5xx answer, or SMTPUTF8 needed)."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _ in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return True


def send_due(session: Session, settings: Settings, *, now: datetime | None = None) -> SendReport:
    """Queue what has come due (see upkeep), then send every mail that is due at `now`
    (default: the current time), batch after batch."""
    now = now or utcnow()
    before_pass(session, settings, now)
    report = SendReport()
    transport = open_transport(settings)
    try:
        while True:
            batch = send_batch(session, settings, transport, now)
            report.add(batch)
            if batch.server_down or batch.handled == 0:
                break
    finally:
        transport.close()
    return report
