"""Every setting: its environment variable, its default, and how it is parsed."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MODERATION_POLICIES = ("all", "first-time", "none")


def _bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def _list(value: str) -> list[str]:
    return [item.strip().rstrip("/") for item in value.split(",") if item.strip()]


def _policy(value: str) -> str:
    value = value.strip().lower()
    if value not in MODERATION_POLICIES:
        raise ValueError(f"COMMENTSVC_MODERATION must be one of {', '.join(MODERATION_POLICIES)}")
    return value


@dataclass(frozen=True)
class Setting:
    key: str  # the Flask config key; the env var is COMMENTSVC_<key>
    default: Any
    parse: Callable[[str], Any] = str
    doc: str = ""

    @property
    def env(self) -> str:
        return f"COMMENTSVC_{self.key}"


SETTINGS: tuple[Setting, ...] = (
    Setting("DATABASE_URL", None, str,
            "SQLAlchemy URL; default: SQLite file in the instance folder"),
    Setting("SECRET_KEY", None, str,
            "signing key; default: generated once, kept in the instance folder"),
    Setting("ALLOWED_ORIGINS", [], _list, "comma-separated origins allowed to embed and post"),
    Setting("PUBLIC_URL", "http://127.0.0.1:8080", lambda v: v.rstrip("/"),
            "the service's base URL"),
    Setting("MODERATION", "first-time", _policy, "all | first-time | none"),
    Setting("REDIS_URL", None, str, "Redis for rate limits shared by several processes"),
    Setting("EDIT_WINDOW", 900, int, "seconds a reader may edit or delete their comment"),
    Setting("MIN_SUBMIT_SECONDS", 3, int, "a post sooner than this after the form loaded is spam"),
    Setting("FORM_TOKEN_MAX_AGE", 86400, int, "seconds a form token stays valid"),
    Setting("RATELIMIT_ENABLED", True, _bool, "false only for load tests"),
    Setting("RATELIMIT_POST", "5 per minute;50 per hour", str, "comment posts per address"),
    Setting("RATELIMIT_EDIT", "20 per minute", str, "edits and deletes per address"),
    Setting("RATELIMIT_PREVIEW", "60 per minute", str, "previews per address"),
    Setting("MAX_BODY_BYTES", 65536, int, "largest request body accepted"),
    Setting("MAX_TEXT_LENGTH", 10000, int, "longest comment text, in characters"),
    Setting("TRUSTED_PROXIES", 0, int, "how many proxies in front set X-Forwarded-For/-Proto"),
    Setting("MAX_LINKS", 2, int, "a comment with more links than this is held for review"),
    Setting("RATELIMIT_LOGIN", "5 per minute;20 per hour", str,
            "failed logins for one account from one address"),
    Setting("RATELIMIT_LOGIN_ADDRESS", "20 per minute;100 per hour", str,
            "failed moderator logins per address, whatever the account"),
    Setting("ADMIN_IDLE_MINUTES", 120, int, "a moderator's session ends after this long unused"),
    Setting("ADMIN_SESSION_DAYS", 7, int, "a moderator's session ends this long after the login"),
    Setting("SMTP_HOST", None, str, "mail server; unset: mails are written to the log"),
    Setting("SMTP_PORT", 587, int, "mail server port"),
    Setting("SMTP_USERNAME", None, str, "mail server login"),
    Setting("SMTP_PASSWORD", None, str, "mail server password"),
    Setting("SMTP_STARTTLS", True, _bool, "upgrade the mail connection with STARTTLS"),
    Setting("SMTP_TIMEOUT", 10, int, "seconds to wait for the mail server"),
    Setting("MAIL_FROM", "commentsvc@localhost", str, "sender address of every mail"),
    Setting("MODERATOR_EMAILS", [], _list, "comma-separated addresses alerted of held comments"),
    Setting("MAIL_BACKGROUND", True, _bool,
            "send mail from a thread in each app process (false: run `commentsvc send-mail`)"),
    Setting("MAIL_MAX_ATTEMPTS", 8, int, "tries before a mail is given up"),
    Setting("DUPLICATE_WINDOW", 3600, int,
            "seconds in which the same text from the same source is spam (0: off)"),
    Setting("RATELIMIT_THREAD", "30 per minute", str, "new comments per thread, from everyone"),
    Setting("AKISMET_KEY", None, str, "key for an Akismet-compatible spam check (off when unset)"),
    Setting("AKISMET_ENDPOINT", None, str,
            "its comment-check URL, e.g. https://KEY.rest.akismet.com/1.1/comment-check"),
    Setting("AKISMET_TIMEOUT", 3, int, "seconds to wait for the spam check"),
    Setting("ADDRESS_RETENTION_DAYS", 30, int,
            "stored (anonymised) addresses are dropped after this many days (0: keep)"),
    Setting("ACTION_LINK_MAX_AGE", 7 * 86400, int, "seconds a one-click moderation link works"),
    Setting("ALERTS_PER_HOUR", 5, int,
            "held comments mailed to the moderators one by one per hour; beyond, an hourly digest"),
    Setting("OUTBOX_RETENTION_DAYS", 30, int,
            "sent and given-up mails are deleted after this many days (0: keep)"),
    Setting("IMPORT_MAX_BYTES", 20 * 1024 * 1024, int,
            "largest export file the admin import page accepts (the command line has no limit)"),
)


def load(instance_path: str, overrides: dict[str, Any] | None = None,
         environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Read the settings from the environment; fill the defaults that need the instance folder."""
    environ = os.environ if environ is None else environ
    config: dict[str, Any] = {}
    for setting in SETTINGS:
        raw = environ.get(setting.env)
        config[setting.key] = setting.default if raw in (None, "") else setting.parse(raw)
    config.update(overrides or {})
    if not config["DATABASE_URL"]:
        config["DATABASE_URL"] = "sqlite:///" + str(Path(instance_path) / "commentsvc.sqlite3")
    if not config["SECRET_KEY"]:
        config["SECRET_KEY"] = _instance_secret(Path(instance_path))
    return config


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
