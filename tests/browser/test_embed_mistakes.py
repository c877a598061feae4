"""Embedding mistakes explained: a page on an origin the server does not list is told so (and
how the owner fixes it), the server says it once in its log, count.js warns once in the
console; a network failure and a server error each say what they are."""

from __future__ import annotations

import re

from playwright.sync_api import expect

WORKERS = 2  # each gunicorn worker process of the test service warns once


def status_of(page):
    return page.locator("#comments .csvc-status").first


def test_a_refused_origin_is_explained_to_the_reader_and_logged_once(
    page, foreign_blog, service, thread_uri
):
    for _ in range(4):
        page.goto(foreign_blog.post_page(service, thread_uri))
        expect(status_of(page)).to_have_text(
            re.compile(
                "This site is not allowed to load comments from its comment server. The site's "
                f"owner can allow it by adding {re.escape(foreign_blog.origin)} to "
                "COMMENTSVC_ALLOWED_ORIGINS."
            )
        )
    warnings = [
        line
        for line in service.log.read_text().splitlines()
        if f"origin '{foreign_blog.origin}'" in line
    ]
    assert 1 <= len(warnings) <= WORKERS, warnings
    assert "COMMENTSVC_ALLOWED_ORIGINS" in warnings[0]


def test_count_js_keeps_the_link_text_and_warns_once(page, foreign_blog, service):
    messages = []
    page.on("console", lambda message: messages.append((message.type, message.text)))
    links = "".join(
        f'<a href="/p{n}.html" data-comment-count="/p{n}.html">Comments</a> ' for n in range(150)
    )  # two requests: still one warning
    url = foreign_blog.add(
        "/index-counts.html",
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Index</title></head><body><main>
{links}<script src="{service.url}/count.js" async></script></main></body></html>""",
    )
    page.goto(url)
    page.wait_for_timeout(1500)  # both requests have failed by now
    expect(page.locator("a").first).to_have_text("Comments")
    warned = [text for kind, text in messages if kind == "warning" and "commentsvc" in text]
    assert len(warned) == 1 and "COMMENTSVC_ALLOWED_ORIGINS" in warned[0], messages


def test_a_network_failure_says_so(page, blog, service, thread_uri):
    page.route(service.url + "/api/threads*", lambda route: route.abort())
    page.goto(blog.post_page(service, thread_uri))
    expect(status_of(page)).to_have_text(
        re.compile(
            "Comments could not be loaded. Could not reach the comment server. Check your "
            "connection"
        )
    )


def test_a_server_error_says_so(page, blog, service, thread_uri):
    page.route(
        service.url + "/api/threads*",
        lambda route: route.fulfill(
            status=502,
            body="<html>Bad gateway</html>",
            headers={"Access-Control-Allow-Origin": blog.origin, "Content-Type": "text/html"},
        ),
    )
    page.goto(blog.post_page(service, thread_uri))
    expect(status_of(page)).to_have_text(
        re.compile(r"The comment server ran into a problem \(error 502\). Please try again")
    )
