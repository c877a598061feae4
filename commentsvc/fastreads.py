"""The busiest public reads (a thread's page, comment counts) answered below Flask.

Every blog page view asks for its thread or its counts. Flask's machinery around such a read
(contexts, routing, a dozen hooks, the Response object) costs more than the read itself, so
this WSGI layer answers the plain form of those requests with the same functions the API's
views call, and the same headers. Anything else goes on to Flask: another path or method, a
reader's edit tokens, an origin the site does not list (Flask warns the owner, or refuses a
write), an unknown site, and every error. tests/test_fast_reads.py holds the two answers
equal, header for header.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

import orjson
from werkzeug.datastructures import MultiDict
from werkzeug.http import parse_options_header

from . import sites
from .api.cors import EXPOSED_HEADERS, listed_origin
from .api.threads import THREAD_VARY, counts_body, posted_uris, thread_options
from .config import Settings, settings_of
from .extensions import db
from .httpcache import Body, public_cache_control, representation, vary_value
from .mail.worker import start_sender
from .security import EVERY, HSTS, PAGES
from .threads import thread_json
from .transactions import read_with_retry

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
    from flask import Flask
    from sqlalchemy.engine import Engine

# status line, headers, body
Answer = tuple[str, list[tuple[str, str]], bytes]
JSON = "application/json"


class FastReads:
    """WSGI middleware in front of the Flask app: GET /api/threads, and GET and POST
    /api/counts, when nothing about them needs Flask."""

    def __init__(self, app: Flask, wsgi_app: WSGIApplication):
        self.app = app
        self.flask = wsgi_app
        self._engine: Engine | None = None
        self.routes: dict[tuple[str, str], Callable[[WSGIEnvironment], Answer | None]] = {
            ("GET", "/api/threads"): self.thread,
            ("GET", "/api/counts"): self.counts,
            ("POST", "/api/counts"): self.posted_counts,
        }

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        route = self.routes.get((environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")))
        answer = None
        if route is not None:
            try:
                answer = route(environ)
            except Exception:
                # A bad request or a failed read: Flask answers it in full (the same code
                # meets the same problem there, and reports it as the API does).
                answer = None
        if answer is None:
            return self.flask(environ, start_response)
        start_sender(self.app)  # as Flask's before_request would
        status, headers, body = answer
        start_response(status, headers)
        return [body]

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            with self.app.app_context():
                self._engine = db.engine
        return self._engine

    def read(self, work: Callable[[Any], Any]) -> Any:
        return read_with_retry(work, self.engine)

    def site_settings(self, args: MultiDict[str, str]) -> Settings:
        return sites.cached_settings(
            settings_of(self.app), args.get("site", sites.DEFAULT_SITE), self.read
        )

    def thread(self, environ: WSGIEnvironment) -> Answer | None:
        if environ.get("HTTP_X_EDIT_TOKENS"):
            return None  # the reader may see their own held comments: theirs alone
        args = _query(environ)
        settings = self.site_settings(args)
        options = thread_options(args, settings)
        body, _public = self.read(lambda conn: thread_json(conn, **options))
        return _answer(
            environ, settings, body, public_cache_control(settings_of(self.app)), THREAD_VARY
        )

    def counts(self, environ: WSGIEnvironment) -> Answer | None:
        args = _query(environ)
        settings = self.site_settings(args)
        body = counts_body(args.getlist("uri"), settings, self.engine)
        return _answer(environ, settings, body, public_cache_control(settings_of(self.app)))

    def posted_counts(self, environ: WSGIEnvironment) -> Answer | None:
        raw = _json_body(environ, settings_of(self.app).max_body_bytes)
        if raw is None:
            return None
        posted = orjson.loads(raw)  # where it fails, the standard library may not: Flask's
        if not isinstance(posted, dict):
            return None
        settings = self.site_settings(_query(environ))
        body = counts_body(posted_uris(posted), settings, self.engine)
        # Nobody keeps an answer to a POST; a page that wants its counts cached uses GET.
        return _answer(environ, settings, body, "no-store")


def _query(environ: WSGIEnvironment) -> MultiDict[str, str]:
    """The query's parameters, parsed as werkzeug's Request.args parses them."""
    query = environ.get("QUERY_STRING", "").encode("latin1").decode()
    return MultiDict(parse_qsl(query, keep_blank_values=True, errors="werkzeug.url_quote"))


def _json_body(environ: WSGIEnvironment, max_bytes: int) -> bytes | None:
    """A JSON body of a declared length within the limit, read and put back for Flask; None
    for any other."""
    if parse_options_header(environ.get("CONTENT_TYPE", ""))[0].lower() != JSON:
        return None
    length = environ.get("CONTENT_LENGTH", "")
    if not length.isdigit() or int(length) > max_bytes:
        return None
    raw: bytes = environ["wsgi.input"].read(int(length))
    environ["wsgi.input"] = io.BytesIO(raw)  # so that Flask can still read it
    return raw


def _answer(
    environ: WSGIEnvironment,
    settings: Settings,
    body: Body,
    cache_control: str,
    vary: tuple[str, ...] = (),
) -> Answer | None:
    """The answer Flask would give: the representation the client takes (httpcache), CORS for
    a listed origin, the security headers; None for an origin Flask must judge (the service's
    own address is allowed too, but Flask knows it best, behind proxies)."""
    origin = environ.get("HTTP_ORIGIN")
    if origin and not listed_origin(origin, settings):
        return None
    payload, encoding, tag = representation(
        body, environ.get("HTTP_ACCEPT_ENCODING"), environ.get("HTTP_IF_NONE_MATCH")
    )
    if payload is None:
        status, headers = "304 NOT MODIFIED", [*PAGES]  # a body-less answer is text/html
        payload = b""
    else:
        status, headers = "200 OK", [("Content-Type", JSON), ("Content-Length", str(len(payload)))]
        if encoding:
            headers.append(("Content-Encoding", encoding))
    headers += [
        ("ETag", f'"{tag}"'),
        ("Cache-Control", cache_control),
        ("Vary", vary_value((*vary, "Origin"))),
        *EVERY,
    ]
    if origin:
        headers += [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Expose-Headers", EXPOSED_HEADERS),
        ]
    if environ.get("wsgi.url_scheme") == "https":
        headers.append(("Strict-Transport-Security", HSTS))
    return status, headers, payload
