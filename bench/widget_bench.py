"""Widget figures: script and stylesheet sizes, and time to render a 100-comment thread.

    .venv/bin/python bench/widget_bench.py [--runs 9] [--chromium /usr/bin/chromium]

Sizes are the files as kept in the repository, as served (minified) and gzip -9. The render
time is measured in Chromium from the start of navigation to a blog page (another origin)
until the widget's shadow root holds its 100th comment element; each run uses a fresh
browser context (cold caches). Where the time goes comes from resource timings and the
widget's performance marks (commentsvc:start, commentsvc:data, commentsvc:built,
commentsvc:rendered).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import secrets
import signal
import statistics
import subprocess
import tempfile
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from _common import free_port, tool

REPO = Path(__file__).resolve().parent.parent
STATIC = REPO / "commentsvc" / "static"
URI = "/bench/hundred-comments.html"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

# Watches the widget's shadow root from the moment it exists and notes when the 100th
# comment element appears, in milliseconds since navigation started.
WATCH = """
const attach = Element.prototype.attachShadow;
Element.prototype.attachShadow = function (init) {
  const root = attach.call(this, init);
  new MutationObserver(() => {
    if (window.__rendered === undefined
        && root.querySelectorAll('article.csvc-comment').length >= 100) {
      window.__rendered = performance.now();
    }
  }).observe(root, {childList: true, subtree: true});
  return root;
};
"""


# Resource timings and the widget's own performance marks of one page view.
PHASES = """(() => {
  const entry = (part) => performance.getEntriesByType("resource")
    .find((e) => e.name.includes(part));
  const mark = (name) => (performance.getEntriesByName(name)[0] || {}).startTime;
  const nav = performance.getEntriesByType("navigation")[0];
  const embed = entry("/embed.js"), thread = entry("/api/threads"), css = entry("/widget.css");
  const start = mark("commentsvc:start"), data = mark("commentsvc:data");
  const built = mark("commentsvc:built"), done = mark("commentsvc:rendered");
  return {
    html: nav.responseEnd, embedStart: embed && embed.startTime,
    embedDequeued: embed && embed.domainLookupStart ? embed.domainLookupStart : null,
    embedConnected: embed && embed.connectEnd ? embed.connectEnd : null,
    embedAsked: embed && embed.requestStart ? embed.requestStart : null,
    embedFirst: embed && embed.responseStart ? embed.responseStart : null,
    embedEnd: embed && embed.responseEnd, start,
    threadStart: thread && thread.startTime,
    threadFirst: thread && thread.responseStart ? thread.responseStart : null,
    threadEnd: thread && thread.responseEnd,
    cssEnd: css && css.responseEnd, data, built, marked: done, rendered: window.__rendered,
    own: done !== undefined && start !== undefined ? done - start : null,
    build: built !== undefined && data !== undefined ? built - data : null,
  };
})()"""
PHASE_LABELS = {
    "html": "blog page received",
    "embedStart": "embed.js requested",
    "embedDequeued": "embed.js leaves the browser's queue",
    "embedConnected": "embed.js connection open",
    "embedAsked": "embed.js request sent",
    "embedFirst": "embed.js first byte",
    "embedEnd": "embed.js received",
    "start": "embed.js running",
    "threadStart": "thread requested",
    "threadFirst": "thread first byte",
    "threadEnd": "thread received",
    "cssEnd": "widget.css received",
    "data": "thread read, building starts",
    "built": "comments built (attached once styled)",
    "marked": "comments in the page",
    "rendered": "100 comments seen in the page",
    "own": "span: embed.js running to comments in the page",
    "build": "span: building the comments",
}


def sizes() -> None:
    from commentsvc.widget.assets import minified

    print(f"{'file':<12}{'source B':>10}{'served B':>10}{'gzip -9 B':>11}")
    total = {}
    for name in ("embed.js", "widget.css", "count.js"):
        served = minified(STATIC / name)
        total[name] = len(gzip.compress(served, 9))
        print(f"{name:<12}{(STATIC / name).stat().st_size:>10}{len(served):>10}{total[name]:>11}")
    both = total["embed.js"] + total["widget.css"]
    print(f"embed.js + widget.css gzip -9: {both} B (budget 12288 B)")
    print(f"count.js gzip -9: {total['count.js']} B (budget 1536 B)")


def call(method: str, url: str, body=None) -> dict:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def start_blog(service_url: str) -> tuple[ThreadingHTTPServer, str]:
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Bench post</title></head><body><h1>Bench post</h1>
<div id="comments" data-uri="{URI}"></div>
<script src="{service_url}/embed.js" async></script></body></html>""".encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/post.html"


def start_service(tmp: Path, blog_origin: str, port: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTSVC_")}
    env.update(
        {
            "COMMENTSVC_INSTANCE_PATH": str(tmp),
            "COMMENTSVC_DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
            "COMMENTSVC_SECRET_KEY": secrets.token_urlsafe(32),
            "COMMENTSVC_ALLOWED_ORIGINS": blog_origin,
            "COMMENTSVC_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "COMMENTSVC_MIN_SUBMIT_SECONDS": "0",
            "COMMENTSVC_RATELIMIT_ENABLED": "false",
            "COMMENTSVC_MODERATION": "none",
        }
    )
    subprocess.run(
        [tool("commentsvc"), "db", "upgrade"], cwd=REPO, env=env, check=True, capture_output=True
    )
    process = subprocess.Popen(
        [
            tool("gunicorn"),
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=REPO,
        env=env,
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/embed.js", timeout=1).close()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit("the service did not start")


def seed(service_url: str) -> None:
    """40 top-level comments and 60 replies, some of them five levels deep."""
    top: list[int] = []
    last = None
    for n in range(100):
        parent = None
        if n >= 40:
            parent = top[n % 40] if n < 80 else last
        text = (
            f"Comment {n}: *Markdown* with a [link](https://example.com/{n}) and `code`.\n\n"
            "A second paragraph, so the comment has some body to lay out."
        )
        token = call("GET", f"{service_url}/api/form-token?uri={URI}")["form_token"]
        last = call(
            "POST",
            f"{service_url}/api/comments",
            {
                "uri": URI,
                "text": text,
                "author": f"Reader {n}",
                "parent_id": parent,
                "email": f"reader{n}@example.com",
                "form_token": token,
            },
        )["id"]
        if n < 40:
            top.append(last)
    assert call("GET", f"{service_url}/api/threads?uri={URI}")["count"] == 100


def render_times(blog_url: str, runs: int, chromium: str) -> list[float]:
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            for _ in range(runs + 1):  # the first run warms the server's workers
                context = browser.new_context()
                page = context.new_page()
                page.add_init_script(WATCH)
                page.goto(blog_url)
                page.wait_for_function("window.__rendered !== undefined", timeout=30000)
                times.append(page.evaluate(PHASES))
                context.close()
        finally:
            browser.close()
    return times[1:]


def report(runs: list[dict]) -> None:
    """Medians of where the time goes, then the headline figures."""
    print("where the time goes (median ms from navigation start; spans in ms):")
    for key, label in PHASE_LABELS.items():
        values = [r[key] for r in runs if r.get(key) is not None]
        if values:
            print(f"  {label:<52}{statistics.median(values):>7.1f}")
    times = [r["rendered"] for r in runs]
    shown = ", ".join(f"{t:.0f}" for t in times)
    print(
        f"time to first render, 100 comments (ms from navigation, cold context): "
        f"median {statistics.median(times):.0f} of {len(times)} runs [{shown}]"
    )
    own = [r["own"] for r in runs if r.get("own") is not None]
    build = [r["build"] for r in runs if r.get("build") is not None]
    if own and build:
        print(
            f"the script's own work (embed.js start to comments in the page): median "
            f"{statistics.median(own):.0f} ms, of which building the 100 comments "
            f"{statistics.median(build):.1f} ms"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()

    sizes()
    port = free_port()
    blog, blog_url = start_blog(f"http://127.0.0.1:{port}")
    blog_origin = blog_url.rsplit("/", 1)[0]
    with tempfile.TemporaryDirectory() as tmp:
        service = start_service(Path(tmp), blog_origin, port)
        try:
            seed(f"http://127.0.0.1:{port}")
            times = render_times(blog_url, args.runs, args.chromium)
        finally:
            service.send_signal(signal.SIGINT)
            service.wait(10)
            blog.shutdown()
    report(times)


if __name__ == "__main__":
    main()
