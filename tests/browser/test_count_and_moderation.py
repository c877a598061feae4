"""count.js on an index page; held comments; editing and deleting one's own comment."""

import re
import sqlite3
import time
import uuid
from contextlib import closing

import pytest
from playwright.sync_api import expect

from tests.support.http import http_json

from .conftest import wait_for_widget, write_and_post

pytestmark = pytest.mark.browser


def index_page(blog, service, uri: str, other: str) -> str:
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Index</title>
</head><body><h1>Posts</h1>
<p><a id="by-attribute" href="/elsewhere.html" data-comment-count="{uri}">Comments</a></p>
<p><a id="by-href" href="{uri}#comments" data-comment-count="">Comments</a></p>
<p><span id="same-again" data-comment-count="{uri}">Comments</span></p>
<p><a id="other" href="/x.html" data-comment-count="{other}">Comments</a></p>
<script src="{service.url}/count.js" async></script>
</body></html>"""
    return blog.add(f"/index-{uuid.uuid4().hex[:8]}.html", html)


def test_count_js_fills_every_count_with_one_request(page, blog, service, thread_uri):
    other = thread_uri.replace(".html", "-other.html")
    service.post(other, "Elsewhere")
    url = index_page(blog, service, thread_uri, other)
    requests = []
    page.on("request", lambda r: requests.append((r.method, r.url)) if "/api/" in r.url else None)

    for expected in ("No comments", "1 comment", "2 comments"):
        requests.clear()
        page.goto(url)
        for element_id in ("by-attribute", "by-href", "same-again"):
            expect(page.locator(f"#{element_id}")).to_have_text(expected)
        expect(page.locator("#other")).to_have_text("1 comment")
        assert requests == [("POST", service.url + "/api/counts")]
        service.post(thread_uri, f"Comment after seeing {expected}")
    assert page.context.cookies() == []


def test_held_comment_is_shown_only_to_its_author(page, browser, blog, strict_service, thread_uri):
    url = blog.post_page(strict_service, thread_uri)
    page.goto(url)
    wait_for_widget(page)
    write_and_post(page, "Please approve me")
    mine = page.locator("#comments article.csvc-comment", has_text="Please approve me")
    expect(mine).to_be_visible()
    expect(mine.locator(".csvc-pending-note")).to_have_text("awaiting moderation")
    # The message stands next to the comment, and the heading counts it, marked as held.
    expect(mine.locator(".csvc-msg")).to_have_text(re.compile("awaiting moderation"))
    expect(page.locator("#comments .csvc-count")).to_have_text("1 comment (1 awaiting moderation)")

    # After a reload the widget asks for it again with the reader's edit token.
    page.reload()
    wait_for_widget(page)
    expect(mine.locator(".csvc-pending-note")).to_have_text("awaiting moderation")

    stranger = browser.new_context()
    try:
        other = stranger.new_page()
        other.goto(url)
        wait_for_widget(other)
        expect(other.locator("#comments .csvc-count")).to_have_text("No comments")
        expect(other.locator("#comments article")).to_have_count(0)
    finally:
        stranger.close()


def own_tokens(page):
    return page.evaluate("""() => Object.keys(localStorage)
        .filter(k => k.includes(':token:'))
        .map(k => JSON.parse(localStorage.getItem(k)))""")


def test_edit_and_delete_own_comment_inside_the_window(page, blog, service, thread_uri):
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)
    write_and_post(page, "First version")
    mine = page.locator("#comments article.csvc-comment").first
    expect(mine).to_contain_text("First version")
    mine = page.locator("#comments #" + mine.get_attribute("id"))
    [token] = own_tokens(page)
    assert token["uri"] == thread_uri and token["t"]

    mine.get_by_role("button", name="Edit").click()
    editor = mine.get_by_label("Edit your comment")
    expect(editor).to_be_focused()
    expect(editor).to_have_value("First version")
    editor.fill("Second *version*")
    mine.get_by_role("button", name="Save").click()
    expect(mine.locator(".csvc-body em")).to_have_text("version")
    expect(mine.locator(".csvc-edited")).to_be_visible()
    assert service.thread(thread_uri)["comments"][0]["html"] == "<p>Second <em>version</em></p>"

    # Someone else's comment has no Edit or Delete.
    service.post(thread_uri, "Not mine")
    page.reload()
    wait_for_widget(page)
    theirs = page.locator("#comments article.csvc-comment", has_text="Not mine")
    expect(theirs.get_by_role("button", name="Reply to Anonymous")).to_be_visible()
    expect(theirs.get_by_role("button", name="Edit")).to_have_count(0)

    mine = page.locator("#comments article.csvc-comment", has_text="Second version")
    mine.get_by_role("button", name="Delete").click()
    page.get_by_role("button", name="Yes, delete").click()
    expect(mine).to_have_count(0)
    expect(page.locator("#comments .csvc-count")).to_have_text("1 comment")
    assert own_tokens(page) == []
    assert [c["html"] for c in service.thread(thread_uri)["comments"]] == ["<p>Not mine</p>"]


def edit_window_closed(service, comment_id: int, token: str, timeout: float = 15) -> None:
    """Ask the server, harmlessly (an empty text, refused while the window is open), until it
    says that the edit token's window has passed."""
    deadline = time.monotonic() + timeout
    while True:
        status, body, _ = http_json(
            "PATCH",
            f"{service.url}/api/comments/{comment_id}",
            {"text": ""},
            {"Authorization": "Bearer " + token},
        )
        if (status, body["error"]["code"]) == (403, "token_expired"):
            return
        assert (status, body["error"]["code"]) == (400, "validation"), (status, body)
        assert time.monotonic() < deadline, f"the edit window was still open after {timeout} s"
        time.sleep(0.05)


def test_edit_is_refused_after_the_window(page, blog, strict_service, thread_uri):
    """The server alone decides: this reader's clock is an hour behind, so the widget still
    offers Edit after the instance's 2 s window, and the server refuses the change."""
    service = strict_service
    page.clock.install(time=time.time() - 3600)
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)
    write_and_post(page, "Quick one")
    posted = page.locator("#comments article.csvc-comment", has_text="Quick one")
    article_id = posted.get_attribute("id")
    held_id = int(article_id.removeprefix("comment-"))
    mine = page.locator("#comments #" + article_id)
    mine.get_by_role("button", name="Edit").click()
    mine.get_by_label("Edit your comment").fill("Too late")
    [token] = own_tokens(page)
    edit_window_closed(service, held_id, token["t"])

    mine.get_by_role("button", name="Save").click()
    expect(mine.get_by_role("status")).to_have_text("The time to edit this comment has passed.")
    # (held for moderation on this instance: the API shows it to the token's holder only)
    [held] = service.thread(thread_uri, tokens=[token["t"]])["comments"]
    assert (held["id"], held["html"], held["status"]) == (held_id, "<p>Quick one</p>", "pending")

    # The widget took the server's word for it: after a reload the buttons are gone.
    page.reload()
    wait_for_widget(page)
    mine = page.locator("#comments article.csvc-comment", has_text="Quick one")
    expect(mine.get_by_role("button", name="Reply to Anonymous")).to_be_visible()
    expect(mine.get_by_role("button", name="Edit")).to_have_count(0)
    expect(mine.get_by_role("button", name="Delete")).to_have_count(0)
    status, body, _ = http_json(
        "DELETE",
        f"{service.url}/api/comments/{held_id}",
        headers={"Authorization": "Bearer " + token["t"]},
    )
    assert (status, body["error"]["code"]) == (403, "token_expired")


def test_edit_buttons_disappear_when_the_window_closes(page, blog, service, thread_uri):
    """On the page's own clock, which the test moves past the window (no waiting for it)."""
    page.clock.install(time=time.time())
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)
    write_and_post(page, "Watch the buttons")
    mine = page.locator("#comments article.csvc-comment", has_text="Watch the buttons")
    expect(mine.get_by_role("button", name="Delete")).to_be_visible()
    expect(mine.get_by_role("button", name="Edit")).to_be_visible()
    window = service.thread(thread_uri)["edit_window"]  # 15 minutes on this instance
    page.clock.fast_forward((window + 1) * 1000)
    expect(mine.get_by_role("button", name="Delete")).to_have_count(0)
    expect(mine.get_by_role("button", name="Edit")).to_have_count(0)


def close_thread(service, uri: str) -> None:
    """What a moderator's Close does to the row: closed, and a new version for the caches."""
    path = service.env["COMMENTSVC_DATABASE_URL"].removeprefix("sqlite:///")
    with closing(sqlite3.connect(path)) as database, database:
        changed = database.execute(
            "UPDATE threads SET closed = 1, version = version + 1 WHERE uri = ?", (uri,)
        ).rowcount
    assert changed == 1


def test_a_closed_thread_offers_delete_but_no_edit(page, blog, service, thread_uri):
    """Closed means no new words: the server refuses edits there, so the widget offers none;
    withdrawing one's own comment stays possible."""
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)
    write_and_post(page, "Said before the close")
    mine = page.locator("#comments article.csvc-comment", has_text="Said before the close")
    expect(mine.get_by_role("button", name="Edit")).to_be_visible()
    close_thread(service, thread_uri)
    page.reload()
    wait_for_widget(page)
    expect(page.locator("#comments .csvc-closed")).to_have_text("Comments are closed.")
    mine = page.locator("#comments article.csvc-comment", has_text="Said before the close")
    expect(mine.get_by_role("button", name="Delete")).to_be_visible()
    expect(mine.get_by_role("button", name="Edit")).to_have_count(0)
    expect(mine.get_by_role("button", name=re.compile("^Reply"))).to_have_count(0)
    mine.get_by_role("button", name="Delete").click()
    mine.get_by_role("button", name="Yes, delete").click()
    expect(page.locator("#comments .csvc-msg")).to_have_text("Your comment was deleted.")
    expect(page.locator("#comments .csvc-count")).to_have_text("No comments")
    assert service.thread(thread_uri)["comments"] == []


def test_deleting_a_comment_with_replies_leaves_a_placeholder(page, blog, service, thread_uri):
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)
    write_and_post(page, "Soon withdrawn")
    posted = page.locator("#comments article.csvc-comment", has_text="Soon withdrawn")
    parent_id = int(posted.get_attribute("id").removeprefix("comment-"))
    service.post(thread_uri, "An answer that stays", parent_id=parent_id)
    page.reload()
    wait_for_widget(page)
    mine = page.locator(f"#comments #comment-{parent_id}")
    mine.get_by_role("button", name="Delete").click()
    mine.get_by_role("button", name="Yes, delete").click()
    expect(mine.locator(".csvc-deleted")).to_have_text("This comment was deleted.")
    expect(mine.locator(".csvc-msg")).to_have_text("Your comment was deleted.")
    expect(
        page.locator("#comments .csvc-replies article", has_text="An answer that stays")
    ).to_be_visible()
    expect(page.locator("#comments .csvc-count")).to_have_text("1 comment")
    page.reload()
    wait_for_widget(page)
    expect(page.locator(f"#comments #comment-{parent_id}")).to_have_text(
        "This comment was deleted."
    )


def test_spent_edit_tokens_are_pruned(page, blog, service, thread_uri):
    posted = service.post(thread_uri, "Published long ago")
    prefix = f"commentsvc:{service.url}/:token:"
    stale = {"t": "old-token", "u": 1_000, "uri": thread_uri}  # edit window closed in 1970
    # Window closed an hour ago on a published comment: the token can do nothing more.
    spent = {"t": posted["edit_token"], "u": (time.time() - 3600) * 1000, "uri": thread_uri}
    page.goto(blog.post_page(service, thread_uri))
    page.evaluate(
        """([prefix, stale, spent, id]) => {
        localStorage.setItem(prefix + '999999', JSON.stringify(stale));
        localStorage.setItem(prefix + id, JSON.stringify(spent));
    }""",
        [prefix, stale, spent, posted["id"]],
    )
    page.reload()
    wait_for_widget(page)
    expect(page.locator("#comments article.csvc-comment")).to_have_count(1)
    assert own_tokens(page) == []
