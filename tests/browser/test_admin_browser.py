"""Moderators in a real browser: approve a reader's held comment, on a phone-sized screen too."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.support.env import REPO

from .conftest import serious_violations, wait_for_widget, write_and_post

pytestmark = pytest.mark.browser
PASSWORD = "moderate with care"


@pytest.fixture(scope="session")
def moderator_name(strict_service) -> str:
    name = f"mod{uuid.uuid4().hex[:6]}"
    created = strict_service.command(
        "create-moderator",
        name,
        "--email",
        f"{name}@example.com",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr
    return name


def log_in(page, service, name: str) -> None:
    page.goto(service.url + "/admin/")
    expect(page).to_have_url(f"{service.url}/admin/login?next=%2Fadmin%2F")
    page.get_by_label("Name or e-mail").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Comments: pending")).to_be_visible()


def count_page(blog, service, uri: str) -> str:
    return blog.add(
        f"/index-{uuid.uuid4().hex[:8]}.html",
        f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Posts</title></head><body><main>
<h1>Posts</h1><p><a id="count" href="{uri}" data-comment-count="{uri}">Comments</a></p>
<script src="{service.url}/count.js" async></script></main></body></html>""",
    )


def test_moderator_approves_a_held_comment_and_readers_see_it(
    browser, page, blog, strict_service, moderator_name, thread_uri
):
    reader_url = blog.post_page(strict_service, thread_uri)
    page.goto(reader_url)
    wait_for_widget(page)
    text = f"Persistence paid off for me too {uuid.uuid4().hex[:6]}"
    write_and_post(page, text)
    expect(
        page.locator("#comments article.csvc-comment", has_text=text).locator(".csvc-pending-note")
    ).to_have_text("awaiting moderation")

    moderator = browser.new_context()
    admin = moderator.new_page()
    log_in(admin, strict_service, moderator_name)
    held = admin.locator("li.comment", has_text=text)
    expect(held).to_be_visible()
    expect(held).to_contain_text("every comment is reviewed")
    held.get_by_role("button", name="Approve").click()
    expect(admin.get_by_role("status")).to_contain_text("approve done")
    expect(admin.locator("li.comment", has_text=text)).to_have_count(0)
    moderator.close()

    other = browser.new_context()
    stranger = other.new_page()
    stranger.goto(reader_url)
    wait_for_widget(stranger)
    expect(stranger.locator("#comments .csvc-count")).to_have_text("1 comment")
    approved = stranger.locator("#comments article.csvc-comment", has_text=text)
    expect(approved).to_be_visible()
    expect(approved.locator(".csvc-pending-note")).to_have_count(0)
    stranger.goto(count_page(blog, strict_service, thread_uri))
    expect(stranger.locator("#count")).to_have_text("1 comment")
    other.close()


def test_admin_pages_have_no_serious_accessibility_violations(
    browser, strict_service, moderator_name, thread_uri, axe_script
):
    strict_service.post(thread_uri, "Waiting for a moderator")
    context = browser.new_context(bypass_csp=True)  # to inject axe under the strict CSP
    page = context.new_page()
    page.goto(strict_service.url + "/admin/login")
    assert serious_violations(page, axe_script) == []
    log_in(page, strict_service, moderator_name)
    assert serious_violations(page, axe_script) == []
    page.goto(strict_service.url + "/admin/threads")
    expect(page.get_by_role("heading", name="Threads")).to_be_visible()
    assert serious_violations(page, axe_script) == []
    page.goto(strict_service.url + "/admin/spam-filter")
    expect(page.get_by_role("heading", name="Spam filter")).to_be_visible()
    assert serious_violations(page, axe_script) == []
    # Fitted, the page also lists the signs it weighs most; the model is forgotten after, so
    # that the other tests' comments meet no filter.
    try:
        _spam_filter(strict_service, "train", str(REPO / "tests" / "data" / "blog_comments.csv"))
        page.reload()
        expect(page.get_by_role("heading", name="Towards spam")).to_be_visible()
        expect(page.get_by_role("heading", name="Towards a real comment")).to_be_visible()
        assert serious_violations(page, axe_script) == []
    finally:
        _spam_filter(strict_service, "reset", "--yes")
    context.close()


def _spam_filter(service, *args: str) -> None:
    done = service.command("spam-filter", *args, timeout=120)
    assert done.returncode == 0, done.stderr


def test_admin_adds_a_moderator_for_a_site_and_changes_their_sites(
    browser, strict_service, moderator_name, axe_script
):
    context = browser.new_context(bypass_csp=True)  # to inject axe under the strict CSP
    page = context.new_page()
    log_in(page, strict_service, moderator_name)
    page.goto(strict_service.url + "/admin/moderators")
    assert serious_violations(page, axe_script) == []
    name = f"new{uuid.uuid4().hex[:6]}"
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("E-mail").fill(f"{name}@example.com")
    page.get_by_label("Role").select_option("moderator")
    page.get_by_label("default").uncheck()
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Add moderator").click()
    expect(page.locator("#sites-error")).to_have_text("Choose at least one site for a moderator.")
    assert serious_violations(page, axe_script) == []
    page.get_by_label("default").check()
    page.get_by_label("Password").fill("a long enough password")
    page.get_by_role("button", name="Add moderator").click()
    expect(page.get_by_role("status")).to_contain_text(f"{name} can now log in.")
    page.get_by_role("link", name=f"Change the sites of {name}").click()
    expect(page.get_by_role("heading", name=f"Sites of {name}")).to_be_visible()
    expect(page.get_by_label("default")).to_be_checked()
    assert serious_violations(page, axe_script) == []
    page.get_by_label("default").uncheck()
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#sites-error")).to_have_text("Choose at least one site.")
    context.close()


def test_queue_actions_are_usable_on_a_375px_screen(
    browser, strict_service, moderator_name, thread_uri
):
    text = f"Read on a phone {uuid.uuid4().hex[:6]}"
    comment = strict_service.post(thread_uri, text)
    context = browser.new_context(
        viewport={"width": 375, "height": 740}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    log_in(page, strict_service, moderator_name)
    held = page.locator("li.comment", has_text=text)
    held.scroll_into_view_if_needed()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375, f"the queue scrolls sideways ({width}px)"
    for name in ("Approve", "Spam", "Delete", "Edit", "Reply"):
        control = held.get_by_role("button", name=name).or_(held.get_by_role("link", name=name))
        expect(control).to_be_visible()
        box = control.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, name
        assert box["height"] >= 40, f"{name} is too small to tap ({box['height']}px)"
    held.get_by_role("button", name="Spam").tap()
    expect(page.get_by_role("status")).to_contain_text(f"Comment {comment['id']}: spam done")
    assert strict_service.count(thread_uri) == 0
    context.close()
