"""The fixed cost of one reader request, in process: microseconds per request of the rows
peer.py loads (an empty thread, counts for 1 and for 50 URIs, a post), beside the floor app.

Each request goes straight to the WSGI callable (no server, no sockets), so what is left is
the service's own work per request; the median of several passes is steadier on a shared
machine than wrk's figures.

On PostgreSQL (`--db postgres`) the figures are this process's processor time only: the
server's share of each read is not in them, so they show what the service itself spends.

Usage: .venv/bin/python bench/request_cost.py [--requests 5000] [--posts 1000] [--passes 5]
                                              [--rows read0,count1,count50,post]
                                              [--db sqlite|postgres]
                                              [--profile ROW [--sort tottime]]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this tree, not whatever the venv points at
sys.path.insert(0, str(ROOT / "bench"))

from _common import DEFAULT_POSTGRES_URL, Database, migrated_app  # noqa: E402
from werkzeug.test import EnvironBuilder  # noqa: E402

from commentsvc.tokens import issue_form_token  # noqa: E402

SECRET = "bench-" + "k" * 40
COUNT_URIS = [f"/2008/01/post-{n}.html" for n in range(50)]
POST_URIS = [f"/2008/02/posting-{n}.html" for n in range(8)]


def _call(app: Callable[..., Any], environ: dict[str, Any], body: bytes = b"") -> tuple[str, bytes]:
    """One request through the WSGI callable; its status line and body."""
    environ = dict(environ)
    environ["wsgi.input"] = io.BytesIO(body)
    status: list[str] = []
    answer = app(environ, lambda s, _headers, _exc=None: status.append(s))
    try:
        data = b"".join(answer)
    finally:
        close = getattr(answer, "close", None)
        if close:
            close()
    return status[0], data


def _environ(method: str, path: str, body: Any = None) -> tuple[dict[str, Any], bytes]:
    raw = json.dumps(body).encode() if body is not None else b""
    builder = EnvironBuilder(
        path=path,
        method=method,
        data=raw or None,
        content_type="application/json" if body is not None else None,
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    return builder.get_environ(), raw


def _seed(app: Any) -> None:
    wsgi = app.wsgi_app
    for n, uri in enumerate([*COUNT_URIS, *POST_URIS]):
        for k in range(5 if uri in COUNT_URIS else 1):
            body = {
                "uri": uri,
                "text": f"Seed comment {n}-{k}: persistence pays off.",
                "form_token": issue_form_token(SECRET, site="default", uri=uri),
            }
            status, data = _call(wsgi, *_environ("POST", "/api/comments", body))
            if not status.startswith("201"):
                raise SystemExit(f"seeding: {status} {data[:200]!r}")


class Row:
    """One kind of request, able to make its n-th request."""

    def __init__(self, name: str, expect: str, make: Callable[[int], tuple[dict[str, Any], bytes]]):
        self.name, self.expect, self.make = name, expect, make


def _rows(tag: list[int]) -> dict[str, Row]:
    read0 = _environ("GET", "/api/threads?uri=%2Fnobody%2Fcommented.html&limit=1000")
    count1 = _environ("POST", "/api/counts", {"uris": [COUNT_URIS[0]]})
    count50 = _environ("POST", "/api/counts", {"uris": COUNT_URIS})
    floor_get = _environ("GET", "/ok")
    floor_post = _environ("POST", "/ok", {"uris": COUNT_URIS})

    def post(n: int) -> tuple[dict[str, Any], bytes]:
        uri = POST_URIS[n % len(POST_URIS)]
        tag[0] += 1
        body = {
            "uri": uri,
            "title": "Bench post",
            "author": "Bench reader",
            "text": f"Bench post {tag[0]} of this run: what worked for you?",
            "form_token": issue_form_token(SECRET, site="default", uri=uri),
        }
        return _environ("POST", "/api/comments", body)

    return {
        "read0": Row("read0", "200", lambda n: read0),
        "count1": Row("count1", "200", lambda n: count1),
        "count50": Row("count50", "200", lambda n: count50),
        "post": Row("post", "201", post),
        "floor-get": Row("floor-get", "200", lambda n: floor_get),
        "floor-post": Row("floor-post", "200", lambda n: floor_post),
    }


def _pass(wsgi: Callable[..., Any], row: Row, n: int) -> float:
    """Microseconds per request over n requests (request bodies made beforehand)."""
    requests = [row.make(i) for i in range(n)]
    began = time.process_time()
    for environ, body in requests:
        status, data = _call(wsgi, environ, body)
        if not status.startswith(row.expect):
            raise SystemExit(f"{row.name}: {status} {data[:300]!r}")
    return (time.process_time() - began) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000, help="per pass, for reads")
    parser.add_argument("--posts", type=int, default=1000, help="per pass, for the post row")
    parser.add_argument("--passes", type=int, default=5)
    parser.add_argument("--rows", default="read0,count1,count50,post")
    parser.add_argument("--profile", help="profile one pass of this row instead")
    parser.add_argument("--sort", default="cumulative", help="the profile's order (or tottime)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        database = Database(args.db, Path(folder), args.postgres_url)
        try:
            _measure(args, migrated_app(database.create(), SECRET))
        finally:
            database.drop()


def _measure(args: argparse.Namespace, app: Any) -> None:
    from floor_app import app as floor

    _seed(app)
    tag = [0]
    rows = _rows(tag)
    wsgis = {"floor-get": floor.wsgi_app, "floor-post": floor.wsgi_app}
    if args.profile:
        row = rows[args.profile]
        wsgi = wsgis.get(row.name, app.wsgi_app)
        _pass(wsgi, row, 200)
        profile = cProfile.Profile()
        profile.enable()
        _pass(wsgi, row, args.posts if row.name == "post" else args.requests)
        profile.disable()
        pstats.Stats(profile).sort_stats(args.sort).print_stats(70)
        return
    names = ["floor-get", "floor-post", *args.rows.split(",")]
    print(f"us per request, median of {args.passes} passes (min, max)")
    for name in names:
        row = rows[name]
        wsgi = wsgis.get(name, app.wsgi_app)
        n = args.posts if name == "post" else args.requests
        _pass(wsgi, row, min(n, 200))  # warm
        times = [_pass(wsgi, row, n) for _ in range(args.passes)]
        print(
            f"  {name:<11} {statistics.median(times):8.1f}"
            f"   ({min(times):.1f}, {max(times):.1f})   n={n}"
        )


if __name__ == "__main__":
    main()
