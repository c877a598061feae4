"""data-site: on a server that keeps several blogs' comments, the widget and count.js name
their blog on every API call, and leave the default site's addresses as they always were."""

import urllib.parse
import uuid

import pytest
from playwright.sync_api import expect

from .conftest import wait_for_widget

pytestmark = pytest.mark.browser


def record_and_forward(calls: list):
    """A route for the service's API that notes each call's method, path and ?site=, then sends
    it on without ?site= (the server serves the default site only, for now)."""

    def handle(route):
        url = urllib.parse.urlsplit(route.request.url)
        query = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        calls.append((route.request.method, url.path, dict(query).get("site")))
        kept = urllib.parse.urlencode([(k, v) for k, v in query if k != "site"])
        route.continue_(url=urllib.parse.urlunsplit(url._replace(query=kept)))

    return handle


def test_the_widget_names_its_site_on_every_api_call(page, blog, service, thread_uri):
    theirs = service.post(thread_uri, "Someone else's comment")
    calls = []
    page.route(service.url + "/api/**", record_and_forward(calls))
    page.goto(blog.post_page(service, thread_uri, script_attrs='data-site="blog-2"'))
    wait_for_widget(page)
    other = page.locator(f"#comments #comment-{theirs['id']}")
    other.get_by_role("button", name="Vote up").click()
    expect(other.locator(".csvc-score")).to_have_text("1")

    page.get_by_label("Comment", exact=True).fill("Mine, *for now*")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("#comments .csvc-preview em")).to_have_text("for now")
    page.get_by_role("button", name="Post comment").click()
    mine = page.locator("#comments article.csvc-comment", has_text="Mine, for now")
    expect(mine).to_be_visible()
    mine_id = int(mine.get_attribute("id").removeprefix("comment-"))
    mine = page.locator(f"#comments #comment-{mine_id}")
    mine.get_by_role("button", name="Edit").click()
    mine.get_by_label("Edit your comment").fill("Mine, changed")
    mine.get_by_role("button", name="Save").click()
    expect(mine.locator(".csvc-edited")).to_be_visible()
    mine.get_by_role("button", name="Delete").click()
    page.get_by_role("button", name="Yes, delete").click()
    expect(mine).to_have_count(0)

    assert {(method, path) for method, path, _ in calls} == {
        ("GET", "/api/threads"),
        ("GET", "/api/form-token"),
        ("POST", "/api/preview"),
        ("POST", "/api/comments"),
        ("POST", f"/api/comments/{theirs['id']}/vote"),
        ("PATCH", f"/api/comments/{mine_id}"),
        ("DELETE", f"/api/comments/{mine_id}"),
    }
    assert {site for _, _, site in calls} == {"blog-2"}


def count_page(blog, service, uri: str, script_attrs: str) -> str:
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Index</title>
</head><body><p><a id="count" href="{uri}#comments" data-comment-count="">Comments</a></p>
<script src="{service.url}/count.js" {script_attrs} async></script></body></html>"""
    return blog.add(f"/index-{uuid.uuid4().hex[:8]}.html", html)


def test_count_js_names_its_site(page, blog, service, thread_uri):
    service.post(thread_uri, f"Counted, on {thread_uri}")
    calls = []
    page.route(service.url + "/api/**", record_and_forward(calls))
    page.goto(count_page(blog, service, thread_uri, 'data-site="blog-2"'))
    expect(page.locator("#count")).to_have_text("1 comment")
    assert calls == [("POST", "/api/counts", "blog-2")]


@pytest.mark.parametrize("script_attrs", ["", 'data-site="default"'])
def test_the_default_sites_addresses_are_unchanged(page, blog, service, thread_uri, script_attrs):
    service.post(thread_uri, f"Counted, on {thread_uri}")
    urls = []
    page.on("request", lambda r: urls.append(r.url) if "/api/" in r.url else None)
    page.goto(blog.post_page(service, thread_uri, script_attrs=script_attrs))
    wait_for_widget(page)
    page.goto(count_page(blog, service, thread_uri, script_attrs))
    expect(page.locator("#count")).to_have_text("1 comment")
    quoted = urllib.parse.quote(thread_uri, safe="")
    assert urls == [
        f"{service.url}/api/threads?uri={quoted}&sort=oldest",
        f"{service.url}/api/counts",
    ]
