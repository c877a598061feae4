"""Security headers on every response: CSP for our pages, no sniffing, no framing."""

from __future__ import annotations

from flask import Flask, Request, Response, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

# The one policy for every HTML page we serve: only our own files, no inline script or style.
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
EMBEDDABLE = ("/embed.js", "/count.js", "/widget.css", "/avatars/")  # served to other origins


# The headers every response gets unless it set its own; then those of HTML pages.
EVERY = (
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
)
PAGES = (("Content-Security-Policy", CSP), ("X-Frame-Options", "DENY"))


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    # One look at the names there are, rather than a search of them per header added.
    present = {name.lower() for name, _ in headers.items()}
    wanted = EVERY + PAGES if response.mimetype == "text/html" else EVERY
    for name, value in wanted:
        if name.lower() not in present:
            headers.add(name, value)
    if request.path.startswith("/admin"):
        headers["Referrer-Policy"] = "same-origin"
    if request.is_secure and "strict-transport-security" not in present:
        headers.add("Strict-Transport-Security", HSTS)
    return response


COOKIELESS = ("/api/", "/healthz", "/feed/", *EMBEDDABLE)


class CookielessAPISessions(SecureCookieSessionInterface):
    """The API and the embedded files never use a session: no cookie is read or set for them
    (and their responses carry no Vary: Cookie that would defeat shared caches)."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if request.path.startswith(COOKIELESS):
            return self.null_session_class()
        return super().open_session(app, request)


def init_app(app: Flask) -> None:
    app.session_interface = CookielessAPISessions()
    app.after_request(add_security_headers)
