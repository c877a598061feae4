"""The widget and the anti-abuse rules: re-moderated edits, single-use form tokens, marked
moderators' replies, and spam that looks held to its author."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

from commentsvc import create_app
from commentsvc.comments import reply_as_moderator
from commentsvc.config import settings_of
from commentsvc.extensions import db
from commentsvc.models import Comment, Moderator, Status

from .conftest import wait_for_widget, write_and_post

pytestmark = pytest.mark.browser


def three_links() -> str:
    """More links than MAX_LINKS (2), and a text of its own: the same text again from the same
    address would be held as a duplicate, which is not what these tests are about."""
    tag = uuid.uuid4().hex[:8]
    return (
        f"Better sources ({tag}): [one](https://one.example/{tag}), "
        f"[two](https://two.example/{tag}) and [three](https://three.example/{tag})."
    )


@pytest.fixture(scope="module")
def service_app(service):
    """The application bound to the `service` instance's database, for seeding and checks."""
    app = create_app(
        {
            "DATABASE_URL": service.env["COMMENTSVC_DATABASE_URL"],
            "SECRET_KEY": service.env["COMMENTSVC_SECRET_KEY"],
            "ALLOWED_ORIGINS": service.env["COMMENTSVC_ALLOWED_ORIGINS"],
            "PUBLIC_URL": service.env["COMMENTSVC_PUBLIC_URL"],
        }
    )
    yield app
    with app.app_context():
        db.engine.dispose()


def comment(page, text):
    return page.locator("#comments article.csvc-comment", has_text=text)


def widget_status(page):
    """The widget's own live region (not a form's)."""
    return page.locator("#comments section.csvc > p.csvc-live")


def count(page):
    return page.locator("#comments .csvc-count")


def post(page, text):
    write_and_post(page, text)
    posted = comment(page, text)
    expect(posted).to_be_visible()
    # By id from here on: an edit replaces the article's text.
    return page.locator("#comments #" + posted.get_attribute("id"))


def comment_id(article) -> int:
    return int(article.get_attribute("id").removeprefix("comment-"))


def edit(article, text):
    article.get_by_role("button", name="Edit").click()
    article.get_by_label("Edit your comment").fill(text)
    article.get_by_role("button", name="Save").click()


def held_for_links(app, ident: int) -> None:
    """The edit was held by the link rule, not taken for spam."""
    with app.app_context():
        stored = db.session.get(Comment, ident)
        assert stored.status == Status.pending, stored.held_reason
        assert re.match(r"edited: 3 links\b", stored.held_reason), stored.held_reason


def as_stranger(browser, url):
    """Another reader: a browser context without this reader's edit tokens."""
    context = browser.new_context()
    other = context.new_page()
    other.goto(url)
    wait_for_widget(other)
    return context, other


# ---------------------------------------------------------------- 1. edits are re-moderated


def test_an_edit_with_many_links_goes_back_to_review_in_the_widget(
    page, browser, blog, service, service_app, thread_uri
):
    url = blog.post_page(service, thread_uri)
    service.post(thread_uri, "Someone else's comment stays put")
    page.goto(url)
    wait_for_widget(page)
    mine = post(page, "A plain first version")
    expect(count(page)).to_have_text("2 comments")
    expect(mine.locator(".csvc-pending-note")).to_have_count(0)

    edit(mine, three_links())
    expect(widget_status(page)).to_have_text(
        "Your change is awaiting moderation; only you can see it for now."
    )
    expect(mine.locator(".csvc-pending-note")).to_have_text("awaiting moderation")
    expect(mine.locator(".csvc-body a")).to_have_count(3)
    expect(mine.locator(".csvc-edited")).to_be_visible()
    expect(count(page)).to_have_text("2 comments (1 awaiting moderation)")
    held_for_links(service_app, comment_id(mine))

    # Its author still sees it, held, after a reload.
    page.reload()
    wait_for_widget(page)
    expect(count(page)).to_have_text("2 comments (1 awaiting moderation)")
    expect(mine.locator(".csvc-pending-note")).to_have_text("awaiting moderation")
    expect(mine.locator(".csvc-body")).to_contain_text("Better sources")

    context, other = as_stranger(browser, url)
    try:
        expect(count(other)).to_have_text("1 comment")
        expect(other.locator("#comments article.csvc-comment")).to_have_count(1)
        expect(comment(other, "Someone else's comment stays put")).to_be_visible()
        expect(other.locator(f"#comments #comment-{comment_id(mine)}")).to_have_count(0)
        expect(comment(other, "Better sources")).to_have_count(0)
        expect(comment(other, "A plain first version")).to_have_count(0)
    finally:
        context.close()


def test_a_held_edit_with_public_replies_leaves_a_placeholder_for_others(
    page, browser, blog, service, service_app, thread_uri
):
    url = blog.post_page(service, thread_uri)
    page.goto(url)
    wait_for_widget(page)
    mine = post(page, "Ask me anything about difficult sales")
    service.post(thread_uri, "A public answer underneath", parent_id=comment_id(mine))
    page.reload()
    wait_for_widget(page)
    expect(count(page)).to_have_text("2 comments")

    edit(mine, three_links())
    expect(widget_status(page)).to_have_text(
        "Your change is awaiting moderation; only you can see it for now."
    )
    expect(mine.locator(".csvc-pending-note")).to_have_text("awaiting moderation")
    expect(count(page)).to_have_text("2 comments (1 awaiting moderation)")
    held_for_links(service_app, comment_id(mine))

    context, other = as_stranger(browser, url)
    try:
        expect(count(other)).to_have_text("1 comment")
        held = other.locator(f"#comments #comment-{comment_id(mine)}")
        expect(held).to_have_text("This comment was deleted.")
        expect(held.locator("a")).to_have_count(0)
        expect(
            other.locator("#comments .csvc-replies article", has_text="A public answer underneath")
        ).to_be_visible()
        expect(other.locator("#comments", has_text="Better sources")).to_have_count(0)
        expect(other.locator("#comments", has_text="Ask me anything")).to_have_count(0)
    finally:
        context.close()


# ---------------------------------------------------------------- 2. single-use form tokens


def test_a_comment_then_a_reply_without_reloading_are_both_published(
    page, browser, blog, service, thread_uri
):
    url = blog.post_page(service, thread_uri)
    page.goto(url)
    wait_for_widget(page)
    posts = []
    page.on(
        "request",
        lambda r: (
            posts.append(r.post_data_json)
            if r.method == "POST" and r.url == service.url + "/api/comments"
            else None
        ),
    )

    def submit(button):
        with page.expect_response(
            lambda r: r.request.method == "POST" and r.url == service.url + "/api/comments"
        ) as answer:
            button.click()
        assert answer.value.status == 201, answer.value.text()
        return answer.value.json()

    page.get_by_label("Comment", exact=True).fill("First, a comment")
    first = submit(page.get_by_role("button", name="Post comment"))
    assert first["status"] == "approved" and first["form_token"]
    expect(widget_status(page)).to_have_text("Your comment is published.")
    parent = page.locator(f"#comments #comment-{first['id']}")

    parent.get_by_role("button", name="Reply to Anonymous").click()
    reply_form = page.locator("#comments form.csvc-reply-form")
    reply_form.get_by_label("Comment", exact=True).fill("Then, without reloading, a reply")
    second = submit(reply_form.get_by_role("button", name="Post reply"))
    assert second["status"] == "approved"
    expect(widget_status(page)).to_have_text("Your comment is published.")

    page.locator("#comments .csvc-main-form").get_by_label("Comment", exact=True).fill(
        "And a second comment, still without reloading"
    )
    third = submit(page.get_by_role("button", name="Post comment"))
    assert third["status"] == "approved"

    # Each post used the token the answer to the one before brought, never one twice.
    tokens = [body["form_token"] for body in posts]
    assert tokens[1:] == [first["form_token"], second["form_token"]]
    assert len(set(tokens)) == 3

    for text in (
        "First, a comment",
        "Then, without reloading, a reply",
        "And a second comment, still without reloading",
    ):
        expect(comment(page, text)).to_be_visible()
    expect(page.locator("#comments .csvc-pending-note")).to_have_count(0)
    expect(
        page.locator("#comments .csvc-replies article", has_text="Then, without reloading, a reply")
    ).to_be_visible()
    expect(count(page)).to_have_text("3 comments")

    context, other = as_stranger(browser, url)
    try:
        expect(count(other)).to_have_text("3 comments")
        expect(other.locator("#comments article.csvc-comment")).to_have_count(3)
        expect(
            other.locator(
                "#comments .csvc-replies article", has_text="Then, without reloading, a reply"
            )
        ).to_be_visible()
        expect(other.locator("#comments .csvc-pending-note")).to_have_count(0)
    finally:
        context.close()


# ---------------------------------------------------------------- 3. moderators' replies


def seed_moderator_reply(app, parent_id: int, text: str, display_name: str | None) -> str:
    """A reply written by a new moderator through the domain function; the moderator's name."""
    name = f"mod{uuid.uuid4().hex[:8]}"
    with app.app_context():
        moderator = Moderator(
            name=name, display_name=display_name, email=f"{name}@example.com", password_hash="x"
        )
        db.session.add(moderator)
        db.session.flush()
        parent = db.session.get(Comment, parent_id)
        reply_as_moderator(db.session, settings_of(app), parent, moderator, text)
        db.session.commit()
    return name


def test_a_moderators_reply_shows_the_display_name_and_a_badge(
    page, browser, blog, service, service_app, thread_uri
):
    url = blog.post_page(service, thread_uri)
    display_name = f"Dana from the blog {uuid.uuid4().hex[:4]}"
    question = service.post(thread_uri, "Is anyone reading these?")
    seed_moderator_reply(service_app, question["id"], "Yes, we read every one.", display_name)
    login_name = seed_moderator_reply(service_app, question["id"], "Me too.", None)
    # A reader who takes the moderator's name gets no badge.
    service.post(thread_uri, "I am the moderator, trust me", author=display_name)

    page.goto(url)
    wait_for_widget(page)
    expect(count(page)).to_have_text("4 comments")

    def check(reader):
        replies = reader.locator(f"#comments #comment-{question['id']} + .csvc-replies")
        by_name = replies.locator("article.csvc-comment", has_text="Yes, we read every one.")
        expect(by_name.locator(".csvc-author")).to_have_text(display_name)
        badge = by_name.locator(".csvc-badge")
        expect(badge).to_have_text("moderator")
        assert badge.evaluate("el => el.outerHTML") == '<span class="csvc-badge">moderator</span>'
        assert (
            by_name.locator(".csvc-author").evaluate("el => el.nextElementSibling.outerHTML")
            == '<span class="csvc-badge">moderator</span>'
        )

        by_login = replies.locator("article.csvc-comment", has_text="Me too.")
        expect(by_login.locator(".csvc-author")).to_have_text(login_name)
        expect(by_login.locator(".csvc-badge")).to_have_text("moderator")

        impostor = reader.locator(
            "#comments article.csvc-comment", has_text="I am the moderator, trust me"
        )
        expect(impostor.locator(".csvc-author")).to_have_text(display_name)
        expect(impostor.locator(".csvc-badge")).to_have_count(0)
        expect(reader.locator(f"#comments #comment-{question['id']} .csvc-badge")).to_have_count(0)
        expect(reader.locator("#comments .csvc-badge")).to_have_count(2)

    check(page)
    context, other = as_stranger(browser, url)
    try:
        check(other)
    finally:
        context.close()


def test_a_moderators_reply_appears_after_a_reload(page, blog, service, service_app, thread_uri):
    page.goto(blog.post_page(service, thread_uri))
    wait_for_widget(page)
    mine = post(page, "Waiting for an answer from the team")
    expect(count(page)).to_have_text("1 comment")  # the thread's page is now cached
    seed_moderator_reply(service_app, comment_id(mine), "Here is your answer.", "The team")
    page.reload()
    wait_for_widget(page)
    expect(count(page)).to_have_text("2 comments")
    reply = page.locator("#comments .csvc-replies article", has_text="Here is your answer.")
    expect(reply.locator(".csvc-author")).to_have_text("The team")
    expect(reply.locator(".csvc-badge")).to_have_text("moderator")


# ---------------------------------------------------------------- 4. spam looks held


def test_spam_looks_like_a_held_comment_to_its_author_only(
    page, browser, blog, service, service_app, thread_uri
):
    url = blog.post_page(service, thread_uri)
    page.goto(url)
    wait_for_widget(page)
    page.evaluate("""() => {
        const hp = document.getElementById('comments').shadowRoot
            .querySelector('.csvc-main-form input[name=hp]');
        hp.value = 'https://cheap-pills.example';
    }""")
    write_and_post(page, "Great post, visit my site")
    mine = comment(page, "Great post, visit my site")
    expect(mine.locator(".csvc-pending-note")).to_have_text("awaiting moderation")
    expect(widget_status(page)).to_have_text(
        "Thank you. Your comment is awaiting moderation; only you can see it for now."
    )
    expect(count(page)).to_have_text("1 comment (1 awaiting moderation)")
    ident = comment_id(mine)
    with service_app.app_context():
        stored = db.session.get(Comment, ident)
        assert (stored.status, stored.held_reason) == (Status.spam, "bot signal: honeypot filled")

    page.reload()
    wait_for_widget(page)
    expect(count(page)).to_have_text("1 comment (1 awaiting moderation)")
    expect(page.locator("#comments article.csvc-comment")).to_have_count(1)
    mine = page.locator(f"#comments #comment-{ident}")
    expect(mine.locator(".csvc-pending-note")).to_have_text("awaiting moderation")
    expect(mine.locator(".csvc-body")).to_have_text("Great post, visit my site")
    expect(page.locator("#comments", has_text="Great post")).to_have_count(1)  # pierces
    expect(page.locator("#comments", has_text="spam")).to_have_count(0)

    context, other = as_stranger(browser, url)
    try:
        expect(count(other)).to_have_text("No comments")
        expect(other.locator("#comments article")).to_have_count(0)
        expect(other.locator("#comments", has_text="Great post")).to_have_count(0)
    finally:
        context.close()


def test_quick_posts_by_a_person_are_paced_not_taken_for_a_bots(
    page, blog, paced_service, thread_uri
):
    """Under the default 3 s minimum, a reader who posts the moment the widget shows, then
    replies at once, is published both times: the widget waits out each token's first 3 s."""
    url = blog.post_page(paced_service, thread_uri)
    page.goto(url)
    wait_for_widget(page)
    answers = []
    page.on(
        "response",
        lambda r: (
            answers.append(r.json())
            if r.request.method == "POST" and r.url == paced_service.url + "/api/comments"
            else None
        ),
    )
    write_and_post(page, "Posted the moment the page showed")
    expect(widget_status(page)).to_have_text("Your comment is published.", timeout=10_000)
    first = comment(page, "Posted the moment the page showed")
    first.get_by_role("button", name="Reply to Anonymous").click()
    reply_form = page.locator("#comments form.csvc-reply-form")
    reply_form.get_by_label("Comment", exact=True).fill("And a reply straight after")
    reply_form.get_by_role("button", name="Post reply").click()
    expect(
        page.locator("#comments .csvc-replies article", has_text="And a reply straight after")
    ).to_be_visible(timeout=10_000)
    expect(widget_status(page)).to_have_text("Your comment is published.")
    assert [a["status"] for a in answers] == ["approved", "approved"]
    expect(page.locator("#comments .csvc-pending-note")).to_have_count(0)
