"""The demo pages and the thread page for readers without JavaScript."""

import re
from html.parser import HTMLParser
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from commentsvc.extensions import db
from commentsvc.models import Comment, Thread

DEMO_URI = "/2008/01/persistence-pays-off.html"


class Page(HTMLParser):
    """The parts of a page these tests look at."""

    def __init__(self, html: str):
        super().__init__()
        self.scripts, self.styles, self.style_attrs, self.inline_handlers = [], 0, 0, 0
        self.elements: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self._in_script = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.elements.append((tag, attrs))
        self.style_attrs += "style" in attrs
        self.inline_handlers += any(name.startswith("on") for name in attrs)
        if tag == "script":
            self.scripts.append([attrs.get("src"), ""])
            self._in_script = True
        self.styles += tag == "style"

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1][1] += data
        elif data.strip():
            self.text.append(" ".join(data.split()))

    def find(self, tag, **attrs):
        return [
            a
            for t, a in self.elements
            if t == tag and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]


def assert_no_inline_code(page: Page):
    assert page.styles == 0 and page.style_attrs == 0 and page.inline_handlers == 0
    assert page.scripts and all(src and not body.strip() for src, body in page.scripts)


def csrf_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def form_token(html: str) -> str:
    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)


@pytest.fixture
def thread_page(client):
    def _get(uri: str, **params):
        query = "&".join(f"{k}={quote(str(v))}" for k, v in {"uri": uri, **params}.items())
        return client.get(f"/comments?{query}")

    return _get


@pytest.fixture
def submit(client, thread_page):
    """Post the no-JS form the way a browser does: load the page, send its tokens back."""

    def _submit(uri: str, **fields):
        html = thread_page(uri).get_data(as_text=True)
        data = {
            "csrf_token": csrf_token(html),
            "form_token": form_token(html),
            "uri": uri,
            "author": "",
            "email": "",
            "website": "",
            "text": "",
            "hp": "",
            **fields,
        }
        return client.post("/comments", data=data)

    return _submit


def test_demo_is_the_2008_post_with_the_widget_under_it(client):
    response = client.get("/demo")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = Page(html)
    text = " ".join(page.text)
    assert "Persistence pays off" in text
    assert "Friday, January 18, 2008" in text
    body = text[text.index("Persistence pays off") : text.index("Posted by")]
    assert body.rstrip().endswith("Have you had a really difficult sale? What worked for you?")
    [widget] = page.find("div", id="comments")
    assert widget["data-uri"] == DEMO_URI
    assert html.index('id="comments"') > html.index("What worked for you?")
    assert page.find("a", href=f"/comments?uri={DEMO_URI}")
    assert "Read and post comments" in html[html.index("<noscript>") : html.index("</noscript>")]
    assert page.find("a", data_comment_count=DEMO_URI)
    assert [src for src, _ in page.scripts] == ["/count.js", "/embed.js"]
    assert page.find("link", rel="stylesheet", href="/assets/demo.css")
    assert_no_inline_code(page)
    assert "'unsafe-inline'" not in response.headers["Content-Security-Policy"]


def test_demo_posts_lists_posts_with_count_links(client):
    response = client.get("/demo/posts")
    page = Page(response.get_data(as_text=True))
    counted = [a["data-comment-count"] for t, a in page.elements if "data-comment-count" in a]
    assert len(counted) >= 3 and DEMO_URI in counted
    assert [src for src, _ in page.scripts] == ["/count.js"]
    assert_no_inline_code(page)


def test_thread_page_without_uri_is_a_400_page(client):
    response = client.get("/comments")
    assert response.status_code == 400
    assert "Which comments?" in response.get_data(as_text=True)


@pytest.mark.parametrize("uri", ["/a\x00b", "/a b", "/\x7f", "/" + "a" * 500])
def test_thread_page_with_a_bad_uri_is_a_400_page(client, uri):
    response = client.get("/comments", query_string={"uri": uri})
    assert response.status_code == 400
    assert response.mimetype == "text/html"


def test_empty_thread_page_says_no_comments_and_has_a_protected_form(thread_page):
    response = thread_page("/posts/empty.html")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    page = Page(response.get_data(as_text=True))
    assert "No comments" in page.text
    [form] = page.find("form", id="comment-form")
    assert form["method"] == "post"
    assert page.find("input", name="csrf_token")
    [hp] = page.find("input", name="hp")
    assert hp["tabindex"] == "-1" and hp["autocomplete"] == "off"
    for name in ("author", "email", "website"):
        assert page.find("label", **{"for": f"f-{name}"})
    assert page.find("textarea", name="text")
    assert page.scripts == [] and page.styles == 0 and page.style_attrs == 0


def test_thread_page_shows_the_tree_escaped(thread_page, make_comment):
    uri = "/posts/tree.html"
    first = make_comment(
        uri, "First *one*", author="<script>alert(1)</script>", website="https://first.example"
    )
    reply = make_comment(uri, "A reply", parent_id=first["id"])
    html = thread_page(uri).get_data(as_text=True)
    assert "2 comments" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "<p>First <em>one</em></p>" in html
    assert 'href="https://first.example" rel="nofollow ugc noopener"' in html
    # The reply sits in the replies list that follows its parent's article.
    parent_at = html.index(f'id="comment-{first["id"]}"')
    replies_at = html.index('class="csvc-replies"', parent_at)
    assert replies_at < html.index(f'id="comment-{reply["id"]}"')


def test_deep_replies_are_flattened_with_a_marker(thread_page, make_comment):
    uri = "/posts/deep.html"
    parent = None
    for n in range(6):
        parent = make_comment(uri, f"Level {n}", author=f"P{n}", parent_id=parent)["id"]
    html = thread_page(uri).get_data(as_text=True)
    assert html.count('class="csvc-replies"') == 3
    assert "in reply to P3" in html and "in reply to P4" in html
    assert "in reply to P2" not in html


def test_posting_redirects_back_with_a_message_and_the_anchor(client, submit):
    uri = "/posts/nojs.html"
    response = submit(uri, author="Jo", text="Hello from a plain form")
    assert response.status_code == 303
    location = response.headers["Location"]
    assert re.search(r"/comments\?uri=.*#comment-\d+$", location)
    follow = client.get(location.split("#")[0])
    html = follow.get_data(as_text=True)
    assert "Your comment is published." in html
    assert "Hello from a plain form" in html
    assert f'id="{location.split("#")[1]}"' in html


def test_posting_a_reply_from_the_reply_link(client, submit, thread_page, make_comment):
    uri = "/posts/nojs-reply.html"
    parent = make_comment(uri, "Answer me", author="Ann")
    page = thread_page(uri, reply=parent["id"]).get_data(as_text=True)
    assert "Reply to Ann" in page
    assert f'name="parent_id" value="{parent["id"]}"' in page
    response = submit(uri, text="Answered", parent_id=str(parent["id"]))
    assert response.status_code == 303
    tree = client.get(f"/api/threads?uri={uri}").get_json()
    assert tree["comments"][0]["replies"][0]["html"] == "<p>Answered</p>"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"website": "javascript:alert(1)", "text": "Hi"}, "website"),
        ({"email": "not an address", "text": "Hi"}, "email"),
        ({"text": "   "}, "text"),
        ({"author": "x" * 81, "text": "Hi"}, "author"),
    ],
)
def test_field_errors_show_next_to_their_field(submit, stored, fields, field):
    before = stored()
    response = submit("/posts/errors.html", **fields)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    page = Page(html)
    [control] = [a for t, a in page.elements if a.get("id") == f"f-{field}"]
    assert control["aria-invalid"] == "true"
    assert f"f-{field}-err" in control["aria-describedby"].split()
    assert page.find("p", id=f"f-{field}-err", **{"class": "csvc-error"})
    if fields.get("text", "").strip():
        assert fields["text"] in html  # what the reader typed is kept
    assert stored() == before


@pytest.mark.parametrize("parent_id", ["abc", "-1", "99999999999999999999999", "1.5"])
def test_bad_parent_id_is_an_error_not_a_crash(submit, parent_id):
    response = submit("/posts/bad-parent.html", text="Hi", parent_id=parent_id)
    assert response.status_code == 400
    assert "csvc-error" in response.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(client, thread_page, stored):
    uri = "/posts/csrf.html"
    html = thread_page(uri).get_data(as_text=True)
    before = stored()
    response = client.post(
        "/comments", data={"uri": uri, "text": "Forged", "form_token": form_token(html)}
    )
    assert response.status_code == 400
    assert "was not posted" in response.get_data(as_text=True)
    forged = client.post(
        "/comments",
        data={"uri": uri, "text": "Forged", "csrf_token": "x" * 40, "form_token": form_token(html)},
    )
    assert forged.status_code == 400
    assert stored() == before


def test_closed_thread_refuses_the_form(app, client, thread_page, make_comment, stored):
    uri = "/posts/closed.html"
    make_comment(uri, "Before closing")
    html = thread_page(uri).get_data(as_text=True)  # a form loaded while it was open
    with app.app_context():
        db.session.execute(sa.update(Thread).where(Thread.uri == uri).values(closed=True))
        db.session.commit()
    assert "Comments are closed." in thread_page(uri).get_data(as_text=True)
    before = stored()
    response = client.post(
        "/comments",
        data={
            "csrf_token": csrf_token(html),
            "form_token": form_token(html),
            "uri": uri,
            "text": "Too late",
        },
    )
    assert response.status_code == 403
    assert "closed" in response.get_data(as_text=True)
    assert stored() == before


@pytest.fixture
def moderate_all(settings):
    settings["MODERATION"] = "all"


def test_held_comment_gets_the_moderation_message(moderate_all, client, submit):
    response = submit("/posts/held.html", text="Hold me")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("#comment-form")
    html = client.get(response.headers["Location"].split("#")[0]).get_data(as_text=True)
    assert "awaiting moderation" in html
    assert "Hold me" not in html


def test_honeypot_is_answered_like_a_held_comment(app, client, submit):
    response = submit("/posts/bot.html", text="Buy things", hp="http://spam.example")
    assert response.status_code == 303
    html = client.get(response.headers["Location"].split("#")[0]).get_data(as_text=True)
    assert "awaiting moderation" in html
    with app.app_context():
        status = db.session.execute(sa.select(Comment.status)).scalar_one()
    assert status.value == "spam"


@pytest.fixture
def one_post_a_minute(settings):
    settings["RATELIMIT_ENABLED"] = True
    settings["RATELIMIT_POST"] = "1 per minute"


def test_posting_too_often_gets_a_page_that_says_when_to_retry(one_post_a_minute, client, submit):
    assert submit("/posts/limited.html", text="First").status_code == 303
    response = submit("/posts/limited.html", text="Second")
    assert response.status_code == 429
    assert response.mimetype == "text/html"
    assert 0 < int(response.headers["Retry-After"]) <= 61  # the window, rounded up
    html = response.get_data(as_text=True)
    assert "posting too quickly" in html
    assert "/comments?uri=/posts/limited.html" in html
    # Reading is not limited by the posting limit.
    assert client.get("/comments?uri=/posts/limited.html").status_code == 200
