"""`commentsvc check`: is this installation ready to serve? One line per check, with the fix."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from flask import Flask

from .config import INSTANCE_PATH, SETTINGS, Settings, load, problems, settings_of
from .errors import BadSetting
from .serve import schema_problem


@dataclass
class Check:
    name: str
    problem: str | None  # None: ok
    skipped: str | None = None  # why it did not run: a bad setting it needs

    def line(self) -> str:
        if self.skipped:
            return f"{self.name}: skipped until {self.skipped} is fixed"
        return f"{self.name}: {'ok' if self.problem is None else self.problem}"


# The settings each check needs; a bad one skips the check (the settings line names it).
NEEDS = {
    "database schema": ("COMMENTSVC_DATABASE_URL", INSTANCE_PATH),
    "redis": ("COMMENTSVC_REDIS_URL",),
    "mail server": tuple(s.env for s in SETTINGS if s.key.startswith("SMTP_")),
    "allowed origins": ("COMMENTSVC_ALLOWED_ORIGINS",),
}


def run_checks(environ: Mapping[str, str]) -> Iterator[Check]:
    """Every setting is read (all the bad ones are named on the settings line); then every
    service the configuration names is reached, and the schema compared with the release.
    A check that needs a bad setting is skipped; the others run with the defaults in place."""
    from .app import create_app, instance_folder

    bad, defaults = problems(instance_folder(), environ)
    named = {exc.variable for exc in bad}
    yield Check("settings", _settings_problem(bad))
    app: Flask | None
    try:
        app = create_app(defaults)
    except BadSetting:  # the instance folder, named on the settings line
        app = None
    with tempfile.TemporaryDirectory() as elsewhere:
        if app is None:  # the other settings, read with a throwaway folder in its place
            others = {k: v for k, v in environ.items() if k != INSTANCE_PATH}
            settings = load(elsewhere, defaults, others)
        else:
            settings = settings_of(app)
        for name, work in _services(app, settings, environ):
            skip = next((v for v in NEEDS.get(name, ()) if v in named), None)
            yield Check(name, None, skip) if skip else Check(name, work())


def _settings_problem(bad: list[BadSetting]) -> str | None:
    if not bad:
        return None
    return "; ".join(map(str, bad)) + "; set each to what is allowed, or unset it for the default"


def _services(
    app: Flask | None, settings: Settings, environ: Mapping[str, str]
) -> Iterator[tuple[str, Callable[[], str | None]]]:
    """The checks after the settings, by name, each with the work that finds its problem.
    Redis is checked when its variable is set, even to a bad value (then it is skipped)."""
    yield "database schema", lambda: schema_problem(app) if app else None
    redis_url = settings.redis_url or ""
    if redis_url or environ.get("COMMENTSVC_REDIS_URL"):
        yield "redis", lambda: _attempt(lambda: _redis(redis_url), REDIS_FIX)
    if settings.smtp_host:
        yield "mail server", lambda: _attempt(lambda: _smtp(settings), SMTP_FIX)
    if not settings.allowed_origins:
        yield "allowed origins", lambda: NO_ORIGINS


REDIS_FIX = "check COMMENTSVC_REDIS_URL and that Redis runs"
SMTP_FIX = "check COMMENTSVC_SMTP_HOST, _PORT, _STARTTLS and the login"
NO_ORIGINS = "none: no blog can show comments; set COMMENTSVC_ALLOWED_ORIGINS to your blog's origin"


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
