"""The widget's design, measured in a real browser: the compact form at phone and desktop
widths, inline replies, messages next to their comment, a heading that counts what the
reader sees, editing with Preview, the automatic theme, one vote per reader, paced posting,
axe checks, and screenshots for a person to review."""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from commentsvc import create_app, sites
from commentsvc.config import settings_of
from commentsvc.extensions import db
from commentsvc.models import Comment, Status
from commentsvc.moderation import moderate

from .conftest import HOSTILE_CSS, serious_violations, wait_for_widget, write_and_post

pytestmark = pytest.mark.browser

PUBLISHED = "Your comment is published."
HELD = "Thank you. Your comment is awaiting moderation; only you can see it for now."
CHANGED = "Your comment was changed."
DELETED = "Your comment was deleted."
# A page that paints itself dark, with readable text of its own (axe checks the blog too).
DARK_PAGE = "<style>body { background: #111; color: #eee; }</style>"
WHITE_PAGE = "<style>html, body { background: #fff; }</style>"
LONG_WORD = "Persistence" * 20  # one unbreakable word, wider than a phone

OVERFLOW = """() => {
    const page = document.scrollingElement;
    const box = document.getElementById('comments').shadowRoot.querySelector('section.csvc');
    const edge = box.getBoundingClientRect();
    // What a clipping box (a code block, the visually hidden parts) holds cannot stick out.
    const clipped = (el) => {
        for (let up = el.parentElement; up && up !== box; up = up.parentElement) {
            if (getComputedStyle(up).overflowX !== 'visible') return true;
        }
        return false;
    };
    const outside = [...box.querySelectorAll('*')].filter((el) => {
        const r = el.getBoundingClientRect();
        return r.width > 0 && (r.left < edge.left - 1 || r.right > edge.right + 1) && !clipped(el);
    }).map((el) => el.tagName.toLowerCase() + '.' + el.className);
    return {page: [page.scrollWidth, page.clientWidth], widget: [box.scrollWidth, box.clientWidth],
            outside};
}"""


def app_for(service):
    """The application bound to a service instance's database, for seeding and checks."""
    return create_app(
        {
            "DATABASE_URL": service.env["COMMENTSVC_DATABASE_URL"],
            "SECRET_KEY": service.env["COMMENTSVC_SECRET_KEY"],
            "ALLOWED_ORIGINS": service.env["COMMENTSVC_ALLOWED_ORIGINS"],
            "PUBLIC_URL": service.env["COMMENTSVC_PUBLIC_URL"],
        }
    )


@pytest.fixture(scope="module")
def strict_app(strict_service):
    app = app_for(strict_service)
    yield app
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def paced_app(paced_service):
    app = app_for(paced_service)
    yield app
    with app.app_context():
        db.engine.dispose()


def fresh(text: str) -> str:
    """The text with a tag of its own: the service holds a text it saw lately as a duplicate."""
    return f"{text} ({uuid.uuid4().hex[:6]})"


def comment(page, text):
    return page.locator("#comments article.csvc-comment", has_text=text)


def by_id(page, ident: int):
    return page.locator(f"#comments #comment-{ident}")


def comment_id(article) -> int:
    return int(article.get_attribute("id").removeprefix("comment-"))


def widget(page):
    return page.locator("#comments section.csvc")


def live_region(page):
    return page.locator("#comments section.csvc > p.csvc-live")


def heading(page):
    return page.locator("#comments .csvc-count")


def messages(page):
    return page.locator("#comments .csvc-msg")


def main_form(page):
    return page.locator("#comments .csvc-main-form form")


def rect(locator) -> dict:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not laid out"
    return found


def assert_no_sideways_scroll(page):
    measured = page.evaluate(OVERFLOW)
    assert measured["page"][0] <= measured["page"][1], measured
    assert measured["widget"][0] <= measured["widget"][1], measured
    assert measured["outside"] == [], measured


def post(page, text, author: str | None = None):
    """Post from the main form; the new comment's article, by id (an edit replaces its text)."""
    form = main_form(page)
    if author is not None:
        form.get_by_label("Name (optional)").fill(author)
    write_and_post(form, text)
    posted = comment(page, text)
    expect(posted).to_be_visible()
    return page.locator("#comments #" + posted.get_attribute("id"))


def as_stranger(browser, url):
    """Another reader: a browser context without this reader's storage."""
    context = browser.new_context()
    other = context.new_page()
    other.goto(url)
    wait_for_widget(other)
    return context, other


# ---------------------------------------------------------------- 1. compact layout


@pytest.mark.parametrize("width", [375, 1280])
def test_the_form_is_compact_and_nothing_scrolls_sideways(page, blog, service, thread_uri, width):
    first = service.post(thread_uri, fresh(f"A long word: {LONG_WORD}"), author="Pat")
    service.post(thread_uri, fresh("A nested answer"), author="Sam", parent_id=first["id"])
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)
    expect(page.locator("#comments article.csvc-comment")).to_have_count(2)
    assert_no_sideways_scroll(page)

    form = main_form(page)
    order = form.evaluate(
        "f => [...f.querySelectorAll('textarea, input:not([type=checkbox])')]"
        ".filter(el => el.name !== 'hp').map(el => el.name)"
    )
    assert order == ["text", "author", "email", "website"]
    text = rect(form.get_by_label("Comment", exact=True))
    who = [
        rect(form.get_by_label(label))
        for label in ("Name (optional)", "E-mail (optional)", "Website (optional)")
    ]
    assert all(text["y"] + text["height"] <= box["y"] for box in who), (text, who)
    text_right = text["x"] + text["width"]

    if width >= 1280:
        assert max(b["y"] for b in who) - min(b["y"] for b in who) <= 2, who
        assert abs(who[0]["x"] - text["x"]) <= 2, (who[0], text)
        assert abs(who[2]["x"] + who[2]["width"] - text_right) <= 2, (who[2], text)
        assert who[0]["x"] < who[1]["x"] < who[2]["x"]
        hint = rect(form.locator(".csvc-foot > .csvc-hint"))
        for name in ("Preview", "Post comment"):
            button = rect(form.get_by_role("button", name=name))
            # On one line: their vertical extents overlap, and the buttons follow the hint.
            assert button["y"] < hint["y"] + hint["height"], (name, button, hint)
            assert hint["y"] < button["y"] + button["height"], (name, button, hint)
            assert button["x"] >= hint["x"] + hint["width"] - 1, (name, button, hint)
    else:
        tops = [b["y"] for b in who]
        assert tops[0] < tops[1] < tops[2], who
        for box in who:
            assert abs(box["x"] - text["x"]) <= 2, (box, text)
            assert abs(box["width"] - text["width"]) <= 2, (box, text)


# ---------------------------------------------------------------- 2. inline replies


def test_reply_opens_a_small_form_under_its_comment(page, blog, service, thread_uri):
    ann = service.post(thread_uri, fresh("First to answer"), author="Ann")
    ben = service.post(thread_uri, fresh("Second to answer"), author="Ben")
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)
    ann_article, ben_article = by_id(page, ann["id"]), by_id(page, ben["id"])
    reply_forms = page.locator("#comments form.csvc-reply-form")
    is_next = "(a) => !!a.nextElementSibling?.matches('form.csvc-reply-form')"

    ann_article.get_by_role("button", name="Reply to Ann").click()
    expect(reply_forms).to_have_count(1)
    assert ann_article.evaluate(is_next)
    expect(reply_forms.locator(".csvc-replying")).to_have_text("Reply to Ann")
    expect(reply_forms.get_by_label("Comment", exact=True)).to_be_focused()
    form_box, article_box = rect(reply_forms), rect(ann_article)
    assert form_box["height"] < 320, form_box
    assert 0 <= form_box["y"] - (article_box["y"] + article_box["height"]) <= 24, (
        form_box,
        article_box,
    )
    assert form_box["y"] < rect(ben_article)["y"]

    reply_forms.get_by_role("button", name="Cancel").click()
    expect(reply_forms).to_have_count(0)
    expect(ann_article).to_be_focused()

    ann_article.get_by_role("button", name="Reply to Ann").click()
    expect(reply_forms.get_by_label("Comment", exact=True)).to_be_focused()
    page.keyboard.type("Half a thought")
    page.keyboard.press("Escape")
    expect(reply_forms).to_have_count(0)
    expect(ann_article).to_be_focused()

    # One reply form at a time: opening another closes the first.
    ann_article.get_by_role("button", name="Reply to Ann").click()
    expect(reply_forms).to_have_count(1)
    ben_article.get_by_role("button", name="Reply to Ben").click()
    expect(reply_forms).to_have_count(1)
    expect(reply_forms.locator(".csvc-replying")).to_have_text("Reply to Ben")
    assert ben_article.evaluate(is_next)
    assert not ann_article.evaluate(is_next)
    expect(reply_forms.get_by_label("Comment", exact=True)).to_be_focused()


# ---------------------------------------------------------------- 3. messages by their comment


LIST_ITEMS = """() => [...document.getElementById('comments').shadowRoot
    .querySelectorAll('.csvc-list > li')].map((li) => {
        const body = li.querySelector(':scope > article .csvc-body');
        const msg = li.querySelector(':scope > .csvc-msg');
        return body ? body.textContent.trim() : msg ? 'msg: ' + msg.textContent : '?';
    })"""


def test_messages_stand_next_to_their_comment_one_at_a_time(page, blog, service, thread_uri):
    before, first, second, later = (
        fresh(text)
        for text in (
            "Written before mine",
            "My first version",
            "My second version",
            "Written after mine",
        )
    )
    service.post(thread_uri, before)
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)

    mine = post(page, first)
    expect(mine.locator(".csvc-msg")).to_have_text(PUBLISHED)
    expect(live_region(page)).to_have_text(PUBLISHED)
    expect(live_region(page)).to_have_attribute("role", "status")
    expect(messages(page)).to_have_count(1)

    mine.get_by_role("button", name="Edit").click()
    mine.get_by_label("Edit your comment").fill(second)
    mine.get_by_role("button", name="Save").click()
    expect(mine.locator(".csvc-body")).to_have_text(second)
    expect(mine.locator(".csvc-msg")).to_have_text(CHANGED)
    expect(live_region(page)).to_have_text(CHANGED)
    expect(messages(page)).to_have_count(1)

    after = post(page, later)
    expect(after.locator(".csvc-msg")).to_have_text(PUBLISHED)
    expect(mine.locator(".csvc-msg")).to_have_count(0)
    expect(messages(page)).to_have_count(1)

    mine.get_by_role("button", name="Delete").click()
    mine.get_by_role("button", name="Yes, delete").click()
    expect(mine).to_have_count(0)
    expect(live_region(page)).to_have_text(DELETED)
    expect(messages(page)).to_have_count(1)
    assert page.evaluate(LIST_ITEMS) == [before, "msg: " + DELETED, later]


# ---------------------------------------------------------------- 4. the heading


def test_a_held_comment_is_counted_and_marked_for_its_author_only(
    page, browser, blog, strict_service, thread_uri
):
    url = blog.post_page(strict_service, thread_uri)
    page.goto(url)
    wait_for_widget(page)
    expect(heading(page)).to_have_text("No comments")
    mine = post(page, fresh("Held for a moderator to read"))
    expect(heading(page)).to_have_text("1 comment (1 awaiting moderation)")
    expect(mine.locator(".csvc-msg")).to_have_text(HELD)
    expect(live_region(page)).to_have_text(HELD)
    expect(messages(page)).to_have_count(1)

    context, other = as_stranger(browser, url)
    try:
        expect(heading(other)).to_have_text("No comments")
        expect(other.locator("#comments article")).to_have_count(0)
    finally:
        context.close()


def test_an_approved_comment_and_the_readers_held_one_make_two(
    page, browser, blog, strict_service, strict_app, thread_uri
):
    seeded = strict_service.post(thread_uri, fresh("Approved by a moderator"), author="Pat")
    with strict_app.app_context():
        stored = db.session.get(Comment, seeded["id"])
        assert moderate(db.session, settings_of(strict_app), stored, "approve", "tests")
        db.session.commit()
    url = blog.post_page(strict_service, thread_uri)
    page.goto(url)
    wait_for_widget(page)
    expect(heading(page)).to_have_text("1 comment")
    post(page, fresh("Mine, still held"))
    expect(heading(page)).to_have_text("2 comments (1 awaiting moderation)")
    page.reload()
    wait_for_widget(page)
    expect(heading(page)).to_have_text("2 comments (1 awaiting moderation)")

    context, other = as_stranger(browser, url)
    try:
        expect(heading(other)).to_have_text("1 comment")
        expect(other.locator("#comments article")).to_have_count(1)
    finally:
        context.close()


# ---------------------------------------------------------------- 5. editing


def test_edit_keeps_the_author_line_and_previews_before_saving(page, blog, service, thread_uri):
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)
    mine = post(page, fresh("Plain words first"), author="Robin")
    mine.get_by_role("button", name="Edit").click()
    box = mine.get_by_label("Edit your comment")
    expect(box).to_be_focused()
    expect(mine.locator("header.csvc-meta .csvc-author")).to_have_text("Robin")
    expect(mine.locator("header.csvc-meta time")).to_have_count(1)

    tag = uuid.uuid4().hex[:6]
    box.fill(f"Now with **bold** words ({tag})")
    preview = mine.get_by_role("button", name="Preview")
    preview.click()
    expect(mine.locator(".csvc-preview strong")).to_have_text("bold")
    expect(preview).to_have_attribute("aria-pressed", "true")
    expect(box).to_be_hidden()
    expect(mine.locator("header.csvc-meta .csvc-author")).to_have_text("Robin")

    mine.get_by_role("button", name="Save").click()
    expect(mine.locator(".csvc-edit-form")).to_have_count(0)
    expect(mine.locator(".csvc-body strong")).to_have_text("bold")
    expect(mine.locator(".csvc-body")).to_have_text(f"Now with bold words ({tag})")
    expect(mine.locator(".csvc-msg")).to_have_text(CHANGED)
    expect(mine.locator("header.csvc-meta .csvc-author")).to_have_text("Robin")
    stored = service.thread(thread_uri)["comments"][0]
    assert stored["html"] == f"<p>Now with <strong>bold</strong> words ({tag})</p>"


# ---------------------------------------------------------------- 6. theme


def luminance(css_color: str) -> float:
    r, g, b = (float(v) for v in re.findall(r"[\d.]+", css_color)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


@pytest.mark.parametrize(
    ("head", "attrs", "system", "expected"),
    [
        pytest.param(WHITE_PAGE, "", "dark", "light", id="white-page-under-dark-system"),
        pytest.param(DARK_PAGE, "", "light", "dark", id="dark-page-under-light-system"),
        pytest.param("", "", "dark", "dark", id="no-background-follows-dark-system"),
        pytest.param("", "", "light", "light", id="no-background-follows-light-system"),
        pytest.param(WHITE_PAGE, 'data-theme="dark"', "light", "dark", id="forced-dark"),
        pytest.param(DARK_PAGE, 'data-theme="light"', "dark", "light", id="forced-light"),
    ],
)
def test_the_theme_follows_the_page_then_the_system(
    browser, blog, service, thread_uri, head, attrs, system, expected
):
    context = browser.new_context(color_scheme=system)
    try:
        page = context.new_page()
        page.goto(blog.post_page(service, thread_uri, head=head, comments_attrs=attrs))
        wait_for_widget(page)
        classes = widget(page).get_attribute("class").split()
        assert [c for c in classes if c in ("csvc-light", "csvc-dark")] == ["csvc-" + expected]
        background = widget(page).evaluate("el => getComputedStyle(el).backgroundColor")
        text = widget(page).evaluate("el => getComputedStyle(el).color")
        if expected == "dark":
            assert luminance(background) < 64 and luminance(text) > 160, (background, text)
        else:
            assert luminance(background) > 200 and luminance(text) < 96, (background, text)
    finally:
        context.close()


def test_custom_properties_set_by_the_page_restyle_the_widget(page, blog, service, thread_uri):
    themed = """<style>#comments {
        --commentsvc-bg: rgb(255, 250, 243); --commentsvc-fg: rgb(34, 34, 34);
        --commentsvc-accent: rgb(176, 65, 62); --commentsvc-font-size: 21px;
    }</style>"""
    page.goto(blog.post_page(service, thread_uri, head=WHITE_PAGE + themed))
    wait_for_widget(page)
    style = widget(page).evaluate(
        "el => { const s = getComputedStyle(el); return [s.backgroundColor, s.color, s.fontSize]; }"
    )
    assert style == ["rgb(255, 250, 243)", "rgb(34, 34, 34)", "21px"]
    button = main_form(page).get_by_role("button", name="Post comment")
    assert button.evaluate("el => getComputedStyle(el).backgroundColor") == "rgb(176, 65, 62)"


# ---------------------------------------------------------------- 7. votes


def test_one_vote_per_reader_across_two_tabs(page, blog, service, thread_uri):
    target_id = service.post(thread_uri, fresh("Worth a vote"))["id"]
    url = blog.post_page(service, thread_uri)
    page.goto(url)
    wait_for_widget(page)
    second = page.context.new_page()  # the same reader: the same voter token in storage
    try:
        second.goto(url)
        wait_for_widget(second)
        by_id(page, target_id).get_by_role("button", name="Vote up").click()
        expect(by_id(page, target_id).locator(".csvc-score")).to_have_text("1")

        up = by_id(second, target_id).get_by_role("button", name="Vote up")
        up.click()
        expect(by_id(second, target_id).locator(".csvc-score")).to_have_text("1")
        expect(up).to_have_attribute("aria-pressed", "true")
        assert service.thread(thread_uri)["comments"][0]["score"] == 1

        by_id(second, target_id).get_by_role("button", name="Vote down").click()
        expect(by_id(second, target_id).locator(".csvc-score")).to_have_text("-1")
        assert service.thread(thread_uri)["comments"][0]["score"] == -1
    finally:
        second.close()


def test_a_held_comment_has_no_votes_and_the_api_refuses_one(
    page, blog, strict_service, thread_uri
):
    page.goto(blog.post_page(strict_service, thread_uri))
    wait_for_widget(page)
    mine = post(page, fresh("Held, so not yet votable"))
    expect(mine.locator(".csvc-pending-note")).to_have_text("awaiting moderation")
    expect(mine.locator(".csvc-votes")).to_have_count(0)
    expect(mine.locator(".csvc-vote")).to_have_count(0)
    status, body, _ = strict_service.api(
        "POST",
        f"/api/comments/{comment_id(mine)}/vote",
        {"value": 1, "voter": "a-reader-token-0123456789"},
    )
    assert 400 <= status < 500, (status, body)


# ---------------------------------------------------------------- 8. fast posters


def test_a_fast_poster_sees_posting_and_is_published_not_taken_for_spam(
    page, blog, paced_service, paced_app, thread_uri
):
    page.goto(blog.post_page(paced_service, thread_uri))
    wait_for_widget(page)
    form = main_form(page)
    text = fresh("Typed in a hurry")
    write_and_post(form, text)
    # The widget waits out the form token's first seconds, and says so meanwhile.
    expect(form.locator(".csvc-status")).to_have_text("Posting…")
    expect(form.get_by_role("button", name="Post comment")).to_have_attribute(
        "aria-disabled", "true"
    )
    mine = comment(page, text)
    expect(mine).to_be_visible(timeout=15_000)
    expect(mine.locator(".csvc-msg")).to_have_text(PUBLISHED)
    expect(form.locator(".csvc-status")).to_have_text("")
    expect(mine.locator(".csvc-pending-note")).to_have_count(0)
    with paced_app.app_context():
        stored = db.session.get(Comment, comment_id(mine))
        assert stored.status == Status.approved, (stored.status, stored.held_reason)


def test_a_fast_poster_on_a_moderated_site_sees_awaiting_moderation_and_is_held_not_spam(
    page, blog, paced_service, paced_app, thread_uri
):
    # A blog of the paced instance whose every comment waits for a moderator.
    name = "held-" + uuid.uuid4().hex[:8]
    with paced_app.app_context():
        sites.add(db.session, name, origins=[blog.origin], moderation="all")
        db.session.commit()
    page.goto(blog.post_page(paced_service, thread_uri, script_attrs=f'data-site="{name}"'))
    wait_for_widget(page)
    form = main_form(page)
    text = fresh("Pasted in a hurry, on a moderated blog")
    write_and_post(form, text)
    expect(form.locator(".csvc-status")).to_have_text("Posting…")
    mine = comment(page, text)
    expect(mine).to_be_visible(timeout=15_000)
    expect(mine.locator(".csvc-msg")).to_have_text(HELD)
    expect(mine.locator(".csvc-pending-note")).to_have_text("awaiting moderation")
    with paced_app.app_context():
        stored = db.session.get(Comment, comment_id(mine))
        assert stored.status == Status.pending, (stored.status, stored.held_reason)
        assert stored.thread.site == name


# ---------------------------------------------------------------- 9. axe


def open_reply(page, ident: int, name: str):
    by_id(page, ident).get_by_role("button", name=f"Reply to {name}").click()
    expect(page.locator("#comments form.csvc-reply-form textarea")).to_be_focused()


@pytest.mark.parametrize("state", ["reply-form", "edit-mode", "dark-theme"])
def test_the_widget_has_no_serious_axe_violations(
    page, blog, service, thread_uri, axe_script, state
):
    first = service.post(
        thread_uri, fresh("Someone else's *comment*"), author="Pat", website="https://pat.example"
    )
    service.post(thread_uri, fresh("An answer to Pat"), author="Sam", parent_id=first["id"])
    head = DARK_PAGE if state == "dark-theme" else ""
    page.goto(blog.post_page(service, thread_uri, head=head))
    wait_for_widget(page)
    mine = post(page, fresh("My own comment, with a message beside it"))
    if state == "edit-mode":
        mine.get_by_role("button", name="Edit").click()
        expect(mine.get_by_label("Edit your comment")).to_be_focused()
    else:
        open_reply(page, first["id"], "Pat")
    if state == "dark-theme":
        expect(widget(page)).to_have_class(re.compile(r"\bcsvc-dark\b"))
    assert serious_violations(page, axe_script) == []


# ---------------------------------------------------------------- 10. screenshots


DEMO_URI = "/2008/01/persistence-pays-off.html"
WIDTHS = [375, 768, 1280]
SCHEMES = ["light", "dark"]


def screenshot_path(name: str) -> Path | None:
    """Where to save a screenshot: $COMMENTSVC_SCREENSHOTS, when it is set."""
    folder = os.environ.get("COMMENTSVC_SCREENSHOTS")
    if not folder:
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder) / name


@pytest.fixture(params=SCHEMES)
def scheme_page(request, browser):
    """A page under a light or dark system preference (axe-free, so any CSP is bypassed)."""
    context = browser.new_context(color_scheme=request.param, bypass_csp=True)
    yield request.param, context.new_page()
    context.close()


def seed_thread(service, uri) -> dict:
    first = service.post(
        uri,
        fresh("I kept a spreadsheet of every *no*. It helped."),
        author="Pat",
        website="https://pat.example",
    )
    service.post(uri, fresh("What did you send them first?"), author="Sam", parent_id=first["id"])
    service.post(
        uri, fresh("Patience, and a good **coffee** budget. Also `follow-ups`."), author="Alex"
    )
    return first


def open_demo_with_thread(page, service, uri: str, scheme: str):
    """The demo blog, showing this test's thread (the demo's own is shared with other tests);
    for dark, the blog paints itself dark and leaves the widget's theme to follow it."""

    def rewrite(route):
        response = route.fetch()
        html = response.text().replace(DEMO_URI, uri)
        if scheme == "dark":
            html = html.replace('data-theme="light"', 'data-theme="auto"')
            html = html.replace("</head>", DARK_PAGE + "</head>")
        route.fulfill(response=response, body=html)

    page.route(service.url + "/demo", rewrite)
    page.goto(service.url + "/demo")


@pytest.mark.parametrize("width", WIDTHS)
def test_screenshot_of_the_demo_with_a_reply_form_open(scheme_page, service, thread_uri, width):
    """A PNG of the widget on the demo blog for a person to review; no sideways scroll."""
    scheme, page = scheme_page
    first = seed_thread(service, thread_uri)
    page.set_viewport_size({"width": width, "height": 900})
    open_demo_with_thread(page, service, thread_uri, scheme)
    wait_for_widget(page)
    expect(page.locator("#comments article.csvc-comment")).to_have_count(3)
    expect(widget(page)).to_have_class(re.compile(rf"\bcsvc-{scheme}\b"))
    open_reply(page, first["id"], "Pat")
    path = screenshot_path(f"demo-{width}-{scheme}.png")
    if path:
        page.locator("#comments").screenshot(path=path)
        assert path.stat().st_size > 1000
    assert_no_sideways_scroll(page)


@pytest.mark.parametrize("width", [375, 768, 1280])
def test_screenshot_of_a_hostile_blog_with_a_reply_form_open(
    scheme_page, blog, service, thread_uri, width
):
    """A PNG of a blog whose CSS fights the widget; the widget still fits the screen."""
    scheme, page = scheme_page
    first = seed_thread(service, thread_uri)
    page.set_viewport_size({"width": width, "height": 900})
    head = HOSTILE_CSS + (DARK_PAGE if scheme == "dark" else "")
    page.goto(blog.post_page(service, thread_uri, head=head))
    wait_for_widget(page)
    expect(page.locator("#comments article.csvc-comment")).to_have_count(3)
    expect(widget(page)).to_have_class(re.compile(rf"\bcsvc-{scheme}\b"))
    open_reply(page, first["id"], "Pat")
    path = screenshot_path(f"hostile-{width}-{scheme}.png")
    if path:
        page.screenshot(path=path, full_page=True)
        assert path.stat().st_size > 1000
    assert_no_sideways_scroll(page)


def test_a_large_root_font_on_a_phone_does_not_scroll_sideways(page, blog, service, thread_uri):
    page.set_viewport_size({"width": 375, "height": 900})
    page.goto(blog.post_page(service, thread_uri, head="<style>html { font-size: 36px }</style>"))
    wait_for_widget(page)
    assert_no_sideways_scroll(page)
