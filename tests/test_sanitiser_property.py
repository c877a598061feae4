"""Generated comment text: whatever a reader writes, the stored HTML stays inside the allowlist."""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from commentsvc.extensions import db
from commentsvc.models import Comment, Thread
from commentsvc.render import clean_html, render_comment

from .test_sanitiser_corpora import error_shape_problems, html_problems

SCHEMES = [
    "javascript:",
    "JaVaScRiPt:",
    "java\tscript:",
    "java\nscript:",
    "java\x00script:",
    "  javascript:",
    "\x01javascript:",
    "javascript&colon;",
    "data:text/html,",
    "data:",
    "vbscript:",
    "file:///",
    "http://",
    "https://",
    "HTTPS://",
    "http:",
    "https:",
    "https:/",
    "mailto:",
    "MAILTO:",
    "//",
    "/",
    "./",
    "#",
    "?",
    "ftp://",
    "www.",
]
ENTITIES = [
    "&#106;",
    "&#x6A;",
    "&#X6a;",
    "&#0000106",
    "&#x09;",
    "&#10;",
    "&Tab;",
    "&NewLine;",
    "&colon;",
    "&lpar;",
    "&lt;",
    "&gt;",
    "&amp;",
    "&quot;",
    "&apos;",
    "&nbsp;",
    "&#0;",
    "&#x0;",
    "&#xD800;",
    "&#x110000;",
    "&#",
    "&",
]
HTML = [
    "<script>",
    "</script>",
    "<img src=x onerror=alert(1)>",
    '<a href="',
    '">',
    "</a>",
    "<svg/onload=alert(1)>",
    "<style>",
    ' style="color:red"',
    " onclick=alert(1)",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<?xml ",
    "<!DOCTYPE html>",
    "<iframe src=",
    "<base href=",
    '<math><mi xlink:href="',
    "<p>",
    "</p>",
    "<br/>",
    "<b>",
    "<em>",
    "<",
    ">",
    "</",
    "/>",
]
MARKDOWN = [
    "[",
    "]",
    "(",
    ")",
    "](",
    "![",
    "*",
    "**",
    "_",
    "`",
    "```\n",
    "~~~\n",
    "    ",
    "> ",
    "- ",
    "1. ",
    "\n",
    "\n\n",
    "  \n",
    "\\",
    '"',
    "'",
    "# ",
    "---\n",
    "|",
    "<",
    ">",
]
WORDS = ["alert(1)", "example.com", "a@example.com", "x", " ", "é", "\u2100", "\uff03"]

fragments = st.one_of(
    st.sampled_from(SCHEMES + ENTITIES + HTML + MARKDOWN + WORDS),
    st.characters(categories=["Cc", "Cf", "Cs", "Zs", "Zl", "Zp"]),  # controls, BOM, surrogates
    st.text(max_size=6),
)
links = st.builds(
    lambda form, label, scheme, rest: form.format(label=label, url=scheme + rest),
    st.sampled_from(
        [
            "[{label}]({url})",
            "[{label}](<{url}>)",
            '[{label}]({url} "t")',
            "<{url}>",
            "{url}",
            "[{label}]: {url}\n\n[{label}]",
        ]
    ),
    st.lists(fragments, max_size=3).map("".join),
    st.sampled_from(SCHEMES),
    st.lists(
        st.one_of(fragments, st.sampled_from(["alert(1)", "example.com/a?b=c#d"])), max_size=5
    ).map("".join),
)
comment_texts = st.one_of(
    st.text(),
    st.lists(st.one_of(fragments, links), max_size=25).map("".join),
)


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@settings(max_examples=500, deadline=None)
@given(text=comment_texts.filter(_utf8))  # validation refuses lone surrogates before rendering
def test_rendered_html_of_any_text_is_allowlisted_and_clean(text):
    html = render_comment(text)
    assert html_problems(html) == []
    assert clean_html(html) == html


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=comment_texts)
def test_posted_text_is_stored_allowlisted_and_clean_or_refused(app, client, form_token, text):
    uri = f"/property/{secrets.token_hex(6)}.html"
    with app.app_context():
        comments_before = db.session.scalar(sa.select(sa.func.count(Comment.id)))
        db.session.remove()

    body = {"uri": uri, "text": text, "form_token": form_token(uri)}
    response = client.post("/api/comments", json=body)

    assert response.status_code == 201 or 400 <= response.status_code < 500, response.status_code
    with app.app_context():
        if response.status_code == 201:
            answer = response.get_json()
            html = db.session.scalar(sa.select(Comment.html).where(Comment.id == answer["id"]))
            assert html == answer["html"]
            assert html_problems(html) == []
            assert clean_html(html) == html
        else:
            assert error_shape_problems(response) == []
            assert db.session.scalar(sa.select(sa.func.count(Comment.id))) == comments_before
            assert db.session.scalar(sa.select(Thread.id).where(Thread.uri == uri)) is None
        db.session.remove()
