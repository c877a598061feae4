"""The deployment guide's nginx configuration, run as written, in front of two app processes.

The nginx block between `# BEGIN commentsvc.conf` and `# END commentsvc.conf` in docs/deploy.md
is used verbatim, except for what a test machine must change: its ports (on 127.0.0.1 only), its
certificate (a throwaway self-signed one) and its upstream ports.
"""

from __future__ import annotations

import contextlib
import gzip
import http.client
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import ssl
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.conftest import need
from tests.support.databases import fresh_postgres, migrate, postgres_base
from tests.support.env import REPO, service_env
from tests.support.http import Headers, exchange
from tests.support.need import free_port
from tests.support.server import Server
from tests.support.tls import make_certificate

from .conftest import wait_for_widget, write_and_post

pytestmark = pytest.mark.browser

GUIDE = REPO / "docs" / "deploy.md"
NGINX = "/usr/sbin/nginx"
REDIS_URL = "redis://127.0.0.1:6379/13"  # a database of its own, flushed here
HOST = "127.0.0.1"
ACCESS_LINE = re.compile(r'" \d{3} \d+ "')  # gunicorn's access log format


def guide_block() -> str:
    """The nginx configuration as docs/deploy.md gives it."""
    found = re.search(
        r"^# BEGIN commentsvc\.conf\n(.*?)^# END commentsvc\.conf$", GUIDE.read_text(), re.S | re.M
    )
    assert found, f"{GUIDE} has no '# BEGIN commentsvc.conf' ... '# END commentsvc.conf' block"
    return found.group(1)


def _replace(text: str, pattern: str, replacement: str) -> str:
    """Substitute exactly one occurrence: a guide that changed shape must fail here, loudly."""
    result, count = re.subn(pattern, replacement, text, flags=re.M)
    assert count == 1, f"expected one match of {pattern!r} in the guide's block, found {count}"
    return result


def localised(
    block: str, *, tls: int, plain: int, cert: Path, key: Path, upstreams: tuple[int, int]
) -> str:
    """The guide's block with this machine's ports, certificate and upstreams, nothing else."""
    block = _replace(block, r"^(\s*listen\s+)443\b", rf"\g<1>{HOST}:{tls}")
    block = _replace(block, r"^(\s*listen\s+)80\b", rf"\g<1>{HOST}:{plain}")
    block = _replace(block, r"^(\s*ssl_certificate\s+)\S+;", rf"\g<1>{cert};")
    block = _replace(block, r"^(\s*ssl_certificate_key\s+)\S+;", rf"\g<1>{key};")
    block = _replace(block, r"\b127\.0\.0\.1:8081\b", f"{HOST}:{upstreams[0]}")
    block = _replace(block, r"\b127\.0\.0\.1:8082\b", f"{HOST}:{upstreams[1]}")
    assert "/etc/" not in block, block  # nothing left that points at the production host
    return block


def main_conf(folder: Path, block: str) -> str:
    """A minimal nginx.conf around the block, with every file it writes inside `folder`."""
    # As root, nginx's workers would otherwise run as nobody, who cannot enter pytest's folders.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {name}_temp_path {folder / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} info;
events {{}}
http {{
    types {{ text/html html; application/json json; application/javascript js; text/css css; }}
    default_type application/octet-stream;
    access_log {folder / "access.log"};
{temp}

{block}
}}
"""


def _kill_group(process: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


@dataclass
class Deployment:
    """nginx on https://127.0.0.1:<tls> in front of two app processes."""

    url: str
    tls_port: int
    plain_port: int
    database_url: str
    apps: list[Server]
    folder: Path
    context: ssl.SSLContext = field(repr=False)

    def connect(self, source: str = HOST) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(
            HOST, self.tls_port, timeout=30, context=self.context, source_address=(source, 0)
        )

    def logs(self) -> str:
        """nginx's error log and the apps' own messages (their access lines left out)."""
        parts = []
        for path in [self.folder / "error.log", *(app.log for app in self.apps)]:
            if path.exists():
                lines = [
                    line
                    for line in path.read_text(errors="replace").splitlines()
                    if not ACCESS_LINE.search(line)
                ]
                parts.append(f"--- {path.name}\n" + "\n".join(lines[-40:]))
        return "\n".join(parts)


def request(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body=None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Headers, bytes]:
    answer = exchange(conn, method, path, body, headers)
    return answer.status, answer.headers, answer.body


def post_comment(conn, uri: str, text: str, headers=None) -> tuple[int, dict]:
    """A fresh form token for the thread, then the post: (status, JSON body)."""
    query = urllib.parse.urlencode({"uri": uri})
    status, _, body = request(conn, "GET", f"/api/form-token?{query}", headers=headers)
    assert status == 200, (status, body[:300])
    token = json.loads(body)["form_token"]
    status, _, body = request(
        conn, "POST", "/api/comments", {"uri": uri, "text": text, "form_token": token}, headers
    )
    return status, json.loads(body) if body.startswith(b"{") else {}


def stored(database_url: str) -> dict[int, tuple[str, str, str | None]]:
    """Every comment in the database, read directly: id -> (uri, text, stored address)."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT c.id, t.uri, c.text, c.remote_addr "
                    "FROM comments c JOIN threads t ON t.id = c.thread_id"
                )
            ).all()
    finally:
        engine.dispose()
    return {row.id: (row.uri, row.text, row.remote_addr) for row in rows}


@pytest.fixture(scope="module")
def deployment(blog, tmp_path_factory) -> Iterator[Deployment]:
    need(Path(NGINX).exists(), f"{NGINX} is missing (apt-get install -y nginx)")
    need(shutil.which("openssl") is not None, "openssl is missing (apt-get install -y openssl)")
    base = postgres_base()
    try:
        redis.Redis.from_url(REDIS_URL).flushdb()
    except redis.RedisError as exc:
        need(False, f"Redis is not reachable at {REDIS_URL}: {exc}")

    folder = tmp_path_factory.mktemp("deploy")
    tls, plain, first, second = (free_port() for _ in range(4))
    cert, key = make_certificate(folder, "deploy")
    conf = folder / "nginx.conf"
    conf.write_text(
        main_conf(
            folder,
            localised(
                guide_block(), tls=tls, plain=plain, cert=cert, key=key, upstreams=(first, second)
            ),
        )
    )
    nginx_base = [NGINX, "-c", str(conf), "-p", str(folder), "-e", str(folder / "error.log")]
    checked = subprocess.run([*nginx_base, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, f"nginx -t refused the guide's block:\n{checked.stderr}"

    with fresh_postgres(base, prefix="commentsvc_deploy") as database_url:
        url = f"https://{HOST}:{tls}"
        env = service_env(
            database_url,
            folder,
            TRUSTED_PROXIES=1,
            PUBLIC_URL=url,
            ALLOWED_ORIGINS=blog.origin,
            REDIS_URL=REDIS_URL,
            RATELIMIT_ENABLED=True,
            RATELIMIT_POST="3 per minute",
            MIN_SUBMIT_SECONDS=0,
            MODERATION="none",
            MAIL_BACKGROUND=False,
        )
        migrate(database_url, folder)
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        site = Deployment(url, tls, plain, database_url, [], folder, context)
        nginx = None
        try:
            for port in (first, second):  # both boot side by side
                app = Server(env, folder / f"app-{port}.log", workers=1, port=port, cli=True)
                site.apps.append(app)
                app.launch()
            with (folder / "nginx.out").open("wb") as out:
                nginx = subprocess.Popen(
                    [*nginx_base, "-g", "daemon off;"],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            for app in site.apps:
                app.wait_ready(30)
            deadline = time.monotonic() + 30
            while not answers_through_nginx(site):
                assert nginx.poll() is None, (folder / "error.log").read_text()
                assert time.monotonic() < deadline, site.logs()
                time.sleep(0.1)
            yield site
        finally:
            if nginx is not None and nginx.poll() is None:
                nginx.send_signal(signal.SIGQUIT)  # graceful: finish what is in flight
                try:
                    nginx.wait(10)
                except subprocess.TimeoutExpired:
                    _kill_group(nginx)
                    nginx.wait(5)
            for app in site.apps:
                app.stop()


def answers_through_nginx(site: Deployment) -> bool:
    conn = site.connect()
    try:
        return request(conn, "GET", "/healthz")[0] == 200
    except OSError:
        return False
    finally:
        conn.close()


@pytest.fixture
def https_page(browser):
    """A page in a context of its own that accepts the throwaway certificate."""
    context = browser.new_context(ignore_https_errors=True)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_widget_through_nginx_loads_posts_and_stores_the_comment(
    https_page, blog, deployment, thread_uri
):
    page = https_page
    page.goto(blog.post_page(deployment, thread_uri))
    wait_for_widget(page)
    text = f"Posted through the proxy {secrets.token_hex(4)}"
    write_and_post(page, text)
    expect(page.locator("#comments article.csvc-comment", has_text=text)).to_be_visible()
    expect(page.locator("#comments .csvc-count")).to_have_text("1 comment")
    assert [
        (uri, body) for uri, body, _ in stored(deployment.database_url).values() if body == text
    ] == [(thread_uri, text)]


def test_rate_limit_counts_the_address_nginx_saw_not_a_forged_header(deployment, thread_uri):
    texts = [f"Comment {n} from one reader {secrets.token_hex(3)}" for n in range(5)]
    statuses = []
    conn = deployment.connect("127.0.0.2")
    try:
        for n, text in enumerate(texts):
            # A different forged address each time: were it believed, no limit would ever bite.
            forged = {"X-Forwarded-For": f"10.1.2.{n + 1}"}
            statuses.append(post_comment(conn, thread_uri, text, forged)[0])
    finally:
        conn.close()
    assert statuses == [201, 201, 201, 429, 429], deployment.logs()

    other = deployment.connect("127.0.0.3")
    try:
        status, body = post_comment(other, thread_uri, "Another reader, another budget")
    finally:
        other.close()
    assert status == 201, body
    # The forged header never reached the app: it stored the address nginx saw.
    addresses = {
        text: address
        for uri, text, address in stored(deployment.database_url).values()
        if uri == thread_uri
    }
    assert set(addresses) == {*texts[:3], "Another reader, another budget"}
    assert set(addresses.values()) == {"127.0.0.0"}, addresses  # stored as its /24


def test_json_is_gzipped(deployment):
    conn = deployment.connect()
    try:
        status, headers, body = request(
            conn, "GET", "/api/openapi.json", headers={"Accept-Encoding": "gzip"}
        )
        assert status == 200
        assert headers.get("content-encoding") == "gzip", headers
        assert "Accept-Encoding" in headers.get("vary", ""), headers
        spec = json.loads(gzip.decompress(body))
        assert "/api/comments" in spec["paths"]
        # A client that does not ask for gzip gets the plain document.
        status, headers, plain = request(conn, "GET", "/api/openapi.json")
        assert status == 200 and "content-encoding" not in headers
        assert json.loads(plain) == spec
    finally:
        conn.close()


def test_plain_http_is_redirected_to_https(deployment):
    conn = http.client.HTTPConnection(HOST, deployment.plain_port, timeout=10)
    try:
        conn.request("GET", "/comments?uri=/a-post.html")
        response = conn.getresponse()
        response.read()
    finally:
        conn.close()
    assert response.status == 301
    # $host carries no port: on the standard ports of the guide, that is the https URL.
    assert response.getheader("Location") == f"https://{HOST}/comments?uri=/a-post.html"


def form_token(deployment: Deployment, source: str, uri: str, tries: int = 3) -> str:
    """A form token for the thread, asked for again (as the widget does) when the request
    was cut by a process dying: the post is what the crash test judges, not this."""
    query = urllib.parse.urlencode({"uri": uri})
    failures = []
    for _ in range(tries):
        conn = deployment.connect(source)
        try:
            status, _, body = request(conn, "GET", f"/api/form-token?{query}")
        except (OSError, http.client.HTTPException) as exc:
            status, body = 0, repr(exc).encode()
        finally:
            conn.close()
        if status == 200:
            return json.loads(body)["form_token"]
        failures.append((status, body[:300]))
    raise AssertionError(f"no form token in {tries} tries: {failures}")


def test_a_killed_app_process_loses_no_read_and_no_acknowledged_post(deployment, thread_uri):
    """Runs last: it leaves one of the two app processes dead."""
    stop = threading.Event()
    reads: list[int | str] = []
    posts: list[tuple[int, dict, str]] = []
    query = urllib.parse.urlencode({"uri": thread_uri})

    def read_loop() -> None:
        conn = deployment.connect()
        while not stop.is_set():
            try:
                reads.append(request(conn, "GET", f"/api/threads?{query}")[0])
            except (OSError, http.client.HTTPException) as exc:
                reads.append(repr(exc))
                conn = deployment.connect()
        conn.close()

    def post_loop() -> None:
        n = 0
        while not stop.is_set():
            # One address per post, one thread per post: no rate limit is what answers.
            n += 1
            source = f"127.1.{n // 250}.{n % 250 + 1}"
            uri, text = f"{thread_uri}-{n}", f"Posted while a process dies {n}"
            token = form_token(deployment, source, uri)
            conn = deployment.connect(source)
            try:
                status, _, body = request(
                    conn, "POST", "/api/comments", {"uri": uri, "text": text, "form_token": token}
                )
                posts.append((status, json.loads(body) if body.startswith(b"{") else {}, text))
            except (OSError, http.client.HTTPException) as exc:
                posts.append((0, {"error": repr(exc)}, text))
            finally:
                conn.close()

    def served(reads_at_least: int, posts_at_least: int) -> None:
        """Wait until that many reads and acknowledged posts have been answered so far."""
        deadline = time.monotonic() + 60
        while len(reads) < reads_at_least or sum(s == 201 for s, _, _ in posts) < posts_at_least:
            assert time.monotonic() < deadline, (
                f"{len(reads)} reads and {sum(s == 201 for s, _, _ in posts)} posts in 60 s"
            )
            time.sleep(0.05)

    workers = [
        threading.Thread(target=read_loop),
        threading.Thread(target=read_loop),
        threading.Thread(target=post_loop),
    ]
    for worker in workers:
        worker.start()
    try:
        served(10, 3)  # both processes at work
        victim = deployment.apps[0]
        victim.kill()  # master and worker at once, as a crash would
        served(len(reads) + 20, sum(s == 201 for s, _, _ in posts) + 3)  # and after the kill
    finally:
        stop.set()
        for worker in workers:
            worker.join(30)

    assert len(reads) > 20 and set(reads) == {200}, (
        f"{len(reads)} reads, not all 200: {[r for r in reads if r != 200][:10]}\n"
        f"{deployment.logs()}"
    )
    statuses = [status for status, _, _ in posts]
    assert statuses.count(201) > 5 and set(statuses) <= {201, 502}, (
        statuses,
        [post for post in posts if post[0] != 201],
        deployment.logs(),
    )
    in_database = stored(deployment.database_url)
    lost = [
        (body.get("id"), text)
        for status, body, text in posts
        if status == 201 and in_database.get(body["id"], (None, None))[1] != text
    ]
    assert lost == [], f"acknowledged but not stored: {lost}"
