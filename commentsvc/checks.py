"""`commentsvc check`: is this installation ready to serve? One line per check, with the fix."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from flask import Flask

from .config import Settings, settings_of
from .serve import schema_problem


@dataclass
class Check:
    name: str
    problem: str | None  # None: ok

    def line(self) -> str:
        return f"{self.name}: {'ok' if self.problem is None else self.problem}"


def run_checks(app: Flask) -> Iterator[Check]:
    """Settings were read when the app was made (a bad one stops before this); then every
    service the configuration names is reached, and the schema compared with the release."""
    yield Check("settings", None)
    yield Check("database schema", schema_problem(app))
    settings = settings_of(app)
    if redis_url := settings.redis_url:
        yield Check(
            "redis",
            _attempt(
                lambda: _redis(redis_url),
                "check COMMENTSVC_REDIS_URL and that Redis runs",
            ),
        )
    if settings.smtp_host:
        yield Check(
            "mail server",
            _attempt(
                lambda: _smtp(settings),
                "check COMMENTSVC_SMTP_HOST, _PORT, _STARTTLS and the login",
            ),
        )
    if not settings.allowed_origins:
        yield Check(
            "allowed origins",
            "none: no blog can show comments; set COMMENTSVC_ALLOWED_ORIGINS to your blog's origin",
        )


def _attempt(work: Callable[[], None], fix: str) -> str | None:
    try:
        work()
    except Exception as exc:  # noqa: BLE001 - any failure is the answer, named for the owner
        return f"not reachable ({type(exc).__name__}); {fix}"
    return None


def _redis(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    finally:
        client.close()


def _smtp(settings: Settings) -> None:
    from .mail.sender import SMTPTransport

    transport = SMTPTransport(settings)
    smtp = transport._connect()
    try:
        smtp.noop()
    finally:
        smtp.quit()
