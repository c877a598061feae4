"""Validators, conditional answers and compression for public reads.

A public read (a thread's page of comments, counts, a feed, the widget's files) carries an
ETag of its content and a Cache-Control that lets browsers and shared caches keep it for a
little while; a request whose If-None-Match names the current ETag gets 304 and no body.
Bodies are compressed with brotli or gzip, whichever the client prefers (brotli when it takes
both equally), and each compressed form of a cached body is made once and kept with it.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import threading
from functools import lru_cache

from flask import Response, request
from werkzeug.datastructures import HeaderSet
from werkzeug.http import parse_accept_header, parse_etags

from .config import Settings, current_settings

# Smaller bodies are sent as they are: compressing would save a few bytes and cost a header.
GZIP_MIN_BYTES = 1024
# Fast enough to compress a 100-comment page in about a millisecond, and smaller than gzip -6;
# the widget's files, compressed once per process, take the slowest and smallest (11).
BROTLI_QUALITY = 5


def content_tag(*parts: bytes) -> str:
    """An entity tag (without quotes) for these bytes."""
    digest = hashlib.blake2b(digest_size=12)
    for part in parts:
        digest.update(part)
    return digest.hexdigest()


class Body:
    """One response body, its entity tag, and its gzipped and brotli forms (given, or made on
    first need). A body whose brotli form is slow to make (`brotli_later`) has it made in a
    thread of its own on first need, and is sent gzipped meanwhile."""

    __slots__ = (
        "raw",
        "tag",
        "_gzipped",
        "_brotli",
        "_brotli_quality",
        "_brotli_later",
        "_brotli_started",
        "_lock",
    )

    def __init__(
        self,
        raw: bytes,
        tag: str | None = None,
        gzipped: bytes | None = None,
        brotli_quality: int = BROTLI_QUALITY,
        brotli_later: bool = False,
    ):
        self.raw = raw
        self.tag = tag or content_tag(raw)
        self._gzipped = gzipped
        self._brotli: bytes | None = None
        self._brotli_quality = brotli_quality
        self._brotli_later = brotli_later
        self._brotli_started = False
        self._lock = threading.Lock()

    def gzipped(self) -> bytes:
        if self._gzipped is None:
            with self._lock:
                if self._gzipped is None:
                    # mtime=0: the same bytes in every process, so one ETag fits them all.
                    self._gzipped = gzip.compress(self.raw, 6, mtime=0)
        return self._gzipped

    def brotli(self) -> bytes:
        if self._brotli is None:
            with self._lock:
                if self._brotli is None:
                    import brotli  # loaded by the first client that asks for it

                    self._brotli = brotli.compress(self.raw, quality=self._brotli_quality)
        return self._brotli

    def brotli_ready(self) -> bool:
        """Whether the brotli form can be sent without waiting; a slow one is started now."""
        if self._brotli is not None or not self._brotli_later:
            return True
        with self._lock:
            start, self._brotli_started = not self._brotli_started, True
        if start:
            threading.Thread(target=self.brotli, name="commentsvc-brotli", daemon=True).start()
        return False


@lru_cache(maxsize=64)
def _accepted(accept_encoding: str | None) -> tuple[float, float]:
    """The qualities of brotli and gzip in an Accept-Encoding value (a few values are common)."""
    accepted = parse_accept_header(accept_encoding)
    return accepted["br"], accepted["gzip"]


def chosen_encoding(accept_encoding: str | None) -> str | None:
    """The compression an Accept-Encoding takes and prefers: "br", "gzip", or None for
    neither."""
    brotli, gzip_ = _accepted(accept_encoding)
    if brotli > 0 and brotli >= gzip_:
        return "br"
    return "gzip" if gzip_ > 0 else None


def names_current(if_none_match: str | None, etags: tuple[str, ...]) -> bool:
    """Whether an If-None-Match value names one of these (unquoted) tags."""
    if not if_none_match:
        return False  # most requests: nothing to parse
    parsed = parse_etags(if_none_match)
    return bool(parsed) and any(parsed.contains_weak(tag) for tag in etags)


def not_modified(etags: tuple[str, ...]) -> bool:
    """Whether the request's If-None-Match names one of these (unquoted) tags."""
    return names_current(request.environ.get("HTTP_IF_NONE_MATCH"), etags)


def public_cache_control(settings: Settings | None = None) -> str:
    """How long browsers and shared caches may keep a public read, and serve it stale while
    they ask again (by the install's settings, or the current app's)."""
    seconds = (settings or current_settings()).public_max_age
    if seconds <= 0:
        return "no-cache"
    return f"public, max-age={seconds}, stale-while-revalidate={seconds * 6}"


def representation(
    body: Body, accept_encoding: str | None, if_none_match: str | None
) -> tuple[bytes | None, str | None, str]:
    """What to send of a body: its bytes (None when the client's copy is current: 304), their
    Content-Encoding (compressed when the client takes it and it is worth it), and their ETag.
    Every representation decodes to the same bytes, so any of their ETags proves a copy
    current."""
    encoding = chosen_encoding(accept_encoding) if len(body.raw) >= GZIP_MIN_BYTES else None
    if encoding == "br" and not body.brotli_ready() and _accepted(accept_encoding)[1] > 0:
        encoding = "gzip"  # rather than wait for the slow brotli form
    tags = {None: body.tag, "gzip": body.tag + "-gz", "br": body.tag + "-br"}
    if names_current(if_none_match, tuple(tags.values())):
        return None, encoding, tags[encoding]
    if encoding == "br":
        return body.brotli(), encoding, tags[encoding]
    if encoding == "gzip":
        return body.gzipped(), encoding, tags[encoding]
    return body.raw, None, tags[encoding]


def conditional(
    body: Body, content_type: str, cache_control: str, vary: tuple[str, ...] = ()
) -> Response:
    """200 with the body in the representation the client takes, or 304 when the client's
    copy is current."""
    environ = request.environ
    payload, encoding, tag = representation(
        body, environ.get("HTTP_ACCEPT_ENCODING"), environ.get("HTTP_IF_NONE_MATCH")
    )
    if payload is None:
        response = Response(status=304)
    else:
        response = Response(payload, content_type=content_type)
        if encoding:
            response.headers["Content-Encoding"] = encoding
    # The response is new, so none of these is there yet: added, not searched for and set.
    headers = response.headers
    headers.add("ETag", f'"{tag}"')
    headers.add("Cache-Control", cache_control)
    headers.add("Vary", vary_value(vary))
    return response


@lru_cache(maxsize=32)
def vary_value(vary: tuple[str, ...]) -> str:
    """The Vary of a conditional answer, written as werkzeug writes a header set."""
    names = HeaderSet()
    names.update(["Accept-Encoding", *vary])  # one by one, as response.vary.add would
    return names.to_header()


# A header name, and a Vary value as werkzeug writes it when every name in it is a plain token.
_HEADER_NAME = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_ONE_NAME = re.compile(_HEADER_NAME)
_NAMES = re.compile(f"{_HEADER_NAME}(?:, {_HEADER_NAME})*")


def add_vary(response: Response, name: str) -> None:
    """`response.vary.add(name)`, with the same result, without parsing and writing the header
    again when it is already in werkzeug's own form (as every Vary we write is)."""
    headers = response.headers
    value = headers.get("Vary")
    if _ONE_NAME.fullmatch(name) and (not value or _NAMES.fullmatch(value)):
        if not value:
            headers["Vary"] = name
        elif name.lower() not in value.lower().split(", "):
            headers["Vary"] = f"{value}, {name}"
    else:
        response.vary.add(name)
