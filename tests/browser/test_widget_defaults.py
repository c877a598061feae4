"""What the widget takes when the blog leaves data-uri and data-title out, and when it sets them.

(data-theme="light"/"dark" overriding the page's own colours is proved in test_widget_design.py.)
"""

from __future__ import annotations

import secrets

import pytest
from playwright.sync_api import expect

from .conftest import wait_for_widget, write_and_post

pytestmark = pytest.mark.browser


def page_html(service, title: str, attrs: str = "") -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main><h1>A post</h1><div id="comments"{attrs}></div>
<script src="{service.url}/embed.js" async></script></main></body></html>"""


def post_through_widget(page, text: str) -> None:
    write_and_post(page, text)
    expect(page.locator("#comments article.csvc-comment", has_text=text)).to_be_visible()


def test_without_data_attributes_the_thread_is_the_page_path_and_title(page, blog, service):
    path = f"/2026/{secrets.token_hex(5)}/defaults.html"
    url = blog.add(path, page_html(service, "Persistence pays off"))
    text = f"Filed under the page's own path {secrets.token_hex(3)}"

    page.goto(url + "?utm_source=feed#comments")  # neither query nor fragment name the thread
    wait_for_widget(page)
    post_through_widget(page, text)

    thread = service.thread(path)
    assert thread["title"] == "Persistence pays off"
    assert [c["html"] for c in thread["comments"]] == [f"<p>{text}</p>"]
    # Read back the same way: a fresh load of the page shows the comment.
    page.goto(url)
    wait_for_widget(page)
    expect(page.locator("#comments article.csvc-comment", has_text=text)).to_be_visible()


def test_data_uri_and_data_title_name_the_thread(page, blog, service):
    path = f"/page-{secrets.token_hex(5)}.html"
    uri = f"/canonical/{secrets.token_hex(5)}.html"
    url = blog.add(
        path,
        page_html(
            service,
            "Blog name | A long browser title",
            f' data-uri="{uri}" data-title="The post itself"',
        ),
    )
    text = f"Filed under the canonical uri {secrets.token_hex(3)}"

    page.goto(url)
    wait_for_widget(page)
    post_through_widget(page, text)

    thread = service.thread(uri)
    assert thread["title"] == "The post itself"
    assert [c["html"] for c in thread["comments"]] == [f"<p>{text}</p>"]
    assert service.thread(path)["count"] == 0
