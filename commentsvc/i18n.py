"""The languages readers are served in, and how each page, API answer and mail chooses one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, cast

from babel import Locale
from babel.dates import format_date, format_time, get_datetime_format
from babel.support import NullTranslations, Translations
from babel.units import format_unit
from flask import Flask, Response, g, has_request_context, request
from flask_babel import Domain, get_locale, refresh
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from .extensions import babel

if TYPE_CHECKING:
    from .config import Settings


@dataclass(frozen=True)
class Language:
    """One language readers can be served in, under both of its names."""

    tag: str  # BCP-47, as browsers and the widget write it: "pt-BR"
    locale: str  # the gettext catalogue's name: "pt_BR"
    rtl: bool = False

    @property
    def direction(self) -> str:
        return "rtl" if self.rtl else "ltr"


LANGUAGES: tuple[Language, ...] = (
    Language("en", "en"),
    Language("de", "de"),
    Language("fr", "fr"),
    Language("es", "es"),
    Language("pt-BR", "pt_BR"),
    Language("it", "it"),
    Language("nl", "nl"),
    Language("pl", "pl"),
    Language("ja", "ja"),
    Language("zh-CN", "zh_CN"),
    Language("ar", "ar", rtl=True),
)
SOURCE = LANGUAGES[0]  # the language the messages are written in
_BY_NAME = {
    name.lower(): language for language in LANGUAGES for name in (language.tag, language.locale)
}
# "de-AT" or "pt-PT" reads best in the language of the same primary subtag we have.
_BY_PRIMARY = {language.tag.split("-")[0].lower(): language for language in LANGUAGES}
ADMIN_BLUEPRINT = "admin"  # the moderators' pages are in English only
API_PREFIX = "/api/"
_FROM_HEADER = "commentsvc_language_from_header"  # g flag: this answer read Accept-Language


def find_language(name: object) -> Language | None:
    """The supported language named "pt-BR", "pt_br" or "PT-BR", or None."""
    if not isinstance(name, str):
        return None
    return _BY_NAME.get(name.strip().lower())


def parse_language(value: str) -> str:
    """A setting's language, as its BCP-47 tag; ValueError for one we do not have."""
    language = find_language(value)
    if language is None:
        raise ValueError(value)
    return language.tag


def best_accepted(header: str | None) -> Language | None:
    """The supported language an Accept-Language header prefers most, or None.

    Each range, most wanted first, is tried exactly, then by its primary subtag ("de-AT" is
    German); "*" and ranges refused with q=0 choose nothing, so the site's language applies.
    """
    if not header:
        return None
    return _best_of(header[:1000])


@lru_cache(maxsize=256)  # readers' browsers send few distinct headers
def _best_of(header: str) -> Language | None:
    for value, quality in parse_accept_header(header, LanguageAccept):
        if quality <= 0 or value == "*":
            continue
        value = value.replace("_", "-").lower()
        language = _BY_NAME.get(value) or _BY_PRIMARY.get(value.split("-")[0])
        if language is not None:
            return language
    return None


def site_language(settings: Settings | None = None) -> Language:
    """COMMENTSVC_LANGUAGE: the language of moderators' mails and of anyone we know nothing of."""
    if settings is None:
        from .config import current_settings  # config reads the languages from here

        settings = current_settings()
    return find_language(settings.language) or SOURCE


def requested_language() -> Language | None:
    """A page's explicit ?lang= (unknown values are ignored); the JSON API has none."""
    if not has_request_context() or request.path.startswith(API_PREFIX):
        return None
    return find_language(request.args.get("lang"))


def reader_language() -> Language:
    """The language of this request's reader: ?lang= on a page, else Accept-Language, else
    COMMENTSVC_LANGUAGE. Reading the header marks the response `Vary: Accept-Language`."""
    explicit = requested_language()
    if explicit is not None:
        return explicit
    g.setdefault(_FROM_HEADER, True)
    return best_accepted(request.headers.get("Accept-Language")) or site_language()


def stored_language(lang: str | None, settings: Settings | None = None) -> Language:
    """The language kept with a reader's comment (the page's ?lang= first, when there is a
    request), else COMMENTSVC_LANGUAGE: the language of their mails and the pages those open."""
    return requested_language() or find_language(lang) or site_language(settings)


def select_locale() -> str:
    """Flask-Babel's locale selector."""
    if not has_request_context():
        return site_language().locale  # mails are rendered under force_locale
    if request.blueprint == ADMIN_BLUEPRINT:
        return SOURCE.locale
    return reader_language().locale


def _gettext_names(locale: Locale) -> list[str]:
    # Babel names Simplified Chinese "zh_Hans_CN"; gettext, and our catalogue, "zh_CN".
    return [str(locale), "_".join(filter(None, (locale.language, locale.territory)))]


def current_language() -> Language:
    """The language being rendered now (forced or selected)."""
    locale = get_locale()
    names = _gettext_names(locale) if locale is not None else []
    return next(filter(None, map(find_language, names)), None) or site_language()


class Catalogues(Domain):  # type: ignore[misc]  # Flask-Babel has no types
    """Flask-Babel's message domain, finding each catalogue under its gettext name."""

    def get_translations(self) -> NullTranslations:
        locale = get_locale()
        if locale is None:  # outside any app context
            return NullTranslations()
        key = str(locale)
        if key not in self.cache:
            # One folder: Flask-Babel's merging of several is not needed.
            (folder,) = self.translation_directories
            self.cache[key] = Translations.load(folder, _gettext_names(locale), self.domain[0])
        return cast(NullTranslations, self.cache[key])


def template_language() -> dict[str, str]:
    """`lang` and `dir` for the <html> element of pages and mails."""
    language = current_language()
    return {"lang": language.tag, "dir": language.direction}


def exact_time(moment: datetime | str | None) -> str:
    """ "Friday, January 18, 2008, 9:14 AM UTC" (or "Freitag, 18. Januar 2008, 09:14 UTC"): a
    comment's time, in the language being rendered."""
    if not moment:
        return ""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    locale = Locale.parse(current_language().locale)
    # Babel types this as a DateTimePattern; it is the str "{1}, {0}", "{1} 'um' {0}"...
    pattern = str(get_datetime_format("full", locale=locale))
    date = format_date(moment, "full", locale=locale)
    time = format_time(moment, "short", tzinfo=UTC, locale=locale)
    return pattern.replace("'", "").replace("{0}", time).replace("{1}", date) + " UTC"


def duration(seconds: int) -> str:
    """ "7 days", "2 hours", "15 minutes" (whole units, never more than the time there is): how
    long a mailed link works, in the language being rendered."""
    locale = current_language().locale
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            return format_unit(seconds // size, f"duration-{unit}", "long", locale=locale)
    return format_unit(seconds, "duration-second", "long", locale=locale)


def add_vary(response: Response) -> Response:
    """A text chosen by Accept-Language must not be served from a cache to another reader."""
    if g.get(_FROM_HEADER):
        from .httpcache import add_vary  # httpcache reads the settings, which read this module

        add_vary(response, "Accept-Language")
    return response


def _forget_locale(_exc: BaseException | None = None) -> None:
    # Flask-Babel keeps the locale on `g`, which outlives a request when an app context was
    # pushed around it (tests, commands): the next request must choose its own.
    refresh()
    g.pop(_FROM_HEADER, None)


def init_app(app: Flask) -> None:
    """Flask-Babel with our selector, the catalogues in commentsvc/translations, the helpers
    templates use, and the Vary header."""
    from .config import settings_of

    app.config["BABEL_DEFAULT_LOCALE"] = site_language(settings_of(app)).locale
    babel.init_app(app, locale_selector=select_locale)
    babel.domain_instance = Catalogues()
    app.jinja_env.globals.update(exact_time=exact_time)
    app.context_processor(template_language)
    app.teardown_request(_forget_locale)
    app.after_request(add_vary)
