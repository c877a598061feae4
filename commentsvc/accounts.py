"""Moderator accounts: creating them, logging in and the server-side sessions, display names."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, TypeGuard, cast

from sqlalchemy import CursorResult, delete, func, or_, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from .audit import record
from .config import Settings
from .errors import NotFound, ValidationFailed
from .models import AdminSession, Moderator, Role, utcnow
from .validation import EMAIL, clean_name

MIN_PASSWORD, MAX_PASSWORD, MAX_NAME = 10, 200, 80
TOUCH_EVERY = timedelta(minutes=1)  # last_seen is written at most this often


@cache
def _dummy_hash() -> str:
    """A real hash to check a password against when the account does not exist, so that the
    time to answer does not tell which names exist. Made on the first check, not on import: a
    hash takes about 100 ms and 32 MiB (scrypt), which every process paid at start-up."""
    return generate_password_hash("not a real password")


# --- logging in ---------------------------------------------------------------------------------


def normalise_login(identifier: str) -> str:
    """A typed name or e-mail address as the login compares it."""
    return identifier.strip().lower()


def _has_control(value: str) -> bool:
    return any(unicodedata.category(ch).startswith("C") for ch in value)


def find_for_login(session: Session, identifier: str) -> Moderator | None:
    """The account a login name or e-mail address names (a name match wins over an e-mail)."""
    wanted = normalise_login(identifier)
    if _has_control(wanted):  # no account has one, and PostgreSQL refuses a NUL
        return None
    found = list(
        session.execute(
            select(Moderator).where(
                or_(func.lower(Moderator.name) == wanted, func.lower(Moderator.email) == wanted)
            )
        ).scalars()
    )
    found.sort(key=lambda m: (m.name.lower() != wanted, m.id))
    return found[0] if found else None


def password_matches(moderator: Moderator | None, password: str) -> TypeGuard[Moderator]:
    """Whether the password is the account's; as slow for no account as for one."""
    dummy = _dummy_hash()  # made by the first check whether the account exists or not
    stored = moderator.password_hash if moderator is not None else dummy
    return check_password_hash(stored, password) and moderator is not None


def throttle_subject(moderator: Moderator | None, identifier: str) -> str:
    """What failed logins are counted against: the account whichever way it was named, or the
    typed name itself when there is no such account (the counters look alike either way)."""
    if moderator is not None:
        return f"account:{moderator.id}"
    digest = hashlib.sha256(normalise_login(identifier).encode("utf-8", "replace"))
    return "unknown:" + digest.hexdigest()[:32]


# --- server-side sessions -----------------------------------------------------------------------


@dataclass(frozen=True)
class SessionPolicy:
    """How long a login lasts: unused for `idle`, and at all for `lifetime`."""

    idle: timedelta
    lifetime: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        return cls(
            idle=timedelta(minutes=settings.admin_idle_minutes),
            lifetime=timedelta(days=settings.admin_session_days),
        )


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def start_session(session: Session, moderator: Moderator, now: datetime | None = None) -> str:
    """A new login for the moderator; returns the token for the cookie (only its digest is
    stored, so a copy of the database opens no session)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    session.add(
        AdminSession(id=_digest(token), moderator_id=moderator.id, created=now, last_seen=now)
    )
    return token


def log_in(session: Session, moderator: Moderator, policy: SessionPolicy) -> str:
    """Record a successful login and start its session; returns the cookie's token."""
    now = utcnow()
    prune_sessions(session, policy, now)
    moderator.last_login = now
    record(session, moderator, "login", f"moderator {moderator.id}")
    return start_session(session, moderator, now)


def session_moderator(
    session: Session,
    user_id: str,
    token: object,
    policy: SessionPolicy,
    now: datetime | None = None,
) -> tuple[Moderator | None, bool]:
    """The active moderator whose live session the token is, and whether its last_seen was
    written now (the caller commits); (None, False) for anything else."""
    user_id = str(user_id)
    if not isinstance(token, str) or not 20 <= len(token) <= 100 or not user_id.isdigit():
        return None, False
    now = now or utcnow()
    digest = _digest(token)
    row = session.execute(
        select(Moderator, AdminSession.last_seen)
        .join(AdminSession, AdminSession.moderator_id == Moderator.id)
        .where(
            AdminSession.id == digest,
            Moderator.id == int(user_id),
            Moderator.active,
            AdminSession.last_seen > now - policy.idle,
            AdminSession.created > now - policy.lifetime,
        )
    ).first()
    if row is None:
        return None, False
    moderator, last_seen = row
    if now - last_seen < TOUCH_EVERY:
        return moderator, False
    session.execute(
        update(AdminSession)
        .where(AdminSession.id == digest, AdminSession.last_seen < now - TOUCH_EVERY)
        .values(last_seen=now)
    )
    return moderator, True


def end_session(session: Session, token: object) -> None:
    """Logout: the session the token opened opens nothing any more."""
    if isinstance(token, str):
        session.execute(delete(AdminSession).where(AdminSession.id == _digest(token)))


def end_sessions(session: Session, moderator_id: int) -> int:
    """End every session of a moderator; returns how many there were."""
    return cast(
        "CursorResult[Any]",
        session.execute(delete(AdminSession).where(AdminSession.moderator_id == moderator_id)),
    ).rowcount


def prune_sessions(session: Session, policy: SessionPolicy, now: datetime | None = None) -> int:
    """Drop the sessions that have expired; returns how many."""
    now = now or utcnow()
    return cast(
        "CursorResult[Any]",
        session.execute(
            delete(AdminSession).where(
                or_(
                    AdminSession.last_seen <= now - policy.idle,
                    AdminSession.created <= now - policy.lifetime,
                )
            )
        ),
    ).rowcount


# --- account changes ----------------------------------------------------------------------------


def change_password(session: Session, moderator: Moderator, new_password: str) -> str:
    """Set a new password and end every session of the moderator, issuing this one anew:
    whoever held an old session cookie is logged out. Returns the new session's token."""
    problem = _password_problem(new_password)
    if problem:
        raise ValidationFailed({"new": [problem]})
    moderator.password_hash = generate_password_hash(new_password)
    end_sessions(session, moderator.id)
    record(session, moderator, "password", f"moderator {moderator.id}")
    return start_session(session, moderator)


def set_active(
    session: Session, actor: Moderator | str, moderator: Moderator, active: bool
) -> None:
    """Let a moderator log in again, or stop them: deactivation ends their sessions."""
    moderator.active = active
    if not active:
        end_sessions(session, moderator.id)
    record(
        session,
        actor,
        "activate" if active else "deactivate",
        f"moderator {moderator.id}",
        moderator.name,
    )


def clean_display_name(value: str | None) -> str | None:
    """A display name as stored: composed, without control, invisible or bidirectional
    control characters, spaces collapsed; None when nothing visible is left."""
    if value is None:
        return None
    value = unicodedata.normalize("NFC", value)
    value = "".join(
        " " if ch.isspace() else ch
        for ch in value
        if unicodedata.category(ch) not in ("Cc", "Cs", "Co") or ch.isspace()
    )
    return clean_name(value)


def _names_of_others(session: Session, moderator_id: int | None) -> set[str]:
    """The names other moderators log in with or are shown under, case-folded."""
    rows = session.execute(select(Moderator.id, Moderator.name, Moderator.display_name)).all()
    return {
        name.casefold() for id_, *names in rows if id_ != moderator_id for name in names if name
    }


def _display_name(session: Session, value: str | None, moderator_id: int | None) -> str | None:
    name = clean_display_name(value)
    if name is None:
        return None
    if len(name) > MAX_NAME:
        raise ValidationFailed({"display_name": [f"Must be at most {MAX_NAME} characters."]})
    if name.casefold() in _names_of_others(session, moderator_id):
        raise ValidationFailed({"display_name": ["This is another moderator's name."]})
    return name


def set_display_name(session: Session, moderator: Moderator, value: str | None) -> str | None:
    """Change the name a moderator's public replies are signed with (None: the login name)."""
    name = _display_name(session, value, moderator.id)
    if name != moderator.display_name:
        moderator.display_name = name
        record(session, moderator, "display name", f"moderator {moderator.id}", name)
    return name


def _password_problem(password: str) -> str | None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return f"The password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters."
    return None


def create_moderator(
    session: Session,
    actor: Moderator | str,
    *,
    name: str,
    email: str,
    password: str,
    role: Role = Role.moderator,
    active: bool = True,
    display_name: str | None = None,
    sites: list[str] | None = None,
) -> Moderator:
    """Add a moderator account; raises ValidationFailed with a reason per field. A moderator
    (not an admin, who sees every site) moderates `sites`, by default the default site."""
    name, email = name.strip(), email.strip().lower()
    errors: dict[str, list[str]] = {}
    if not name or len(name) > MAX_NAME or clean_display_name(name) != name:
        errors["name"] = [f"A name of 1 to {MAX_NAME} visible characters is required."]
    if not EMAIL.match(email) or len(email) > 254 or _has_control(email):
        errors["email"] = ["Enter a valid e-mail address."]
    if problem := _password_problem(password):
        errors["password"] = [problem]
    try:
        shown = _display_name(session, display_name, None)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed(errors)
    taken = session.execute(
        select(Moderator.id).where(
            or_(
                func.lower(Moderator.name) == name.lower(),
                func.lower(Moderator.email) == email,
                func.lower(Moderator.display_name) == name.lower(),
            )
        )
    ).first()
    if taken:
        raise ValidationFailed({"name": ["A moderator with this name or e-mail exists."]})
    moderator = Moderator(
        name=name,
        email=email,
        role=role,
        active=active,
        display_name=shown,
        password_hash=generate_password_hash(password),
    )
    session.add(moderator)
    session.flush()
    if role != Role.admin:
        from . import sites as site_rules

        try:
            site_rules.grant(session, moderator, sites or [site_rules.DEFAULT_SITE])
        except NotFound as exc:
            raise ValidationFailed({"sites": [str(exc)]}) from None
    record(
        session,
        actor,
        "add moderator",
        f"moderator {moderator.id}",
        f"{name} ({role.value})" + (f", sites {', '.join(sites)}" if sites else ""),
    )
    return moderator
