"""Real servers for the browser tests: the service under gunicorn, and blogs on other origins.

One Chromium (the system one) is shared by the whole session; every service instance is
started once, on its own temporary SQLite database, and every test uses its own thread URI.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.support.databases import migrated_sqlite
from tests.support.env import REPO, service_env
from tests.support.http import http_json
from tests.support.need import free_port
from tests.support.server import Server

BROWSER_DIR = Path(__file__).resolve().parent
AXE_JS = BROWSER_DIR / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = os.environ.get("COMMENTSVC_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# The heading counts what the reader sees; their own held comments are counted and marked.
COUNT_TEXT = re.compile(r"^(No comments|1 comment|\d+ comments)( \(\d+ awaiting moderation\))?$")

# Two shared cores run the servers, the browser and the tests: allow for a slow moment.
expect.set_options(timeout=10_000)


def _tool(name: str) -> str:
    """A console script of the environment running the tests (the project's virtualenv)."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed in the test environment")
    return found


# ---------------------------------------------------------------- blog pages on other origins


class _BlogHandler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        path = urllib.parse.urlsplit(self.path).path
        page = self.server.pages.get(path)
        if page is None:
            self.send_error(404)
            return
        body, headers = page
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class BlogServer:
    """A static web server for test-written pages, standing in for someone's blog."""

    def __init__(self):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _BlogHandler)
        self.httpd.pages = {}
        self.httpd.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def add(self, path: str, html: str, headers: dict[str, str] | None = None) -> str:
        self.httpd.pages[path] = (html.encode(), headers or {})
        return self.origin + path

    def post_page(
        self,
        service: Service,
        uri: str,
        *,
        head: str = "",
        extra: str = "",
        csp: bool = False,
        title: str = "A test post",
        comments_attrs: str = "",
        script_attrs: str = "",
    ) -> str:
        """A blog post embedding the widget for `uri`; with csp, under a strict policy;
        comments_attrs are more attributes for #comments (e.g. data-theme="dark"), script_attrs
        for the script tag (e.g. data-site="blog-2")."""
        path = f"/page-{uuid.uuid4().hex[:10]}.html"
        headers = {}
        if csp:
            own = service.url
            headers["Content-Security-Policy"] = (
                f"default-src 'none'; script-src {own}; style-src {own}; img-src {own}; "
                f"connect-src {own}; base-uri 'none'"
            )
        html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>{head}</head>
<body><main><h1>{title}</h1><p>Have you had a really difficult sale? What worked for you?</p>
<div id="comments" data-uri="{uri}"{" " + comments_attrs if comments_attrs else ""}>
<noscript><a href="{service.url}/comments?uri={urllib.parse.quote(uri)}"
>Read and post comments</a></noscript>
</div>
{extra}
<script src="{service.url}/embed.js"{" " + script_attrs if script_attrs else ""} async></script>
</main></body></html>"""
        return self.add(path, html, headers)

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ---------------------------------------------------------------- the service under gunicorn


@dataclass
class Service:
    """One running service instance and a small API client for seeding it."""

    url: str
    server: Server = field(repr=False)
    env: dict[str, str] = field(repr=False)

    @property
    def log(self) -> Path:
        return self.server.log

    def api(self, method: str, path: str, body=None, headers=None):
        return http_json(method, self.url + path, body, headers)

    def thread(self, uri: str, tokens: list[str] | None = None, **params):
        query = urllib.parse.urlencode({"uri": uri, **params})
        headers = {"X-Edit-Tokens": ",".join(tokens)} if tokens else None
        status, body, _ = self.api("GET", f"/api/threads?{query}", headers=headers)
        assert status == 200, body
        return body

    def post(self, uri: str, text: str, *, expect: int | None = 201, **fields):
        # Each works once, for one thread.
        token = self.api("GET", "/api/form-token?" + urllib.parse.urlencode({"uri": uri}))[1][
            "form_token"
        ]
        payload = {"uri": uri, "text": text, "form_token": token, **fields}
        status, body, _ = self.api("POST", "/api/comments", payload)
        if expect is not None:
            assert status == expect, body
        return body if expect is not None else (status, body)

    def count(self, uri: str) -> int:
        return self.thread(uri)["count"]

    def command(
        self, *args: str, input: str | None = None, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """`commentsvc ARGS` on this instance's database and secret key, as its operator runs it."""
        return subprocess.run(
            [_tool("commentsvc"), *args],
            input=input,
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def stop(self):
        self.server.stop()


def start_service(tmp: Path, allowed_origin: str, **settings: str) -> Service:
    """Serve the app with gunicorn on a free port, on a migrated SQLite database of its own."""
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    database_url = migrated_sqlite(tmp / "comments.sqlite3")
    defaults = {
        "ALLOWED_ORIGINS": allowed_origin,
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "MIN_SUBMIT_SECONDS": "0",
        "RATELIMIT_ENABLED": "false",
        "MODERATION": "none",
    }
    env = service_env(
        database_url, tmp, **{**defaults, **{key.upper(): value for key, value in settings.items()}}
    )
    server = Server(env, tmp / "gunicorn.log", port=port, ready_path="/embed.js")
    try:
        server.start(timeout=60)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    return Service(server.base_url, server, env)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def blog():
    server = BlogServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def foreign_blog():
    """A blog on an origin the service does not list."""
    server = BlogServer()
    yield server
    server.close()


# Two instances with different settings. They start together, on first use, so their
# start-up times overlap instead of adding up.
INSTANCES = {
    "service": {},
    "strict": {"moderation": "all", "edit_window": "2"},
    "paced": {"min_submit_seconds": "3"},  # the default bot timing
}


@pytest.fixture(scope="session")
def service_pool(blog, tmp_path_factory):
    with ThreadPoolExecutor(len(INSTANCES)) as pool:
        futures = {
            name: pool.submit(start_service, tmp_path_factory.mktemp(name), blog.origin, **settings)
            for name, settings in INSTANCES.items()
        }
        yield futures
        for future in futures.values():
            if future.exception() is None:
                future.result().stop()


@pytest.fixture(scope="session")
def service(service_pool) -> Service:
    """Moderation off, a 15-minute edit window: comments appear at once."""
    return service_pool["service"].result()


@pytest.fixture(scope="session")
def strict_service(service_pool) -> Service:
    """COMMENTSVC_MODERATION=all and COMMENTSVC_EDIT_WINDOW=2: every comment is held for a
    moderator, and its author may change it for two seconds only."""
    return service_pool["strict"].result()


@pytest.fixture(scope="session")
def paced_service(service_pool) -> Service:
    """COMMENTSVC_MIN_SUBMIT_SECONDS=3, the default: a form token younger than that is a bot's."""
    return service_pool["paced"].result()


@pytest.fixture
def thread_uri(request) -> str:
    """A thread of this test's own, so tests never see each other's comments."""
    name = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:60]
    return f"/test/{name}-{uuid.uuid4().hex[:8]}.html"


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core from npm, installed next to these tests on first use."""
    if not AXE_JS.exists():
        npm = shutil.which("npm")
        if npm is None:
            if os.environ.get("CI") == "true":
                pytest.fail("npm is needed to install axe-core")
            pytest.skip("npm is needed to install axe-core")
        subprocess.run(
            [npm, "install", "--no-audit", "--no-fund", "--prefix", str(BROWSER_DIR), "axe-core"],
            check=True,
            capture_output=True,
            timeout=300,
        )
    return AXE_JS


def serious_violations(page, axe_script: Path) -> list[dict]:
    """Run axe on the page (open shadow roots included); keep serious and critical findings."""
    page.add_script_tag(path=str(axe_script))
    result = page.evaluate("async () => await axe.run(document)")
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "targets": [n["target"] for n in v["nodes"]][:5],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


# A blog stylesheet that fights every element it can reach; the widget must stay usable.
HOSTILE_CSS = """<style>
  * { display: inline !important; font-size: 40px !important; }
  html, body, div, span, form, input, textarea, button, label, ol, li {
    margin: 0; padding: 0; border: 0; font: inherit; vertical-align: baseline;
    background: none; color: inherit; box-sizing: content-box;
  }
  input, textarea, button { all: unset !important; }
  #comments { line-height: 0; color: transparent; }
  head, script, style, noscript { display: none !important; }
</style>"""


def wait_for_widget(page):
    """Wait until the widget has loaded its thread and shows it."""
    expect(page.locator("#comments .csvc")).to_have_attribute("aria-busy", "false")
    expect(page.locator("#comments .csvc")).to_be_visible()
    expect(page.locator("#comments .csvc-count")).to_have_text(COUNT_TEXT)


def write_and_post(page, text: str) -> None:
    """Type a comment into the form on the page (the widget's or the plain page's) and post it."""
    page.get_by_label("Comment", exact=True).fill(text)
    page.get_by_role("button", name="Post comment").click()
