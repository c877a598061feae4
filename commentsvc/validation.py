"""Checks on what a reader sends: one path for the JSON API and the no-JavaScript form."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

from flask_babel import gettext, ngettext

from .errors import ValidationFailed

EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]{2,}$")
MAX_URI, MAX_TITLE, MAX_AUTHOR, MAX_EMAIL, MAX_WEBSITE = 500, 200, 80, 254, 500


@dataclass
class CommentInput:
    uri: str
    text: str
    title: str | None = None
    parent_id: int | None = None
    author: str | None = None
    email: str | None = None
    website: str | None = None
    notify: bool = False
    form_token: str | None = None
    honeypot: str | None = None


# Characters that draw nothing yet make two names differ ("a\u200bnn" beside "ann"), or
# reorder what follows them: format characters (zero-width, bidirectional controls, soft
# hyphen, BOM) and the blank fillers of Hangul and Braille.
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def clean_name(value: str | None) -> str | None:
    """A display name without invisible or bidirectional control characters, spaces collapsed;
    None when nothing visible is left."""
    if value is None:
        return None
    kept = "".join(
        ch for ch in value if unicodedata.category(ch) != "Cf" and ch not in _BLANK_LETTERS
    )
    kept = " ".join(kept.split())
    return kept or None


def _has_control(value: str, allow: str = "") -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in allow for ch in value)


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from JSON escapes
        return False
    return True


def origin_of(url: str) -> str | None:
    """ "https://blog.example" from "https://blog.example/2008/post.html", or None."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or parts.username is not None:
        return None
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port else "")


# What a thread uri may not hold: control characters (Cc), lone surrogates (Cs: UTF-8 cannot
# encode them) and every character str.isspace() calls a space. One regular expression rather
# than a walk through the characters, since a page's counts check up to 100 uris a request.
_NOT_IN_URI_CHARACTERS = (
    r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ud800-\udfff"
)
_NOT_IN_URI = re.compile(f"[{_NOT_IN_URI_CHARACTERS}]")
# Paths on the blog, one per line (a newline is not allowed in a uri, so it cannot be one):
# what nearly every counts request holds, checked with one match for the lot.
_PLAIN_PATH = rf"/(?![/\\])[^{_NOT_IN_URI_CHARACTERS}]*"
_PLAIN_PATHS = re.compile(rf"{_PLAIN_PATH}(?:\n{_PLAIN_PATH})*")


def uri_problem(value: object, origins: Iterable[str] = ()) -> str | None:
    """Why a value cannot name a thread, or None: a path on the blog ("/2008/post.html"), or
    a full URL on one of the blog's own origins; never another site's page or a script."""
    if not isinstance(value, str) or not 0 < len(value) <= MAX_URI:
        return str(gettext("A thread uri of 1 to %(max)d characters is required.", max=MAX_URI))
    if _NOT_IN_URI.search(value):
        return str(gettext("Must not contain spaces or control characters."))
    if value.startswith("/") and not value.startswith(("//", "/\\")):
        return None
    if origin_of(value) in {origin.lower() for origin in origins}:
        return None
    return str(
        gettext("Must be the page's path, starting with /, or an address on the blog's own site.")
    )


def uri_problems(values: list[object], origins: Iterable[str] = ()) -> list[str]:
    """The reasons uri_problem finds among these values, each once, sorted; none when every
    one names a thread."""
    if values and all(type(value) is str for value in values):
        paths = cast(list[str], values)  # each one is a str
        if max(map(len, paths)) <= MAX_URI and _PLAIN_PATHS.fullmatch("\n".join(paths)):
            return []
    return sorted({problem for value in values if (problem := uri_problem(value, origins))})


class _Checker:
    """Collects a reason per field instead of stopping at the first problem."""

    def __init__(self, data: Mapping[str, Any]):
        self.data = data
        self.errors: dict[str, list[str]] = {}

    def fail(self, field: str, reason: str) -> None:
        self.errors.setdefault(field, []).append(reason)

    def string(
        self, field: str, max_length: int, *, required: bool = False, multiline: bool = False
    ) -> str | None:
        value = self.data.get(field)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.fail(field, gettext("This field is required."))
            return None
        if not isinstance(value, str):
            self.fail(field, gettext("Must be a string."))
            return None
        if not _encodable(value) or _has_control(value, "\n\r\t" if multiline else ""):
            self.fail(field, gettext("Contains characters that are not allowed."))
            return None
        value = value.strip() if not multiline else value.strip("\n\r\t ")
        if len(value) > max_length:
            self.fail(
                field,
                ngettext(
                    "Must be at most %(num)d character.",
                    "Must be at most %(num)d characters.",
                    max_length,
                ),
            )
            return None
        return value


def validate_comment(
    data: Mapping[str, Any],
    *,
    max_text: int,
    partial: bool = False,
    origins: Iterable[str] = (),
) -> CommentInput:
    """Parse a new comment (or, with partial, an edit's fields); raise ValidationFailed."""
    check = _Checker(data)
    uri = "" if partial else check.string("uri", MAX_URI, required=True)
    if uri and (problem := uri_problem(uri, origins)):
        check.fail("uri", problem)
    text = check.string("text", max_text, required=True, multiline=True)
    author = clean_name(check.string("author", MAX_AUTHOR))
    title = check.string("title", MAX_TITLE)
    email = check.string("email", MAX_EMAIL)
    if email is not None and not EMAIL.match(email):
        check.fail("email", gettext("Enter a valid e-mail address."))
    website = check.string("website", MAX_WEBSITE)
    if website is not None:
        website = _website(website, check)
    parent_id = data.get("parent_id")
    if parent_id is not None and (
        not isinstance(parent_id, int) or isinstance(parent_id, bool) or not 0 < parent_id < 2**62
    ):
        check.fail("parent_id", gettext("Must be the id of a comment in this thread."))
    notify = data.get("notify", False)
    if notify is None:
        notify = False
    if not isinstance(notify, bool):
        check.fail("notify", gettext("Must be true or false."))
    form_token = data.get("form_token")
    honeypot = data.get("hp")
    if check.errors:
        raise ValidationFailed(check.errors)
    return CommentInput(
        uri=uri or "",
        text=text or "",
        title=title,
        parent_id=parent_id,
        author=author,
        email=email.lower() if email else None,
        website=website,
        notify=notify,
        form_token=form_token if isinstance(form_token, str) else None,
        honeypot=honeypot if isinstance(honeypot, str) else ("filled" if honeypot else None),
    )


# A host name as DNS knows it (after IDNA), or an IPv4 address; IPv6 comes in brackets.
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_URL_UNSAFE = frozenset('"<>\\^`{|}')


def _real_host(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = ascii_host.rstrip(".").split(".")
    return (
        len(ascii_host) <= 253
        and len(labels) >= 2
        and all(map(_HOST_LABEL.match, labels))
        and not labels[-1].isdigit()
    )


def _website(value: str, check: _Checker) -> str | None:
    if any(ch.isspace() for ch in value):
        check.fail("website", gettext("Must not contain spaces."))
        return None
    if "://" not in value and ":" not in value.split("/")[0]:
        value = "https://" + value  # "example.com" is what most people type
    try:
        parts = urlsplit(value)
        host, _port = parts.hostname, parts.port
    except ValueError:
        parts, host = None, None
    if (
        parts is None
        or parts.scheme.lower() not in ("http", "https")
        or not host
        or any(ch in _URL_UNSAFE for ch in value)
        or parts.username is not None
        or not _real_host(host)
    ):
        check.fail(
            "website", gettext("Must be an http:// or https:// address, like https://example.com.")
        )
        return None
    return value


def clean_website(value: str | None) -> str | None:
    """A website as the comment form would take it (normalised), or None where it would not."""
    if value is None or not value.strip() or len(value.strip()) > MAX_WEBSITE:
        return None
    check = _Checker({})
    website = _website(value.strip(), check)
    return None if check.errors or website is None or len(website) > MAX_WEBSITE else website


def clean_email(value: str | None) -> str | None:
    """An e-mail address as the comment form would take it (lower case), or None."""
    value = (value or "").strip().lower()
    return value if len(value) <= MAX_EMAIL and EMAIL.match(value) else None
