"""Serve the widget's static files with validators, caching and in-memory gzip."""

import gzip
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import rcssmin
import rjsmin
from flask import Response, abort

from commentsvc.avatars import identicon_svg, is_avatar_hash
from commentsvc.httpcache import Body, conditional, not_modified
from commentsvc.widget import bp

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

# name -> content type. Only these files are served; nothing is looked up from the URL.
ASSETS = {
    "embed.js": "text/javascript; charset=utf-8",
    "count.js": "text/javascript; charset=utf-8",
    "widget.css": "text/css; charset=utf-8",
    "demo.css": "text/css; charset=utf-8",
}
# The widget's words in every language but English (which is inside embed.js).
LANGUAGES = ("de", "fr", "es", "pt-BR", "it", "nl", "pl", "ja", "zh-CN", "ar")
ASSETS.update({f"i18n/{tag}.json": "application/json; charset=utf-8" for tag in LANGUAGES})

# Blogs link the scripts by a fixed URL, so they can't be cached forever; an hour keeps
# repeat page views free while a new release reaches readers the same day.
ASSET_CACHE_CONTROL = "public, max-age=3600, stale-while-revalidate=86400"
AVATAR_CACHE_CONTROL = "public, max-age=31536000, immutable"


@dataclass(frozen=True)
class Asset:
    """One file as it is served (raw and gzipped, with its validator), and when it changed."""

    mtime_ns: int
    body: Body

    @classmethod
    def load(cls, path: Path) -> "Asset":
        raw = minified(path)
        digest = hashlib.sha256(raw).hexdigest()[:20]
        # Compressed hardest, once; mtime=0 keeps the bytes the same from process to process.
        # Brotli's hardest takes a tenth of a second and more for embed.js, in every worker:
        # made in the background, so that the first reader of each process does not wait.
        return cls(
            path.stat().st_mtime_ns,
            Body(raw, digest, gzip.compress(raw, 9, mtime=0), brotli_quality=11, brotli_later=True),
        )


# The files are kept readable in the repository and sent without comments and spaces.
MINIFIERS: dict[str, Callable[[str], str]] = {
    ".js": rjsmin.jsmin,
    ".css": rcssmin.cssmin,
    ".json": lambda text: json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":")),
}


def minified(path: Path) -> bytes:
    """The bytes of one static file as it is served."""
    minify = MINIFIERS.get(path.suffix)
    if minify is None:
        return path.read_bytes()
    return minify(path.read_text(encoding="utf-8")).encode()


_cache: dict[str, Asset] = {}
_cache_lock = threading.Lock()


def get_asset(name: str) -> Asset:
    """Return the file, compressed once and kept in memory until it changes on disk."""
    path = STATIC_DIR / name
    mtime_ns = path.stat().st_mtime_ns
    asset = _cache.get(name)
    if asset is None or asset.mtime_ns != mtime_ns:
        with _cache_lock:
            asset = Asset.load(path)
            _cache[name] = asset
    return asset


def asset_response(name: str) -> Response:
    """Answer a request for one asset: 304, gzip or identity, always with validators."""
    response = conditional(get_asset(name).body, ASSETS[name], ASSET_CACHE_CONTROL)
    _public_resource_headers(response)
    return response


def _public_resource_headers(response: Response) -> None:
    # Any blog may load these files, including pages with COEP or crossorigin attributes.
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    # Public files: their pages may time them (connection, wait, download), not only see them.
    response.headers["Timing-Allow-Origin"] = "*"


@bp.get("/embed.js")
def embed_js() -> Response:
    """The comment widget script blogs embed."""
    return asset_response("embed.js")


@bp.get("/count.js")
def count_js() -> Response:
    """The script that fills in comment counts on index pages."""
    return asset_response("count.js")


@bp.get("/widget.css")
def widget_css() -> Response:
    """The widget's stylesheet, linked from inside its shadow root."""
    return asset_response("widget.css")


@bp.get("/i18n/<tag>.json")
def catalogue(tag: str) -> Response:
    """The widget's and count.js's words in one language."""
    name = f"i18n/{tag}.json"
    if name not in ASSETS:
        abort(404)
    return asset_response(name)


@bp.get("/assets/<name>")
def asset(name: str) -> Response:
    """Other files of the reader-facing pages (demo stylesheet)."""
    if name not in ASSETS:
        abort(404)
    return asset_response(name)


@bp.get("/avatars/<name>.svg")
def avatar(name: str) -> Response:
    """An identicon for a comment's avatar hash; the same hash always gives the same picture."""
    if not is_avatar_hash(name):
        abort(404)
    if not_modified((name,)):
        response = Response(status=304)
    else:
        response = Response(identicon_svg(name), content_type="image/svg+xml")
    response.set_etag(name)
    response.headers["Cache-Control"] = AVATAR_CACHE_CONTROL
    # An SVG opened directly is a document: let it run and load nothing.
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    _public_resource_headers(response)
    return response
