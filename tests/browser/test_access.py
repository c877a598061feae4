"""Keyboard use, axe-core checks, and the thread page for readers without JavaScript."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import serious_violations, wait_for_widget, write_and_post

pytestmark = pytest.mark.browser

DEMO_URI = "/2008/01/persistence-pays-off.html"

DEEP_FOCUS = """() => {
    let el = document.activeElement;
    while (el && el.shadowRoot && el.shadowRoot.activeElement) el = el.shadowRoot.activeElement;
    return el ? {tag: el.tagName.toLowerCase(), name: el.name || '', id: el.id || '',
                 text: (el.textContent || '').trim().slice(0, 40)} : null;
}"""


def tab_to(page, matches, limit=40):
    """Press Tab until the focused element (through shadow roots) satisfies `matches`."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(DEEP_FOCUS)
        if focused and matches(focused):
            return focused
    raise AssertionError(f"Tab never reached the element; last focus: {focused}")


def test_keyboard_only_posting_and_replying(page, blog, service, thread_uri):
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)
    tab_to(page, lambda f: f["name"] == "author")
    page.keyboard.type("Kim")
    tab_to(page, lambda f: f["name"] == "text")
    page.keyboard.type("Written without a mouse.")
    tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Post comment")
    page.keyboard.press("Enter")

    posted = page.locator("#comments article.csvc-comment", has_text="Written without a mouse.")
    expect(posted).to_be_visible()
    focused = page.evaluate(DEEP_FOCUS)
    assert focused["tag"] == "article" and focused["id"] == posted.get_attribute("id")

    tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Reply")
    page.keyboard.press("Enter")
    focused = page.evaluate(DEEP_FOCUS)
    assert focused["tag"] == "textarea"
    expect(page.locator("#comments .csvc-reply-form textarea")).to_be_focused()
    page.keyboard.type("And a reply, too.")
    tab_to(page, lambda f: f["tag"] == "button" and f["text"] == "Post reply")
    page.keyboard.press("Enter")
    reply = page.locator("#comments .csvc-replies article", has_text="And a reply, too.")
    expect(reply).to_be_focused()


def test_escape_closes_the_reply_form_and_returns_focus(page, blog, service, thread_uri):
    service.post(thread_uri, "Reply to me", author="Lee")
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)
    page.get_by_role("button", name="Reply to Lee").click()
    expect(page.locator("#comments .csvc-reply-form textarea")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#comments .csvc-reply-form")).to_have_count(0)
    expect(page.locator("#comments article", has_text="Reply to me")).to_be_focused()


@pytest.fixture
def csp_free_page(browser):
    """A page whose context may inject axe into pages served with a strict CSP."""
    context = browser.new_context(bypass_csp=True)
    yield context.new_page()
    context.close()


def test_demo_page_with_comments_has_no_serious_axe_violations(csp_free_page, service, axe_script):
    page = csp_free_page
    first = service.post(
        DEMO_URI, "I kept a spreadsheet of every *no*.", author="Pat", website="https://pat.example"
    )
    service.post(DEMO_URI, "What did you send them first?", author="Sam", parent_id=first["id"])
    service.post(DEMO_URI, "Patience, and a good **coffee** budget.")
    page.goto(service.url + "/demo")
    expect(page.locator("h1")).to_have_text("Persistence pays off")
    wait_for_widget(page)
    expect(page.locator("#comments article.csvc-comment")).to_have_count(3)
    expect(page.locator("a[data-comment-count]")).to_have_text(re.compile(r"^\d+ comments$"))
    assert serious_violations(page, axe_script) == []


def test_form_with_errors_has_no_serious_axe_violations(
    browser, blog, service, thread_uri, axe_script
):
    for scheme in ("light", "dark"):
        context = browser.new_context(color_scheme=scheme)
        try:
            page = context.new_page()
            service.post(thread_uri, f"An earlier comment ({scheme})", author="Robin")
            page.goto(blog.post_page(service, thread_uri))
            wait_for_widget(page)
            page.get_by_label("E-mail (optional)").fill("not an address")
            page.get_by_label("Website (optional)").fill("javascript:alert(1)")
            write_and_post(page, "Hello")
            expect(page.locator("#comments .csvc-field-website .csvc-error")).to_be_visible()
            expect(page.locator("#comments .csvc-field-email .csvc-error")).to_be_visible()
            assert serious_violations(page, axe_script) == [], scheme
        finally:
            context.close()


# ---------------------------------------------------------------- without JavaScript


@pytest.fixture
def nojs_page(browser):
    context = browser.new_context(java_script_enabled=False)
    yield context.new_page()
    context.close()


def test_demo_page_links_to_the_thread_page_without_javascript(nojs_page, service):
    page = nojs_page
    page.goto(service.url + "/demo")
    link = page.get_by_role("link", name="Read and post comments")
    expect(link).to_be_visible()
    link.click()
    expect(page).to_have_url(re.compile(r"/comments\?uri=(/|%2F)2008(/|%2F)01(/|%2F)persistence"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Comments on"))


def test_thread_page_shows_comments_and_posts_without_javascript(
    nojs_page, service, thread_uri, axe_script, browser
):
    first = service.post(thread_uri, "Seen *without* scripts", author="Alex")
    service.post(thread_uri, "A nested answer", parent_id=first["id"])
    page = nojs_page
    page.goto(f"{service.url}/comments?uri={thread_uri}")
    expect(page.locator(".csvc-count")).to_have_text("2 comments")
    expect(page.locator(f"#comment-{first['id']} em")).to_have_text("without")
    expect(page.locator(".csvc-replies article", has_text="A nested answer")).to_be_visible()

    page.get_by_label("Name (optional)").fill("Jo")
    write_and_post(page, "Posted from a plain form.")
    expect(page).to_have_url(re.compile(r"/comments\?uri=.*#comment-\d+$"))
    expect(page.locator(".csvc-notice")).to_have_text(re.compile("published"))
    expect(page.locator("article", has_text="Posted from a plain form.")).to_be_visible()
    assert service.count(thread_uri) == 3

    # Reply through the Reply link: the form says whom it answers.
    page.get_by_role("link", name="Reply to Alex").click()
    expect(page.get_by_role("heading", name="Reply to Alex")).to_be_visible()
    page.get_by_label("Comment", exact=True).fill("A reply from the plain form.")
    page.get_by_role("button", name="Post reply").click()
    expect(
        page.locator(
            f"#comment-{first['id']} + ol.csvc-replies article",
            has_text="A reply from the plain form.",
        )
    ).to_be_visible()

    # The same page passes axe (checked with scripts allowed, to run axe itself).
    context = browser.new_context(bypass_csp=True)
    try:
        checked = context.new_page()
        checked.goto(f"{service.url}/comments?uri={thread_uri}")
        assert serious_violations(checked, axe_script) == []
    finally:
        context.close()


def test_thread_page_shows_field_errors_without_javascript(
    nojs_page, service, thread_uri, browser, axe_script
):
    page = nojs_page
    page.goto(f"{service.url}/comments?uri={thread_uri}")
    expect(page.locator(".csvc-count")).to_have_text("No comments")
    page.get_by_label("Website (optional)").fill("javascript:alert(1)")
    page.get_by_label("Comment", exact=True).fill("Keep this text")
    response_status = []
    page.on(
        "response",
        lambda r: response_status.append(r.status) if r.request.method == "POST" else None,
    )
    page.get_by_role("button", name="Post comment").click()
    website = page.get_by_label("Website (optional)")
    error = page.locator("#f-website-err")
    expect(error).to_have_text(re.compile("http"))
    expect(website).to_have_attribute("aria-invalid", "true")
    expect(website).to_have_attribute("aria-describedby", "f-website-err")
    expect(website).to_have_value("javascript:alert(1)")
    expect(page.get_by_label("Comment", exact=True)).to_have_value("Keep this text")
    assert response_status == [400]
    assert service.count(thread_uri) == 0

    context = browser.new_context(bypass_csp=True)
    try:
        checked = context.new_page()
        checked.goto(f"{service.url}/comments?uri={thread_uri}")
        checked.get_by_label("Website (optional)").fill("javascript:alert(1)")
        write_and_post(checked, "Keep this text")
        expect(checked.locator("#f-website-err")).to_be_visible()
        assert serious_violations(checked, axe_script) == []
    finally:
        context.close()
