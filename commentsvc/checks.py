"""`commentsvc check`: is this installation ready to serve? One line per check, with the fix."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask

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
    config = app.config
    if config["REDIS_URL"]:
        yield Check(
            "redis",
            _attempt(
                lambda: _redis(config["REDIS_URL"]),
                "check COMMENTSVC_REDIS_URL and that Redis runs",
            ),
        )
    if config["SMTP_HOST"]:
        yield Check(
            "mail server",
            _attempt(
                lambda: _smtp(config), "check COMMENTSVC_SMTP_HOST, _PORT, _STARTTLS and the login"
            ),
        )
    if not config["ALLOWED_ORIGINS"]:
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


def _smtp(config: Mapping[str, Any]) -> None:
    from .mail.sender import SMTPTransport

    transport = SMTPTransport(config)
    smtp = transport._connect()
    try:
        smtp.noop()
    finally:
        smtp.quit()
