"""Comments brought in by `commentsvc import` from real exports, as a blog's readers see them."""

from __future__ import annotations

import csv
import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ..conftest import corpus
from .conftest import Service, start_service, wait_for_widget

# Dates are checked as the reader sees them: pin the browser's zone and language.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.browser_context_args(timezone_id="UTC", locale="en-US"),
]

WORDPRESS_POST = "http://example.tld/2014/test/"
WORDPRESS_OTHER = "http://example.tld/?p=4"
BLOGGER = "http://www.blogger.com/blogspot/jjsfavoritethings/2008/04/"
BLOGGER_POST = BLOGGER + "this-about-sums-up-my-life.html"
BLOGGER_OTHER = BLOGGER + "somewhat-brief-history.html"


@dataclass
class Shown:
    """One comment as the widget should show it: who, what, when, and its replies."""

    author: str
    text: str
    created: str
    replies: list[Shown] = field(default_factory=list)


# The post of isso-wordpress.xml, all approved there: 6 <- 7 <- (8, 9) is the one nest.
# Comment 7 has only a GMT date; comment 10's local date is ten hours off its GMT one.
WORDPRESS_THREAD = [
    Shown("Ohai", "Erster!1", "2014-01-14T17:32:12Z"),
    Shown(
        "Tester",
        "Zweiter.",
        "2014-04-29T15:21:27Z",
        [
            Shown(
                "Tester",
                "Drölfter!",
                "2014-04-29T15:21:35Z",
                [
                    Shown("Tester", "Yet another reply.", "2014-04-29T15:21:45Z"),
                    Shown("Tester", "...", "2014-04-29T15:21:52Z"),
                ],
            ),
        ],
    ),
    Shown(
        "Multiline Author",
        "When you have a comment with multiple lines:\nWordPress exports it like this.",
        "2022-06-06T02:13:14Z",
    ),
    Shown("Letzter :/", "...", "2022-06-07T15:21:56Z"),
]

# gconverters-blogger-sample2.xml: two comments of 2008-11-11 in California, -08:00.
BLOGGER_THREAD = [
    Shown("journalseditor @ aol", "Your video isn't showing up", "2008-11-12T00:08:00Z"),
    Shown("JJ", "I'll get that fixed soon.", "2008-11-12T00:10:00Z"),
]

# Every comment of a mounted widget, as the page lays it out: nesting from the DOM (a reply
# is an item of its parent's reply list), text as rendered, position on the screen.
RENDERED_TREE = """host => {
    const walk = (list) => [...list.children].map((li) => {
        const article = li.querySelector(":scope > article.csvc-comment");
        const time = article.querySelector(".csvc-meta time");
        const replies = li.querySelector(":scope > ol.csvc-replies");
        return {
            author: article.querySelector(".csvc-author").textContent,
            text: article.querySelector(".csvc-body").innerText,
            datetime: time.getAttribute("datetime"),
            title: time.title,
            shown: time.textContent,
            left: article.getBoundingClientRect().left,
            replies: replies ? walk(replies) : [],
        };
    });
    return walk(host.shadowRoot.querySelector("ol.csvc-list"));
}"""


def unique_uri() -> str:
    return f"/imported-{uuid.uuid4().hex[:12]}/"


def run_import(service: Service, tmp: Path, fmt: str, export: Path, uri_map: dict[str, str]) -> str:
    """The real command, on the running instance's database and secret key."""
    map_file = tmp / f"uri-map-{uuid.uuid4().hex[:8]}.csv"
    with map_file.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(uri_map.items())
    done = service.command(
        "import", fmt, str(export), "--uri-map", str(map_file), "--quiet", timeout=120
    )
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
    assert "Refused: 0" in done.stdout.splitlines(), done.stdout
    return done.stdout


@pytest.fixture(scope="module")
def importing_service(blog, tmp_path_factory):
    """An instance of its own: an import skips what the site already holds from the same
    file, so a shared instance would depend on what other tests imported before."""
    service = start_service(tmp_path_factory.mktemp("imported"), blog.origin)
    yield service
    service.stop()


@pytest.fixture(scope="module")
def wordpress(importing_service, tmp_path_factory) -> dict[str, str]:
    """isso-wordpress.xml imported, each post at a new uri: old URL -> uri."""
    uris = {WORDPRESS_POST: unique_uri(), WORDPRESS_OTHER: unique_uri()}
    run_import(
        importing_service,
        tmp_path_factory.mktemp("wordpress"),
        "wordpress",
        corpus("imports", "wordpress", "isso-wordpress.xml"),
        uris,
    )
    return uris


@pytest.fixture(scope="module")
def blogger(importing_service, tmp_path_factory) -> dict[str, str]:
    """gconverters-blogger-sample2.xml imported, each post with comments at a new uri."""
    uris = {BLOGGER_POST: unique_uri(), BLOGGER_OTHER: unique_uri()}
    run_import(
        importing_service,
        tmp_path_factory.mktemp("blogger"),
        "blogger",
        corpus("imports", "blogger", "gconverters-blogger-sample2.xml"),
        uris,
    )
    return uris


def rendered(page) -> list[dict]:
    return page.locator("#comments").evaluate(RENDERED_TREE)


def shape(nodes: list[dict]) -> list[Shown]:
    return [Shown(n["author"], n["text"], n["datetime"], shape(n["replies"])) for n in nodes]


def exact_date(iso: str) -> str:
    """What Intl.DateTimeFormat("en", {dateStyle: "full", timeStyle: "short"}) shows in UTC."""
    return datetime.fromisoformat(iso).strftime("%A, %B %-d, %Y at %-I:%M %p")


def years_ago(iso: str, now: datetime) -> str:
    """The widget's relative date for a comment over a year old (JavaScript's Math.round)."""
    years = -math.floor((datetime.fromisoformat(iso) - now).total_seconds() / 31536e3 + 0.5)
    assert years >= 2, iso
    return f"{years} years ago"


def check_dates(nodes: list[dict], now: datetime) -> None:
    for node in nodes:
        title = node["title"].replace("\u202f", " ").replace("\xa0", " ")
        assert (title, node["shown"]) == (
            exact_date(node["datetime"]),
            years_ago(node["datetime"], now),
        ), node
        check_dates(node["replies"], now)


def check_indented(nodes: list[dict]) -> None:
    for node in nodes:
        for reply in node["replies"]:
            assert reply["left"] > node["left"], (node["text"], reply["text"])
        check_indented(node["replies"])


def test_imported_wordpress_thread_keeps_nesting_authors_and_dates(
    page, blog, importing_service, wordpress
):
    uri = wordpress[WORDPRESS_POST]
    page.goto(blog.post_page(importing_service, uri, title="Hello, World…"))
    wait_for_widget(page)
    expect(page.locator("#comments .csvc-count")).to_have_text("7 comments")

    tree = rendered(page)
    now = datetime.now(UTC)
    assert shape(tree) == WORDPRESS_THREAD
    check_dates(tree, now)
    check_indented(tree)
    # Replies by the nest, not by the page's order: the reply of a reply sits under it.
    drolfter = page.locator("#comments li.csvc-item", has_text="Drölfter!").last
    expect(drolfter.locator("ol.csvc-replies article.csvc-comment")).to_have_count(2)

    ohai = page.locator("#comments article.csvc-comment", has_text="Erster!1")
    expect(ohai.locator("a.csvc-author")).to_have_attribute("href", "http://example.tld/")
    expect(ohai.locator("time")).to_have_attribute("datetime", "2014-01-14T17:32:12Z")

    # The map moved the thread: nothing was made at the post's old path.
    assert importing_service.count("/2014/test/") == 0
    assert importing_service.thread(uri)["title"] == "Hello, World…"


def test_imported_blogger_thread_shows_its_comments_of_2008(page, blog, importing_service, blogger):
    page.goto(blog.post_page(importing_service, blogger[BLOGGER_POST]))
    wait_for_widget(page)
    expect(page.locator("#comments .csvc-count")).to_have_text("2 comments")

    tree = rendered(page)
    now = datetime.now(UTC)
    assert shape(tree) == BLOGGER_THREAD
    check_dates(tree, now)
    assert exact_date(tree[0]["datetime"]) == "Wednesday, November 12, 2008 at 12:08 AM"
    author = page.locator("#comments article.csvc-comment", has_text="Your video").locator(
        "a.csvc-author"
    )
    expect(author).to_have_attribute("href", "http://www.blogger.com/profile/14651649569077291860")
    expect(author).to_have_attribute("rel", "nofollow ugc noopener")


def test_imported_html_is_shown_formatted(page, blog, importing_service, wordpress, blogger):
    page.goto(blog.post_page(importing_service, wordpress[WORDPRESS_POST]))
    wait_for_widget(page)
    body = page.locator("#comments article.csvc-comment", has_text="multiple lines").locator(
        ".csvc-body"
    )
    expect(body.locator("br")).to_have_count(1)
    assert body.inner_text().split("\n") == [
        "When you have a comment with multiple lines:",
        "WordPress exports it like this.",
    ]

    page.goto(blog.post_page(importing_service, blogger[BLOGGER_OTHER]))
    wait_for_widget(page)
    expect(page.locator("#comments .csvc-count")).to_have_text("1 comment")
    body = page.locator("#comments article.csvc-comment").locator(".csvc-body")
    expect(body).to_have_text("Nice picture!!!I mean NICE picture.")  # textContent, no tags
    assert body.inner_text() == "Nice picture!!!\n\nI mean NICE picture."
    expect(body.locator("br")).to_have_count(2)
    bold = body.locator("strong, b")
    expect(bold).to_have_text("NICE")
    assert int(bold.evaluate("el => getComputedStyle(el).fontWeight")) >= 600
    assert "<" not in body.inner_text() and "&lt;" not in body.inner_html()


def test_count_js_shows_the_imported_counts(page, blog, importing_service, wordpress, blogger):
    threads = {
        "wordpress": wordpress[WORDPRESS_POST],
        "wordpress-other": wordpress[WORDPRESS_OTHER],
        "blogger": blogger[BLOGGER_POST],
        "blogger-other": blogger[BLOGGER_OTHER],
    }
    counts = {name: importing_service.count(uri) for name, uri in threads.items()}
    # What the exports hold, every comment approved there.
    assert counts == {"wordpress": 7, "wordpress-other": 1, "blogger": 2, "blogger-other": 1}
    links = "\n".join(
        f'<p><a id="{name}" href="{uri}" data-comment-count="">Comments</a></p>'
        for name, uri in threads.items()
    )
    index = blog.add(
        f"/index-{uuid.uuid4().hex[:8]}.html",
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Archive</title></head>
<body><h1>Old posts</h1>{links}
<script src="{importing_service.url}/count.js" async></script></body></html>""",
    )
    page.goto(index)
    for name, n in counts.items():
        expect(page.locator(f"#{name}")).to_have_text(f"{n} comment" + ("s" if n > 1 else ""))
