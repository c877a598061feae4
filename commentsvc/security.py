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


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    admin = request.path.startswith("/admin")
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Frame-Options", "DENY")
    if admin:
        headers["Referrer-Policy"] = "same-origin"
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", HSTS)
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
