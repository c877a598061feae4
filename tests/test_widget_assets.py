"""The widget's files: validators, compression, caching, and their size budget."""

import gzip
import re
import shutil
import threading
import time

import brotli
import pytest

from commentsvc.widget import assets

SCRIPTS = {
    "/embed.js": ("embed.js", "text/javascript"),
    "/count.js": ("count.js", "text/javascript"),
    "/widget.css": ("widget.css", "text/css"),
    "/assets/demo.css": ("demo.css", "text/css"),
}


@pytest.mark.parametrize("url", SCRIPTS)
def test_asset_is_served_with_validators_and_cache_headers(client, url):
    name, mimetype = SCRIPTS[url]
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert response.data == assets.minified(assets.STATIC_DIR / name)
    assert "Content-Encoding" not in response.headers
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    assert response.headers["ETag"]
    assert "Accept-Encoding" in response.headers["Vary"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def brotli_once_made(client, url, accept="br, gzip;q=0.8"):
    """The first answer of a process may be gzip while brotli is made: wait for brotli."""
    deadline = time.monotonic() + 30
    while True:
        response = client.get(url, headers={"Accept-Encoding": accept})
        if response.headers.get("Content-Encoding") == "br" or time.monotonic() > deadline:
            return response
        time.sleep(0.01)


@pytest.mark.parametrize("url", [*SCRIPTS, "/avatars/0123456789abcdef.svg"])
def test_a_blog_page_may_see_where_the_time_of_a_widget_file_went(client, url):
    # Without it, a cross-origin resource timing shows no connection, wait or download.
    assert client.get(url).headers["Timing-Allow-Origin"] == "*"


@pytest.mark.parametrize("url", SCRIPTS)
def test_asset_is_compressed_as_the_client_prefers(client, url):
    name, _ = SCRIPTS[url]
    served = assets.minified(assets.STATIC_DIR / name)
    response = client.get(url, headers={"Accept-Encoding": "gzip, deflate"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(response.data) == served
    assert int(response.headers["Content-Length"]) == len(response.data)
    preferred = brotli_once_made(client, url)
    assert preferred.headers["Content-Encoding"] == "br"
    assert brotli.decompress(preferred.data) == served
    refused = client.get(url, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers


def test_compressed_once_and_kept_in_memory(client, monkeypatch):
    calls = []
    compress = gzip.compress
    monkeypatch.setattr(
        assets.gzip, "compress", lambda *a, **k: calls.append(1) or compress(*a, **k)
    )
    assets._cache.clear()
    for _ in range(3):
        client.get("/count.js", headers={"Accept-Encoding": "gzip"})
    assert len(calls) == 1


def test_the_first_reader_does_not_wait_for_the_slowest_brotli(client, monkeypatch):
    made = threading.Event()
    compress = brotli.compress

    def slow(data, **options):
        made.wait(10)  # as if brotli's hardest took this long
        return compress(data, **options)

    monkeypatch.setattr(brotli, "compress", slow)
    assets._cache.clear()
    browser = {"Accept-Encoding": "gzip, deflate, br"}
    first = client.get("/embed.js", headers=browser)
    assert first.headers["Content-Encoding"] == "gzip"
    assert client.get("/embed.js", headers=browser).headers["Content-Encoding"] == "gzip"
    made.set()
    later = brotli_once_made(client, "/embed.js", browser["Accept-Encoding"])
    assert later.headers["Content-Encoding"] == "br"
    assert brotli.decompress(later.data) == gzip.decompress(first.data)
    # A client that takes brotli and not gzip waits for it rather than get the file unpacked.
    assets._cache.clear()
    only = client.get("/embed.js", headers={"Accept-Encoding": "br"})
    assert only.headers["Content-Encoding"] == "br"
    assets._cache.clear()


@pytest.mark.parametrize("accept", ["gzip", "identity"])
def test_if_none_match_gives_304(client, accept):
    first = client.get("/embed.js", headers={"Accept-Encoding": accept})
    etag = first.headers["ETag"]
    for header in (etag, f'"other", {etag}', f"W/{etag}", "*"):
        again = client.get(
            "/embed.js", headers={"Accept-Encoding": accept, "If-None-Match": header}
        )
        assert again.status_code == 304, header
        assert again.data == b""
        assert again.headers["ETag"] == etag
        assert again.headers["Cache-Control"] == first.headers["Cache-Control"]
    stale = client.get("/embed.js", headers={"If-None-Match": '"stale"'})
    assert stale.status_code == 200


def test_gzip_and_identity_have_different_etags(client):
    plain = client.get("/widget.css").headers["ETag"]
    packed = client.get("/widget.css", headers={"Accept-Encoding": "gzip"}).headers["ETag"]
    assert plain != packed


def test_a_changed_file_is_served_anew(client, tmp_path, monkeypatch):
    shutil.copy(assets.STATIC_DIR / "count.js", tmp_path / "count.js")
    monkeypatch.setattr(assets, "STATIC_DIR", tmp_path)
    assets._cache.clear()
    before = client.get("/count.js")
    (tmp_path / "count.js").write_text("/* new release */\nvar release = 2;\n")
    after = client.get("/count.js", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.data == b"var release=2;"
    assets._cache.clear()


@pytest.mark.parametrize(
    "url",
    ["/assets/nope.css", "/assets/..%2Fwidget%2F__init__.py", "/assets/embed.js.map", "/assets/.."],
)
def test_only_listed_files_are_served(client, url):
    assert client.get(url).status_code == 404


def test_served_scripts_and_styles_are_minified():
    for name in ("embed.js", "count.js", "widget.css"):
        source = (assets.STATIC_DIR / name).read_bytes()
        served = assets.minified(assets.STATIC_DIR / name)
        assert len(served) < 0.8 * len(source), name
        assert b"/*" not in served and b"\n  " not in served, name


def test_size_budget():
    def gz(name):
        return len(gzip.compress(assets.minified(assets.STATIC_DIR / name), 9))

    assert gz("embed.js") + gz("widget.css") <= 12 * 1024
    assert gz("count.js") <= 1536


def test_embed_js_sets_html_only_from_the_server_and_no_styles_or_cookies():
    source = (assets.STATIC_DIR / "embed.js").read_text()
    assert sorted(re.findall(r"\.innerHTML\s*=\s*([\w.]+)", source)) == ["c.html", "data.html"]
    for forbidden in (
        "document.cookie",
        ".style.",
        '"style"',
        "'style'",
        "insertAdjacentHTML",
        "outerHTML",
        "document.write",
        "eval(",
        "new Function",
    ):
        assert forbidden not in source, forbidden
    assert 'credentials: "omit"' in source
    assert 'attachShadow({ mode: "open" })' in source
