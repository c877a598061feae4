"""The application factory: configuration, extensions, blueprints, error handlers, commands."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry
from werkzeug.middleware.proxy_fix import ProxyFix

from . import CHECKOUT, bundled, config, i18n, mail, ratelimit, spamfilter
from .extensions import csrf, db, limiter, login_manager
from .jsonfast import FastJSONProvider


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application: configuration, extensions, blueprints, error handlers, commands."""
    # Named for the package: its logger is "commentsvc", and an installed package's instance
    # folder is found from that name.
    app = Flask(
        __package__, instance_path=_instance_setting(), template_folder=str(bundled("templates"))
    )
    configure(app, test_config)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_commands(app)
    return app


def _instance_setting() -> str | None:
    return os.environ.get(config.INSTANCE_PATH) or (
        str(CHECKOUT / "instance") if CHECKOUT else None
    )


def instance_folder() -> str:
    """The instance folder an app made now would use (Flask finds an installed package's)."""
    return Flask(__package__, instance_path=_instance_setting()).instance_path


def configure(app: Flask, test_config: dict[str, Any] | None) -> None:
    """The settings (config.Settings, read through config.current_settings) and, in
    app.config, what Flask and its extensions read."""
    settings = config.load(app.instance_path, overrides=test_config)
    app.extensions["commentsvc"] = settings
    keys = {setting.key for setting in config.SETTINGS}
    app.config.update({k: v for k, v in (test_config or {}).items() if k not in keys})
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=_engine_options(settings.database_url),
        MIGRATIONS_DIRECTORY=str(bundled("migrations")),
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        RATELIMIT_ENABLED=settings.ratelimit_enabled,
        # Without Redis the counters live in the database, so that every worker process
        # (and every host sharing a PostgreSQL) counts against the one documented budget.
        RATELIMIT_STORAGE_URI=settings.redis_url or ratelimit.STORAGE_URI,
        RATELIMIT_HEADERS_ENABLED=False,  # the 429 handler sets Retry-After itself
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        JSON_SORT_KEYS=False,
    )
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "commentsvc")
    app.json = FastJSONProvider(app)
    from .fastreads import FastReads  # the API's modules, which need the app's package first

    # Under ProxyFix, so that both see the client's scheme and host as Flask does.
    app.wsgi_app = FastReads(app, app.wsgi_app)  # type: ignore[method-assign]
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        # Flask documents wrapping wsgi_app in middleware; its type is a method all the same.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]


def _engine_options(url: str) -> dict[str, Any]:
    if url.startswith("sqlite"):
        return {}  # a file: its connections do not go stale
    # A server may drop connections (restart, failover, idle timeouts in between). No ping
    # on every checkout (a round trip per request): the API's reads and writes retry once on a
    # connection found dead, and the pool then replaces every connection older than it.
    return {"pool_recycle": 1800}


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    mail.init_app(app)
    spamfilter.init_app(app)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            event.listen(db.engine, "connect", _sqlite_pragmas)


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # WAL lets readers run beside the writer; the busy timeout makes writers queue, not fail.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def register_blueprints(app: Flask) -> None:
    from . import admin, api, feeds, health, links, security, widget

    csrf.exempt(api.bp)  # JSON-only writes from other origins; CORS and Origin checks guard them
    app.register_blueprint(api.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(links.bp)
    app.register_blueprint(widget.bp)
    app.register_blueprint(admin.bp)
    security.init_app(app)


def register_error_handlers(app: Flask) -> None:
    from .api.errors import register_error_handlers as register_api_errors

    register_api_errors(app)


def register_commands(app: Flask) -> None:
    from .cli import register

    register(app)
