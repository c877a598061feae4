"""Votes and sorting in the widget: one vote per reader (the same reader in two tabs), taken
back by a second click, remembered; no votes on held comments; the chosen order remembered."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import wait_for_widget, write_and_post


def comment(page, text):
    return page.locator("#comments article.csvc-comment", has_text=text)


def test_a_reader_votes_once_changes_and_takes_it_back(page, blog, service, thread_uri):
    service.post(thread_uri, "Worth an upvote")
    url = blog.post_page(service, thread_uri)
    page.goto(url)
    wait_for_widget(page)
    target = comment(page, "Worth an upvote")
    up, down = (
        target.get_by_role("button", name="Vote up"),
        target.get_by_role("button", name="Vote down"),
    )
    up.click()
    expect(target.locator(".csvc-score")).to_have_text("1")
    expect(up).to_have_attribute("aria-pressed", "true")
    # A second tab of the same reader: the vote is theirs already, not a new one.
    other = page.context.new_page()
    other.goto(url)
    wait_for_widget(other)
    again = comment(other, "Worth an upvote")
    expect(again.get_by_role("button", name="Vote up")).to_have_attribute("aria-pressed", "true")
    again.get_by_role("button", name="Vote down").click()
    expect(again.locator(".csvc-score")).to_have_text("-1")
    assert service.thread(thread_uri)["comments"][0]["score"] == -1
    other.close()
    page.reload()
    wait_for_widget(page)
    down = comment(page, "Worth an upvote").get_by_role("button", name="Vote down")
    expect(down).to_have_attribute("aria-pressed", "true")
    down.click()  # the same again: taken back
    expect(comment(page, "Worth an upvote").locator(".csvc-score")).to_have_text("0")
    assert service.thread(thread_uri)["comments"][0]["score"] == 0


def test_held_comments_have_no_votes(page, blog, strict_service, thread_uri):
    page.goto(blog.post_page(strict_service, thread_uri))
    wait_for_widget(page)
    write_and_post(page, "Held for a moderator")
    held = comment(page, "Held for a moderator")
    expect(held).to_contain_text("awaiting moderation")
    expect(held.locator(".csvc-vote")).to_have_count(0)


def test_the_best_first_order_is_chosen_and_remembered(page, blog, service, thread_uri):
    for text in ("First and quiet", "Second and loved", "Third and liked"):
        service.post(thread_uri, text)
    ids = {c["html"]: c["id"] for c in service.thread(thread_uri)["comments"]}
    for n, (text, votes) in enumerate([("Second and loved", 3), ("Third and liked", 1)]):
        ident = ids[f"<p>{text}</p>"]
        for v in range(votes):
            status, body, _ = service.api(
                "POST",
                f"/api/comments/{ident}/vote",
                {"value": 1, "voter": f"seed-voter-{n}-{v:08d}"},
            )
            assert status == 200, body
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)
    bodies = page.locator("#comments .csvc-list > li > article .csvc-body")
    expect(bodies).to_have_text(["First and quiet", "Second and loved", "Third and liked"])
    page.get_by_label("Sort").select_option("top")
    expect(bodies).to_have_text(["Second and loved", "Third and liked", "First and quiet"])
    page.reload()
    wait_for_widget(page)
    expect(page.get_by_label("Sort")).to_have_value("top")
    expect(bodies).to_have_text(["Second and loved", "Third and liked", "First and quiet"])
    page.get_by_label("Sort").select_option("newest")
    expect(bodies.first).to_have_text(re.compile("Third and liked"))
