"""Sites: the blogs one install serves, each with its own origins, policy, rules, moderators
and mail. A site's unset settings are the install's (COMMENTSVC_*), so one site behaves
exactly as the install did before there were several."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, bindparam, delete, or_, select
from sqlalchemy.orm import Session

from .audit import record
from .config import Settings, _addresses, _origins, _policy, _whole
from .errors import NotFound, UnknownSite, ValidationFailed
from .models import Moderator, ModeratorSite, Role, Site

DEFAULT_SITE = "default"
NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?")


def _text(value: str) -> str | None:
    return value.strip()[:200] or None


# What `site set NAME KEY VALUE` takes: key -> (column, parser, the Settings attribute it
# overrides)
SETTABLE: dict[str, tuple[str, Callable[[str], Any], str | None]] = {
    "title": ("title", _text, None),
    "origins": ("origins", _origins, "allowed_origins"),
    "moderation": ("moderation", _policy, "moderation"),
    "max-links": ("max_links", _whole, "max_links"),
    "alert-emails": ("alert_emails", _addresses, "moderator_emails"),
    "sender-name": ("sender_name", _text, "mail_sender_name"),
}
_JSON_COLUMNS = {"origins", "alert_emails"}


def get(session: Session, name: str) -> Site | None:
    return session.get(Site, name) if isinstance(name, str) and NAME.fullmatch(name) else None


def require(session: Session, name: str) -> Site:
    site = get(session, name)
    if site is None:
        raise NotFound(f"No site named {name!r}.")
    return site


def names(session: Session) -> list[str]:
    return list(session.execute(select(Site.name).order_by(Site.name)).scalars())


def overrides(site: Site) -> dict[str, Any]:
    """The install settings this site sets for itself, by Settings attribute, and its title."""
    found: dict[str, Any] = {"site_title": site.title}
    for column, _, setting in SETTABLE.values():
        value = getattr(site, column)
        if setting is None or value is None:
            continue
        found[setting] = tuple(json.loads(value)) if column in _JSON_COLUMNS else value
    return found


def settings(install: Settings, site: Site) -> Settings:
    """The settings that apply on one site: its own, then the install's."""
    return install.for_site(site.name, overrides(site))


def settings_for(session: Session, base: Settings, name: str) -> Settings:
    """The settings of the site called `name`; UnknownSite (400) when there is none."""
    if base.site == name:
        return base  # already the site's
    site = get(session, name)
    if site is None:
        raise UnknownSite()
    return settings(base, site)


# Readers' requests look their site up in a per-process copy kept a few seconds, read with
# one statement on a plain connection: a change (`site set`) reaches every process within
# CACHE_SECONDS; this process's own changes at once.
CACHE_SECONDS = 2.0
# Each entry: when it was read, the site's own values (None: no such site), and the settings
# built from them over the install's (kept while the install's are the same object).
_Built = tuple[Settings, Settings] | None  # (the install's, the site's built over them)
_cached: dict[tuple[str, str], tuple[float, dict[str, Any] | None, _Built]] = {}
_SITE_ROW = select(Site).where(Site.name == bindparam("name"))


def cached_settings(
    install: Settings, name: str, read: Callable[..., Any], now: float | None = None
) -> Settings:
    """Like settings_for, for the read path; `read(fn)` runs fn on a connection."""
    now = time.monotonic() if now is None else now
    key = (install.database_url, name)
    hit = _cached.get(key)
    if hit is None or now - hit[0] > CACHE_SECONDS:
        found = None
        if NAME.fullmatch(name):
            row = read(lambda conn: conn.execute(_SITE_ROW, {"name": name}).first())
            found = overrides(row) if row is not None else None
        if len(_cached) > 1000:
            _cached.clear()
        hit = _cached[key] = (now, found, None)
    read_at, own, built = hit
    if own is None:
        raise UnknownSite()
    if built is None or built[0] is not install:
        built = (install, install.for_site(name, own))
        _cached[key] = (read_at, own, built)
    return built[1]


def on_site(current: Settings, comment: Any) -> bool:
    """Whether a comment belongs to the site whose settings these are (a request for one site
    never reaches another's comments; the install's settings reach every site's)."""
    return current.site is None or comment.thread.site == current.site


def forget_cached() -> None:
    _cached.clear()


def add(
    session: Session,
    name: str,
    *,
    origins: Sequence[str],
    title: str | None = None,
    moderation: str | None = None,
    actor: Moderator | str = "command line",
) -> Site:
    if not NAME.fullmatch(name or ""):
        rule = "A site's name is 1 to 40 lowercase letters, digits and hyphens, like docs-site."
        raise ValidationFailed({"name": [rule]})
    if session.get(Site, name) is not None:
        raise ValidationFailed({"name": [f"A site named {name} exists already."]})
    site = Site(
        name=name,
        title=title,
        origins=json.dumps(origins) if origins else None,
        moderation=moderation,
    )
    session.add(site)
    record(session, actor, "site add", f"site {name}", ", ".join(origins))
    session.flush()
    forget_cached()
    return site


def set_value(
    session: Session, site: Site, key: str, value: str, actor: Moderator | str = "command line"
) -> None:
    """Set one of the site's settings from text; an empty value goes back to the install's."""
    if key not in SETTABLE:
        raise ValidationFailed({"key": [f"Unknown key {key!r}; one of {', '.join(SETTABLE)}."]})
    column, parse, _ = SETTABLE[key]
    if value.strip() == "":
        parsed = None
    else:
        try:
            parsed = parse(value)
        except ValueError:
            raise ValidationFailed({"value": [f"{value!r} is not a valid {key}."]}) from None
        if column in _JSON_COLUMNS:
            parsed = json.dumps(parsed) if parsed else None
    setattr(site, column, parsed)
    record(session, actor, "site set", f"site {site.name}", f"{key} = {value!r}"[:200])
    forget_cached()


def moderator_sites(session: Session, moderator: Moderator) -> list[str] | None:
    """The sites a moderator may act on; None for an admin (every site). A moderator given no
    site moderates the default one, as every moderator did before there were several."""
    if moderator.is_admin:
        return None
    return list(
        session.execute(
            select(ModeratorSite.site)
            .where(ModeratorSite.moderator_id == moderator.id)
            .order_by(ModeratorSite.site)
        ).scalars()
    ) or [DEFAULT_SITE]


def moderates(site: str) -> ColumnElement[bool]:
    """A condition on Moderator: this account moderates `site`."""
    assigned = select(ModeratorSite.moderator_id).where(ModeratorSite.site == site)
    if site != DEFAULT_SITE:
        return or_(Moderator.role == Role.admin, Moderator.id.in_(assigned))
    unassigned = (
        ~select(ModeratorSite.moderator_id)
        .where(ModeratorSite.moderator_id == Moderator.id)
        .exists()
    )
    return or_(Moderator.role == Role.admin, Moderator.id.in_(assigned), unassigned)


def grant(session: Session, moderator: Moderator, site_names: list[str]) -> None:
    for name in site_names:
        require(session, name)
        if session.get(ModeratorSite, (moderator.id, name)) is None:
            session.add(ModeratorSite(moderator_id=moderator.id, site=name))


def sites_by_moderator(session: Session) -> dict[int, list[str]]:
    """Every moderator's sites, as moderator_sites answers for each (admins absent)."""
    found: dict[int, list[str]] = {}
    rows = session.execute(
        select(Moderator.id, ModeratorSite.site)
        .outerjoin(ModeratorSite, ModeratorSite.moderator_id == Moderator.id)
        .where(Moderator.role != Role.admin)
        .order_by(Moderator.id, ModeratorSite.site)
    )
    for moderator_id, site in rows:
        found.setdefault(moderator_id, [])
        if site is not None:
            found[moderator_id].append(site)
    return {moderator_id: names or [DEFAULT_SITE] for moderator_id, names in found.items()}


def assign(
    session: Session, actor: Moderator | str, moderator: Moderator, site_names: list[str]
) -> None:
    """Make `site_names` the sites a moderator moderates, in place of those before."""
    if moderator.is_admin:
        raise ValidationFailed({"sites": ["An admin moderates every site."]})
    wanted = sorted(set(site_names))
    if not wanted:
        raise ValidationFailed({"sites": ["Choose at least one site."]})
    unknown = [name for name in wanted if get(session, name) is None]
    if unknown:
        raise ValidationFailed({"sites": [f"No site named {', '.join(unknown)}."]})
    session.execute(
        delete(ModeratorSite).where(
            ModeratorSite.moderator_id == moderator.id, ModeratorSite.site.not_in(wanted)
        )
    )
    grant(session, moderator, wanted)
    record(session, actor, "moderator sites", f"moderator {moderator.id}", ", ".join(wanted))
