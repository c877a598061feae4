"""Every XSS vector of the corpora, inside the comments of a Blogger, a Disqus and a WordPress
export, comes out as safe HTML, judged as the sanitiser's own tests judge it."""

from __future__ import annotations

import re
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import select

from commentsvc.extensions import db
from commentsvc.models import Comment
from tests.conftest import corpus
from tests.test_import_formats import run_import
from tests.test_sanitiser_corpora import XSS_CORPORA, html_problems

# What XML 1.0 cannot carry at all (an export could not hold it either).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def vectors() -> list[str]:
    found = []
    for source in XSS_CORPORA:
        found += source.read(corpus(*source.path.split("/")))
    return [v for v in dict.fromkeys(_NOT_XML.sub("", v) for v in found) if v.strip()]


def blogger(items: list[str]) -> str:
    kind = (
        '<category scheme="http://schemas.google.com/g/2005#kind" '
        'term="http://schemas.google.com/blogger/2008/kind#comment"/>'
    )
    return (
        '<feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:thr="http://purl.org/syndication/thread/1.0">'
        + "".join(
            f"<entry><id>tag:blogger.com,1999:blog-1.post-{n}</id>{kind}"
            f"<published>2008-01-01T00:00:00Z</published>"
            f'<content type="html">{escape(v)}</content><author><name>{escape(v[:80])}'
            f"</name><uri>{escape(v)}</uri></author><thr:in-reply-to "
            f'href="https://x.blogspot.com/p.html" ref="tag:blogger.com,1999:blog-1.post-0"/>'
            f"</entry>"
            for n, v in enumerate(items, 1)
        )
        + "</feed>"
    )


def disqus(items: list[str]) -> str:
    return (
        '<disqus xmlns="http://disqus.com" xmlns:dsq="http://disqus.com/disqus-internals">'
        '<thread dsq:id="t"><link>https://d.example/p/</link></thread>'
        + "".join(
            f'<post dsq:id="{n}"><message>{escape(v)}</message><createdAt>2015-01-01T00:00:'
            f"00Z</createdAt><author><name>{escape(v[:80])}</name></author>"
            f'<thread dsq:id="t"/></post>'
            for n, v in enumerate(items, 1)
        )
        + "</disqus>"
    )


def wordpress(items: list[str]) -> str:
    return (
        '<rss xmlns:wp="http://wordpress.org/export/1.2/"><channel><item><title>T</title>'
        "<link>https://w.example/t/</link>"
        + "".join(
            f"<wp:comment><wp:comment_id>{n}</wp:comment_id><wp:comment_author>"
            f"{escape(v[:80])}</wp:comment_author><wp:comment_author_url>{escape(v)}"
            f"</wp:comment_author_url><wp:comment_date_gmt>2015-01-01 00:00:00"
            f"</wp:comment_date_gmt><wp:comment_content>{escape(v)}</wp:comment_content>"
            f"<wp:comment_approved>1</wp:comment_approved><wp:comment_parent>0"
            f"</wp:comment_parent></wp:comment>"
            for n, v in enumerate(items, 1)
        )
        + "</item></channel></rss>"
    )


def website_problems(website: str | None) -> list[str]:
    if website is None:
        return []
    if not re.match(r"^https?://[^\s\"'<>`]+$", website):
        return [f"website {website!r}"]
    return []


@pytest.mark.backends("sqlite")
@pytest.mark.parametrize(
    ("fmt", "build"), [("blogger", blogger), ("disqus", disqus), ("wordpress", wordpress)]
)
def test_xss_vectors_in_an_export_are_stored_safe(app, tmp_path, fmt, build):
    items = vectors()
    assert len(items) > 2000  # the corpora are all there
    path = tmp_path / f"{fmt}.xml"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + build(items), encoding="utf-8")
    report = run_import(app, fmt, path)
    assert report.comments + len(report.refused) == len(items)
    assert all(why == "it has no text" for _, why in report.refused)  # markup with no text
    with app.app_context():
        rows = db.session.execute(select(Comment.html, Comment.website, Comment.text)).all()
    failures = [
        (text[:80], problem)
        for html, website, text in rows
        for problem in html_problems(html) + website_problems(website)
    ]
    assert failures == [], f"{len(failures)} unsafe: {failures[:20]}"
