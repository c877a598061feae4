"""The embedded widget on a blog page of another origin: reading, posting, replying."""

import re

import pytest
from playwright.sync_api import expect

from .conftest import HOSTILE_CSS, start_service, wait_for_widget, write_and_post

pytestmark = pytest.mark.browser


def comment(page, text):
    return page.locator("#comments article.csvc-comment", has_text=text)


def test_empty_thread_shows_no_comments_then_the_form(page, blog, service, thread_uri):
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)
    expect(page.locator("#comments .csvc-count")).to_have_text("No comments")
    expect(page.locator("#comments article")).to_have_count(0)
    expect(page.get_by_label("Comment", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Post comment")).to_be_visible()


def test_widget_renders_in_an_open_shadow_root_with_styles_isolated(
    page, blog, service, thread_uri
):
    blog_css = "<style>button { background-color: rgb(255, 0, 0) !important; }</style>"
    outside = '<button type="button" class="csvc-button" id="blog-button">Blog button</button>'
    page.goto(blog.post_page(service, thread_uri, head=blog_css, extra=outside))
    wait_for_widget(page)
    shadow = page.evaluate("""() => {
        const root = document.getElementById('comments').shadowRoot;
        return {
            mode: root.mode,
            links: [...root.querySelectorAll('link[rel=stylesheet]')].map(l => l.href),
            styleElements: root.querySelectorAll('style').length,
            styleAttributes: root.querySelectorAll('[style]').length,
            iframes: document.querySelectorAll('iframe').length,
        };
    }""")
    assert shadow == {
        "mode": "open",
        "links": [service.url + "/widget.css"],
        "styleElements": 0,
        "styleAttributes": 0,
        "iframes": 0,
    }
    widget_button = page.get_by_role("button", name="Post comment")
    background = widget_button.evaluate("el => getComputedStyle(el).backgroundColor")
    assert background != "rgb(255, 0, 0)"
    # ...and the widget's class names mean nothing to the blog's own elements.
    blog_button = page.locator("#blog-button")
    assert blog_button.evaluate("el => getComputedStyle(el).fontWeight") == "400"


def test_posting_from_an_allowed_origin_shows_the_comment(page, blog, service, thread_uri):
    # The blog page has a strict CSP (no 'unsafe-inline'): any violation would be reported.
    violations = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.add_init_script("""window.__csp = [];
        document.addEventListener('securitypolicyviolation',
            e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI), true);""")
    page.goto(blog.post_page(service, thread_uri, csp=True))
    wait_for_widget(page)
    page.get_by_label("Name (optional)").fill("Dana")
    page.get_by_label("Website (optional)").fill("https://dana.example")
    write_and_post(page, "I called every **Tuesday** for a year.")

    posted = comment(page, "I called every Tuesday for a year.")
    expect(posted).to_be_visible()
    expect(posted.locator("strong")).to_have_text("Tuesday")
    author = posted.locator("a.csvc-author")
    expect(author).to_have_text("Dana")
    expect(author).to_have_attribute("href", "https://dana.example")
    expect(author).to_have_attribute("rel", "nofollow ugc noopener")
    avatar = posted.locator("img.csvc-avatar")
    expect(avatar).to_have_attribute(
        "src", re.compile("^" + re.escape(service.url) + r"/avatars/[0-9a-f]{16}\.svg$")
    )
    expect(avatar).to_have_attribute("alt", "")
    time = posted.locator("time")
    expect(time).to_have_attribute("datetime", re.compile(r"^\d{4}-\d\d-\d\dT"))
    expect(time).to_have_attribute("title", re.compile(r"\d{4}"))
    expect(page.locator("#comments .csvc-count")).to_have_text("1 comment")
    expect(posted.locator(".csvc-msg")).to_have_text("Your comment is published.")
    # Saved on the server, and the form is ready for the next comment.
    assert service.count(thread_uri) == 1
    expect(page.get_by_label("Comment", exact=True)).to_have_value("")
    # No cookies, and the reader's details are remembered for the next form.
    assert page.context.cookies() == []
    page.reload()
    wait_for_widget(page)
    expect(page.get_by_label("Name (optional)")).to_have_value("Dana")
    expect(comment(page, "I called every Tuesday")).to_be_visible()
    page.get_by_role("button", name="Preview").click()  # the preview is under the CSP too
    assert violations == [] and page.evaluate("window.__csp") == []


def test_anonymous_comment_is_shown_as_anonymous_without_a_link(page, blog, service, thread_uri):
    service.post(thread_uri, "No name given.")
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)
    posted = comment(page, "No name given.")
    expect(posted.locator(".csvc-author")).to_have_text("Anonymous")
    expect(posted.locator("a.csvc-author")).to_have_count(0)


def test_a_reply_nests_under_its_parent(page, blog, service, thread_uri):
    parent = service.post(thread_uri, "Parent comment", author="Ann")
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)
    comment(page, "Parent comment").get_by_role("button", name="Reply to Ann").click()
    reply_form = page.locator("#comments form.csvc-reply-form")
    expect(reply_form).to_be_visible()
    expect(reply_form.get_by_label("Comment", exact=True)).to_be_focused()
    reply_form.get_by_label("Comment", exact=True).fill("A reply to Ann")
    reply_form.get_by_role("button", name="Post reply").click()

    parent_item = page.locator(
        "#comments li.csvc-item", has=page.locator(f"#comment-{parent['id']}")
    )
    nested = parent_item.locator("ol.csvc-replies article.csvc-comment", has_text="A reply to Ann")
    expect(nested).to_be_visible()
    expect(reply_form).to_have_count(0)
    expect(page.locator("#comments .csvc-count")).to_have_text("2 comments")
    tree = service.thread(thread_uri)
    assert tree["comments"][0]["replies"][0]["parent_id"] == parent["id"]


def test_deep_replies_attach_at_the_last_level_with_a_marker(page, blog, service, thread_uri):
    parent_id = None
    for depth in range(6):
        parent_id = service.post(
            thread_uri, f"Level {depth}", author=f"Person{depth}", parent_id=parent_id
        )["id"]
    page.set_viewport_size({"width": 375, "height": 800})
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)
    depth_of = page.evaluate("""() => {
        const root = document.getElementById('comments').shadowRoot;
        const out = {};
        for (const a of root.querySelectorAll('article.csvc-comment')) {
            let depth = 0;
            for (let el = a.parentElement; el; el = el.parentElement) {
                if (el.matches('ol.csvc-replies')) depth++;
            }
            out[a.querySelector('.csvc-body').textContent.trim()] = depth;
        }
        return out;
    }""")
    assert depth_of == {
        "Level 0": 0,
        "Level 1": 1,
        "Level 2": 2,
        "Level 3": 3,
        "Level 4": 3,
        "Level 5": 3,
    }
    expect(comment(page, "Level 4").locator(".csvc-in-reply")).to_have_text("in reply to Person3")
    expect(comment(page, "Level 5").locator(".csvc-in-reply")).to_have_text("in reply to Person4")
    expect(comment(page, "Level 3").locator(".csvc-in-reply")).to_have_count(0)
    # Readable on a phone: the deepest comment still has most of the width.
    box = comment(page, "Level 5").bounding_box()
    assert box["width"] > 250


def test_preview_shows_rendered_markdown(page, blog, service, thread_uri):
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)
    textarea = page.get_by_label("Comment", exact=True)
    textarea.fill("Some *emphasis* and `code`")
    preview_button = page.get_by_role("button", name="Preview")
    preview_button.click()
    preview = page.locator("#comments .csvc-preview")
    expect(preview).to_be_visible()
    expect(preview.locator("em")).to_have_text("emphasis")
    expect(preview.locator("code")).to_have_text("code")
    expect(preview_button).to_have_attribute("aria-pressed", "true")
    expect(textarea).to_be_hidden()
    preview_button.click()
    expect(textarea).to_be_visible()
    expect(textarea).to_have_value("Some *emphasis* and `code`")
    assert service.count(thread_uri) == 0


def test_validation_error_shows_next_to_its_field(page, blog, service, thread_uri):
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)
    website = page.get_by_label("Website (optional)")
    website.fill("javascript:alert(1)")
    write_and_post(page, "Click my name")

    error = page.locator("#comments .csvc-field-website .csvc-error")
    expect(error).to_be_visible()
    expect(error).to_have_text(re.compile("http"))
    expect(website).to_have_attribute("aria-invalid", "true")
    expect(website).to_have_attribute("aria-describedby", re.compile(error.get_attribute("id")))
    expect(website).to_be_focused()
    expect(page.get_by_label("Comment", exact=True)).to_have_value("Click my name")
    assert service.count(thread_uri) == 0

    website.fill("https://fixed.example")
    page.get_by_role("button", name="Post comment").click()
    expect(comment(page, "Click my name")).to_be_visible()
    expect(error).to_be_hidden()
    expect(website).not_to_have_attribute("aria-invalid", "true")


@pytest.fixture(scope="module")
def limited_service(blog, tmp_path_factory):
    """A service of its own whose limiter lets one post a minute through per address."""
    service = start_service(
        tmp_path_factory.mktemp("limited"),
        blog.origin,
        ratelimit_enabled="true",
        ratelimit_post="1 per minute",
    )
    yield service
    service.stop()


def test_a_real_rate_limit_shows_when_to_retry(page, blog, limited_service, thread_uri):
    """The service's own 429, cross-origin: the widget on the blog's page can read how long to
    wait only because the answer exposes Retry-After to it."""
    refusals = []
    page.on("response", lambda r: refusals.append(r) if r.status == 429 else None)
    page.goto(blog.post_page(limited_service, thread_uri))
    wait_for_widget(page)
    text = page.get_by_label("Comment", exact=True)
    text.fill("The one post of this minute")
    page.get_by_role("button", name="Post comment").click()
    expect(comment(page, "The one post of this minute")).to_be_visible()

    text.fill("Posted too fast")
    page.get_by_role("button", name="Post comment").click()
    # "in 42 seconds" or "in 1 minute", read from Retry-After; unread, "in a little while".
    expect(page.locator("#comments form [role=status]")).to_have_text(
        re.compile(r"try again in \d+ (seconds?|minutes?)\.")
    )
    expect(text).to_have_value("Posted too fast")
    [refusal] = refusals
    assert refusal.url == limited_service.url + "/api/comments"
    assert 0 < int(refusal.headers["retry-after"]) <= 61
    assert limited_service.count(thread_uri) == 1


def test_network_failure_keeps_the_text(page, blog, service, thread_uri):
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)
    page.route(service.url + "/api/comments", lambda route: route.abort())
    write_and_post(page, "Typed on a train")
    expect(page.locator("#comments form [role=status]")).to_have_text(
        re.compile("Could not reach the comment server.*still here")
    )
    expect(page.get_by_label("Comment", exact=True)).to_have_value("Typed on a train")


def test_load_more_appends_the_next_page(page, blog, service, thread_uri):
    for n in range(53):
        service.post(thread_uri, f"Comment number {n}")
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)
    expect(page.locator("#comments .csvc-count")).to_have_text("53 comments")
    expect(page.locator("#comments article.csvc-comment")).to_have_count(50)
    page.get_by_role("button", name="Load more comments").click()
    expect(page.locator("#comments article.csvc-comment")).to_have_count(53)
    expect(page.get_by_role("button", name="Load more comments")).to_be_hidden()
    expect(comment(page, "Comment number 50")).to_be_focused()


def test_page_from_a_foreign_origin_cannot_post(page, foreign_blog, service, thread_uri):
    page.goto(foreign_blog.post_page(service, thread_uri))
    expect(page.locator("#comments .csvc-status").first).to_have_text(
        re.compile("could not be loaded")
    )
    # Nor can its scripts write directly: the preflight is refused, nothing is stored.
    outcome = page.evaluate(
        """async ([url, uri]) => {
        try {
            const res = await fetch(url + '/api/comments', {method: 'POST', credentials: 'omit',
                headers: {'Content-Type': 'application/json'},
                body: JSON.stringify({uri, text: 'from a foreign page'})});
            return 'status ' + res.status;
        } catch (e) { return 'blocked'; }
    }""",
        [service.url, thread_uri],
    )
    assert outcome == "blocked"
    assert service.count(thread_uri) == 0


def test_hostile_blog_css_leaves_a_visible_clickable_form(page, blog, service, thread_uri):
    page.goto(blog.post_page(service, thread_uri, head=HOSTILE_CSS))
    wait_for_widget(page)
    textarea = page.get_by_label("Comment", exact=True)
    submit = page.get_by_role("button", name="Post comment")
    for element in (textarea, submit, page.get_by_label("Name (optional)")):
        expect(element).to_be_visible()
        box = element.bounding_box()
        assert box["width"] >= 40 and box["height"] >= 20, box
    assert textarea.bounding_box()["width"] >= 200
    textarea.click()
    page.keyboard.type("Still works")
    submit.click()
    expect(comment(page, "Still works")).to_be_visible()
