"""`commentsvc run`: the production server (gunicorn), started only on a current schema.

The command checks the schema, then replaces its own process with `python -m commentsvc.serve`:
a gunicorn master that imports no more than gunicorn and this module, while each worker loads
the app for itself. A master that loaded the app before forking (gunicorn's preload) shares
its pages with the workers, but each process still maps all of them: with 2 workers on SQLite
that was 8 to 10 MiB less PSS and 36 MiB more RSS (bench/memory_bench.py, bench/README.md).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from alembic.config import Config
    from flask import Flask

TIMEOUT = 60  # seconds a worker may spend on one request (an admin's import is the longest)


def available_cores() -> int:
    """The cores this process may run on (fewer than the machine's under a CPU limit)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def default_workers() -> int:
    return max(2, min(2 * available_cores(), 8))


def schema_problem(app: Flask) -> str | None:
    """Why the database cannot be served as it is (behind the code's migrations, or ahead of
    them, or unreachable), with what to do; None when it is current."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect, text
    from sqlalchemy.exc import SQLAlchemyError

    from .extensions import db

    scripts = ScriptDirectory.from_config(_alembic_config(Config, app))
    heads = set(scripts.get_heads())
    with app.app_context():
        try:
            with db.engine.connect() as conn:
                if not inspect(conn).has_table("alembic_version"):
                    current: set[str] = set()
                else:
                    current = set(
                        conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
                    )
        except SQLAlchemyError as exc:
            return (
                f"the database does not answer ({type(exc).__name__}); check "
                "COMMENTSVC_DATABASE_URL"
            )
        finally:
            db.engine.dispose()  # the workers open their own connections
    if current == heads:
        return None
    if not current:
        return "the database is empty: create its tables with `commentsvc db upgrade`"
    known = {rev.revision for rev in scripts.walk_revisions()}
    if current - known:
        return (
            f"the database is at revision {', '.join(sorted(current))}, newer than this "
            "release knows: run the release that migrated it, or restore a backup"
        )
    return (
        f"the database is at revision {', '.join(sorted(current))}, this release needs "
        f"{', '.join(sorted(heads))}: run `commentsvc db upgrade`, then start again"
    )


def _alembic_config(config_class: type[Config], app: Flask) -> Config:
    config = config_class()
    config.set_main_option("script_location", app.config["MIGRATIONS_DIRECTORY"])
    return config


def exec_server(*, host: str, port: int, workers: int) -> NoReturn:
    """Become the gunicorn master: a fresh interpreter in this process (same pid, environment and
    working directory), so none of what the command loaded stays in the server's memory."""
    sys.stdout.flush()
    sys.stderr.flush()
    # -P: the working directory stays off sys.path, as it is for the `commentsvc` script.
    argv = [sys.executable, "-P", "-m", "commentsvc.serve", host, str(port), str(workers)]
    os.execv(sys.executable, argv)  # noqa: S606  (this interpreter, our module, our arguments)


def serve(*, host: str, port: int, workers: int) -> None:
    """Serve the app with gunicorn until stopped; each worker creates the app after the fork."""
    from gunicorn.app.base import BaseApplication

    class Server(BaseApplication):
        def load_config(self) -> None:
            for key, value in _options(host, port, workers).items():
                self.cfg.set(key, value)

        # The stubs' WSGI callable wants a start_response that returns None; Flask's, like
        # PEP 3333's, returns write().
        def load(self) -> Flask:  # type: ignore[override]
            from . import create_app

            return create_app()

    Server().run()


def _options(host: str, port: int, workers: int) -> dict[str, Any]:
    # No max_requests: a worker's memory is bounded by its page caches (commentsvc.threads),
    # and each restart would cost a new import of the app (about a second of CPU).
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "timeout": TIMEOUT,
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": "-",
        "errorlog": "-",
        "proc_name": "commentsvc",
    }


if __name__ == "__main__":  # what exec_server runs
    host, port, workers = sys.argv[1:]
    serve(host=host, port=int(port), workers=int(workers))
