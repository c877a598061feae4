"""Every setting: its environment variable, its default, and how it is parsed."""

from __future__ import annotations

import os
import re
import secrets
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app
from limits import parse_many
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .errors import BadSetting
from .i18n import LANGUAGES, parse_language

# Read by the app factory (Flask takes the folder when the app is made), checked here.
INSTANCE_PATH = "COMMENTSVC_INSTANCE_PATH"
MODERATION_POLICIES = ("all", "first-time", "none")
SPAM_FILTER_MODES = ("off", "learn", "on")


# Each parser raises ValueError for a value it cannot take; ALLOWED says what it takes.
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _bool(value: str) -> bool:
    word = value.strip().lower()
    if word not in _TRUE + _FALSE:
        raise ValueError(value)
    return word in _TRUE


def _whole(value: str) -> int:
    number = int(value.strip())  # ValueError for "15min", "1.5"
    if number < 0:
        raise ValueError(value)
    return number


def _seconds(value: str) -> int:
    return _whole(value)


def _delay(value: str) -> int:
    """Seconds to wait in a process: at most an hour (a sleep of years would never end)."""
    seconds = _whole(value)
    if seconds > 3600:
        raise ValueError(value)
    return seconds


# An address as a mail header carries it; the domain may be a bare host name (localhost).
_ADDRESS = r"[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\".]+(?:\.[^@\s<>()\[\],;:\".]+)*"
_ADDRESS_ALONE = re.compile(_ADDRESS)
_ADDRESS_NAMED = re.compile(rf"[^<>@]*<{_ADDRESS}>")


def _sender(value: str) -> str:
    value = value.strip()
    if not (_ADDRESS_ALONE.fullmatch(value) or _ADDRESS_NAMED.fullmatch(value)):
        raise ValueError(value)
    return value


def _addresses(value: str) -> tuple[str, ...]:
    addresses = _list(value)
    for address in addresses:
        if not _ADDRESS_ALONE.fullmatch(address):
            raise ValueError(address)
    return addresses


def _redis(value: str) -> str:
    if urlsplit(value.strip()).scheme not in ("redis", "rediss", "unix"):
        raise ValueError(value)
    return value.strip()


def _list(value: str) -> tuple[str, ...]:
    return tuple(item.strip().rstrip("/") for item in value.split(",") if item.strip())


def _origins(value: str) -> tuple[str, ...]:
    origins = _list(value)
    for origin in origins:
        parts = urlsplit(origin)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise ValueError(origin)
    return origins


def _url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(value)
    return value.strip().rstrip("/")


def _database(value: str) -> str:
    try:
        make_url(value.strip())
    except ArgumentError:
        raise ValueError(value) from None
    return value.strip()


def _limits(value: str) -> str:
    parse_many(value)
    return value


def _policy(value: str) -> str:
    value = value.strip().lower()
    if value not in MODERATION_POLICIES:
        raise ValueError(value)
    return value


def _filter_mode(value: str) -> str:
    value = value.strip().lower()
    if value not in SPAM_FILTER_MODES:
        raise ValueError(value)
    return value


def _fraction(value: str) -> float:
    number = float(value.strip())
    if not 0.0 < number <= 1.0:
        raise ValueError(value)
    return number


ALLOWED: dict[Callable[[str], Any], str] = {
    _bool: "true or false (also 1 or 0, yes or no, on or off)",
    _whole: "a whole number",
    _seconds: "a whole number of seconds",
    _delay: "a whole number of seconds from 0 to 3600",
    _origins: "a comma-separated list of origins like https://blog.example (no path)",
    _url: "an http:// or https:// URL",
    _redis: "a URL like redis://127.0.0.1:6379/0",
    _sender: "an e-mail address, like comments@blog.example or Blog <comments@blog.example>",
    _addresses: "a comma-separated list of e-mail addresses, like ann@blog.example",
    _database: "a database URL like "
    "postgresql+psycopg://user@host/db or sqlite:////path/file.sqlite3",
    _limits: 'rate limits like "5 per minute;50 per hour"',
    _policy: f"one of {', '.join(MODERATION_POLICIES)}",
    _filter_mode: f"one of {', '.join(SPAM_FILTER_MODES)}",
    _fraction: "a number above 0 and at most 1, like 0.9",
    parse_language: "one of the supported languages: "
    + ", ".join(language.tag for language in LANGUAGES),
}


@dataclass(frozen=True)
class Setting:
    key: str  # the Flask config key; the env var is COMMENTSVC_<key>
    default: Any
    parse: Callable[[str], Any] = str
    doc: str = ""

    @property
    def env(self) -> str:
        return f"COMMENTSVC_{self.key}"

    @property
    def attr(self) -> str:
        """Its attribute on Settings."""
        return self.key.lower()


SETTINGS: tuple[Setting, ...] = (
    Setting(
        "DATABASE_URL",
        None,
        _database,
        "SQLAlchemy URL; default: SQLite file in the instance folder",
    ),
    Setting(
        "SECRET_KEY", None, str, "signing key; default: generated once, kept in the instance folder"
    ),
    Setting("ALLOWED_ORIGINS", (), _origins, "comma-separated origins allowed to embed and post"),
    Setting("PUBLIC_URL", "http://127.0.0.1:8080", _url, "the service's base URL"),
    Setting("MODERATION", "first-time", _policy, "all | first-time | none"),
    Setting(
        "LANGUAGE",
        "en",
        parse_language,
        "language of moderators' mails and of readers whose language is not known",
    ),
    Setting("REDIS_URL", None, _redis, "Redis for rate limits shared by several processes"),
    Setting("EDIT_WINDOW", 900, _seconds, "seconds a reader may edit or delete their comment"),
    Setting(
        "MIN_SUBMIT_SECONDS", 3, _seconds, "a post sooner than this after the form loaded is spam"
    ),
    Setting("FORM_TOKEN_MAX_AGE", 86400, _seconds, "seconds a form token stays valid"),
    Setting(
        "PUBLIC_MAX_AGE",
        5,
        _seconds,
        "seconds browsers and shared caches may keep public reads (threads, counts, feeds)",
    ),
    Setting("RATELIMIT_ENABLED", True, _bool, "false only for load tests"),
    Setting("RATELIMIT_POST", "5 per minute;50 per hour", _limits, "comment posts per address"),
    Setting("RATELIMIT_EDIT", "20 per minute", _limits, "edits and deletes per address"),
    Setting("RATELIMIT_PREVIEW", "60 per minute", _limits, "previews per address"),
    Setting("RATELIMIT_VOTE", "30 per minute;300 per hour", _limits, "votes per address"),
    Setting("MAX_BODY_BYTES", 65536, _whole, "largest request body accepted"),
    Setting("MAX_TEXT_LENGTH", 10000, _whole, "longest comment text, in characters"),
    Setting("TRUSTED_PROXIES", 0, _whole, "how many proxies in front set X-Forwarded-For/-Proto"),
    Setting("MAX_LINKS", 2, _whole, "a comment with more links than this is held for review"),
    Setting(
        "RATELIMIT_LOGIN",
        "5 per minute;20 per hour",
        _limits,
        "failed logins for one account from one address",
    ),
    Setting(
        "RATELIMIT_LOGIN_ADDRESS",
        "20 per minute;100 per hour",
        _limits,
        "failed moderator logins per address, whatever the account",
    ),
    Setting("ADMIN_IDLE_MINUTES", 120, _whole, "a moderator's session ends after this long unused"),
    Setting(
        "ADMIN_SESSION_DAYS", 7, _whole, "a moderator's session ends this long after the login"
    ),
    Setting("SMTP_HOST", None, str, "mail server; unset: mails are written to the log"),
    Setting("SMTP_PORT", 587, _whole, "mail server port"),
    Setting("SMTP_USERNAME", None, str, "mail server login"),
    Setting("SMTP_PASSWORD", None, str, "mail server password"),
    Setting("SMTP_STARTTLS", True, _bool, "upgrade the mail connection with STARTTLS"),
    Setting("SMTP_TIMEOUT", 10, _seconds, "seconds to wait for the mail server"),
    Setting("MAIL_FROM", "commentsvc@localhost", _sender, "sender address of every mail"),
    Setting(
        "MAIL_SENDER_NAME",
        None,
        str,
        "the name mails are sent under (the From line), e.g. the blog's name",
    ),
    Setting(
        "MODERATOR_EMAILS", (), _addresses, "comma-separated addresses alerted of held comments"
    ),
    Setting(
        "MAIL_BACKGROUND",
        True,
        _bool,
        "send mail from a thread in each app process (false: run `commentsvc send-mail`)",
    ),
    Setting("MAIL_MAX_ATTEMPTS", 8, _whole, "tries before a mail is given up"),
    Setting(
        "DUPLICATE_WINDOW",
        3600,
        _seconds,
        "seconds in which the same text from the same source is spam (0: off)",
    ),
    Setting("RATELIMIT_THREAD", "30 per minute", _limits, "new comments per thread, from everyone"),
    Setting(
        "RATELIMIT_FORM_TOKEN",
        "60 per minute",
        _limits,
        "form tokens per address: GET /api/form-token and the no-JS page's form together",
    ),
    Setting(
        "SPAM_FILTER",
        "on",
        _filter_mode,
        "the local spam filter: on (acts once it has learned), learn (only scores), off",
    ),
    Setting(
        "SPAM_FILTER_SPAM",
        0.999,
        _fraction,
        "a spam-filter score at or above this marks a comment spam quietly",
    ),
    Setting(
        "SPAM_FILTER_HOLD",
        0.75,
        _fraction,
        "a spam-filter score at or above this holds a comment for review",
    ),
    Setting(
        "SPAM_FILTER_REFIT_DELAY",
        20,
        _delay,
        "seconds a process waits after moderators' decisions before it refits the spam filter",
    ),
    Setting("AKISMET_KEY", None, str, "key for an Akismet-compatible spam check (off when unset)"),
    Setting(
        "AKISMET_ENDPOINT",
        None,
        str,
        "its comment-check URL, e.g. https://KEY.rest.akismet.com/1.1/comment-check",
    ),
    Setting("AKISMET_TIMEOUT", 3, _seconds, "seconds to wait for the spam check"),
    Setting(
        "ADDRESS_RETENTION_DAYS",
        30,
        _whole,
        "stored (anonymised) addresses are dropped after this many days (0: keep)",
    ),
    Setting(
        "ACTION_LINK_MAX_AGE", 7 * 86400, _seconds, "seconds a one-click moderation link works"
    ),
    Setting(
        "ALERTS_PER_HOUR",
        5,
        _whole,
        "held comments mailed to the moderators one by one per hour; beyond, an hourly digest",
    ),
    Setting(
        "OUTBOX_RETENTION_DAYS",
        30,
        _whole,
        "sent and given-up mails are deleted after this many days (0: keep)",
    ),
    Setting(
        "IMPORT_MAX_BYTES",
        20 * 1024 * 1024,
        _whole,
        "largest export file the admin import page accepts (the command line has no limit)",
    ),
)


@dataclass(frozen=True)
class Settings:
    """The settings in force, one attribute per row of SETTINGS: the install's, or one site's
    (its own values over the install's). Frozen: a change is a new object (`for_site`,
    `dataclasses.replace`), so no request or thread sees another's."""

    database_url: str
    secret_key: str
    allowed_origins: tuple[str, ...]
    public_url: str
    moderation: str
    language: str
    redis_url: str | None
    edit_window: int
    min_submit_seconds: int
    form_token_max_age: int
    public_max_age: int
    ratelimit_enabled: bool
    ratelimit_post: str
    ratelimit_edit: str
    ratelimit_preview: str
    ratelimit_vote: str
    max_body_bytes: int
    max_text_length: int
    trusted_proxies: int
    max_links: int
    ratelimit_login: str
    ratelimit_login_address: str
    admin_idle_minutes: int
    admin_session_days: int
    smtp_host: str | None
    smtp_port: int
    smtp_username: str | None
    smtp_password: str | None
    smtp_starttls: bool
    smtp_timeout: int
    mail_from: str
    mail_sender_name: str | None
    moderator_emails: tuple[str, ...]
    mail_background: bool
    mail_max_attempts: int
    duplicate_window: int
    ratelimit_thread: str
    ratelimit_form_token: str
    spam_filter: str
    spam_filter_spam: float
    spam_filter_hold: float
    spam_filter_refit_delay: int
    akismet_key: str | None
    akismet_endpoint: str | None
    akismet_timeout: int
    address_retention_days: int
    action_link_max_age: int
    alerts_per_hour: int
    outbox_retention_days: int
    import_max_bytes: int
    # None: the install's settings, good on every site; a name: that site's (sites.py).
    site: str | None = None
    site_title: str | None = None

    def for_site(self, name: str, overrides: Mapping[str, Any]) -> Settings:
        """The settings of site `name`: its own values (attribute names) over these."""
        return replace(self, site=name, **overrides)


def load(
    instance_path: str,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Read the settings from the environment; fill the defaults that need the instance folder.
    `overrides` (keys as in SETTINGS, like MODERATION) win over the environment; keys that
    are no setting (Flask's own, like TESTING) are left to the caller."""
    environ = os.environ if environ is None else environ
    overrides = overrides or {}
    values: dict[str, Any] = {}
    for setting in SETTINGS:
        if setting.key in overrides:
            value = overrides[setting.key]
        else:
            raw = environ.get(setting.env)
            value = setting.default if raw in (None, "") else _parsed(setting, raw)
        values[setting.attr] = tuple(value) if isinstance(value, list) else value
    if values["spam_filter_hold"] > values["spam_filter_spam"]:
        raise BadSetting(
            "COMMENTSVC_SPAM_FILTER_HOLD: must not be above "
            "COMMENTSVC_SPAM_FILTER_SPAM (a comment is held before it is marked)"
        )
    if environ.get(INSTANCE_PATH) or not values["database_url"] or not values["secret_key"]:
        _usable_folder(Path(instance_path))
    if not values["database_url"]:
        values["database_url"] = "sqlite:///" + str(Path(instance_path) / "commentsvc.sqlite3")
    if not values["secret_key"]:
        values["secret_key"] = _instance_secret(Path(instance_path))
    return Settings(**values)


def problems(
    instance_path: str, environ: Mapping[str, str]
) -> tuple[list[BadSetting], dict[str, Any]]:
    """Every bad setting (not only the first, as `load` stops at), for `commentsvc check`; and
    overrides for `load` that put the defaults in the bad ones' place, so the checks that do
    not depend on them can still run."""
    found: list[BadSetting] = []
    defaults: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env)
        if raw in (None, ""):
            continue
        try:
            _parsed(setting, raw)
        except BadSetting as exc:
            found.append(exc)
            defaults[setting.key] = setting.default
    for _ in range(2):  # the two checks across settings: the spam thresholds, the folder
        try:
            load(instance_path, defaults, environ)
            break
        except BadSetting as exc:
            found.append(exc)
            if exc.variable != "COMMENTSVC_SPAM_FILTER_HOLD":
                break  # the instance folder, which no default can replace
            defaults.update(
                {s.key: s.default for s in SETTINGS if s.key.startswith("SPAM_FILTER_")}
            )
    return found, defaults


def current_settings() -> Settings:
    """The install's settings, kept by the app handling this request or command."""
    return settings_of(current_app)


def settings_of(app: Flask) -> Settings:
    settings: Settings = app.extensions["commentsvc"]
    return settings


def _parsed(setting: Setting, raw: str) -> Any:
    try:
        return setting.parse(raw)
    except ValueError:
        allowed = ALLOWED.get(setting.parse, "a valid value")
        # URLs of databases may hold a password: never repeated in a message or a log.
        given = "the value given" if setting.parse in (_database, _redis) else repr(raw)
        raise BadSetting(f"{setting.env}: {given} is not {allowed}") from None


def _usable_folder(folder: Path) -> None:
    """The instance folder exists (or is made now) and this process can write in it."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise BadSetting(
            f"{INSTANCE_PATH}: {str(folder)!r} is not a folder this service can create and "
            f"write to ({exc.strerror or type(exc).__name__})"
        ) from None


def _instance_secret(instance: Path) -> str:
    """The generated secret key, created on first use and kept readable by the owner only."""
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key)
    return key
