"""Each importer on the real exports (and on files in the formats' other shapes): threads,
nesting, statuses, dates, authors and texts, value by value, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from commentsvc.config import settings_of
from commentsvc.extensions import db
from commentsvc.importers import import_file
from commentsvc.models import Comment, Status, Thread
from tests.conftest import corpus

from .settings_helpers import change_settings


def run_import(app, fmt: str, path, **options):
    """Import a file as the command line does: one transaction, committed (rolled back for a
    dry run); returns the report."""
    with app.app_context():
        report = import_file(db.session, settings_of(app), fmt, str(path), **options)
        if options.get("dry_run"):
            db.session.rollback()
        else:
            db.session.commit()
        return report


def stored(app, site: str = "default") -> dict[str, dict]:
    """Every comment of a site by origin, as plain values (parent given by its origin)."""
    with app.app_context():
        rows = db.session.execute(
            select(Comment, Thread).join(Thread).where(Thread.site == site)
        ).all()
        origin_of = {c.id: c.origin for c, _ in rows}
        return {
            c.origin: {
                "uri": t.uri,
                "title": t.title,
                "closed": t.closed,
                "status": c.status,
                "parent": origin_of.get(c.parent_id),
                "author": c.author,
                "email": c.email,
                "website": c.website,
                "created": c.created,
                "edited": c.edited,
                "text": c.text,
                "html": c.html,
                "text_format": c.text_format,
                "address": c.remote_addr,
                "score": c.score,
                "held_reason": c.held_reason,
            }
            for c, t in rows
        }


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def test_blogger_classic_export(app):
    report = run_import(
        app, "blogger", corpus("imports", "blogger", "gconverters-blogger-sample2.xml")
    )
    assert (report.threads_created, report.comments, report.refused) == (2, 3, [])
    tag = "blogger:tag:blogger.com,1999:blog-3113891067179933828.post-"
    comments = stored(app)
    assert set(comments) == {
        tag + "1066271041639903470",
        tag + "8841580313327712653",
        tag + "7939092188512366396",
    }
    life = "/blogspot/jjsfavoritethings/2008/04/this-about-sums-up-my-life.html"
    fixed = comments[tag + "1066271041639903470"]
    assert fixed["uri"] == life and fixed["title"] == "This about sums up my life."
    assert fixed["author"] == "JJ" and fixed["email"] is None  # noreply@blogger.com is no one
    assert fixed["website"] == "http://www.blogger.com/profile/03729555694632144017"
    assert fixed["created"] == utc(2008, 11, 12, 0, 10)  # 16:10 at -08:00
    assert fixed["html"] == "<p>I'll get that fixed soon.</p>"
    assert fixed["status"] == Status.approved and fixed["parent"] is None
    picture = comments[tag + "8841580313327712653"]
    assert picture["uri"] == "/blogspot/jjsfavoritethings/2008/04/somewhat-brief-history.html"
    assert picture["title"] == "A (somewhat) brief history"
    assert picture["author"] == "journalseditor @ aol"
    assert picture["created"] == utc(2008, 11, 12, 0, 9)
    assert picture["text"] == "Nice picture!!!<BR/><BR/>I mean <B>NICE</B> picture."
    assert picture["text_format"] == "html"
    assert picture["html"] == "Nice picture!!!<br><br>I mean <strong>NICE</strong> picture."
    video = comments[tag + "7939092188512366396"]
    assert (video["uri"], video["created"]) == (life, utc(2008, 11, 12, 0, 8))


ATOM_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
    'xmlns:thr="http://purl.org/syndication/thread/1.0" '
    'xmlns:gd="http://schemas.google.com/g/2005">\n'
)
KIND = (
    '<category scheme="http://schemas.google.com/g/2005#kind" '
    'term="http://schemas.google.com/blogger/2008/kind#{}"/>'
)
POST_URL = "https://example.blogspot.com/2008/01/persistence-pays-off.html"


def blogger_comment(
    ident: str,
    text: str,
    published: str,
    *,
    parent: str | None = None,
    removed: bool = False,
    name: str = "Reader",
) -> str:
    related = (
        f'<link rel="related" href="https://www.blogger.com/feeds/1/posts/default/9/'
        f'comments/default/{parent}"/>'
        if parent
        else ""
    )
    gone = '<gd:extendedProperty name="blogger.contentRemoved" value="true"/>' if removed else ""
    return (
        f"<entry><id>tag:blogger.com,1999:blog-1.post-{ident}</id>"
        f"<published>{published}</published>{KIND.format('comment')}"
        f'<content type="html">{text}</content>'
        f"<author><name>{name}</name><email>noreply@blogger.com</email></author>"
        f'<thr:in-reply-to href="{POST_URL}" ref="tag:blogger.com,1999:blog-1.post-9" '
        f'type="text/html"/>{related}{gone}</entry>\n'
    )


def blogger_file(tmp_path: Path, *comments: str) -> Path:
    post = (
        f"<entry><id>tag:blogger.com,1999:blog-1.post-9</id>{KIND.format('post')}"
        f'<title type="text">Persistence pays off</title>'
        f'<link rel="alternate" type="text/html" href="{POST_URL}"/></entry>\n'
    )
    path = tmp_path / "blog.xml"
    path.write_text(ATOM_HEAD + post + "".join(comments) + "</feed>\n", encoding="utf-8")
    return path


def test_blogger_replies_and_removed_comments_keep_their_place(app, tmp_path):
    path = blogger_file(
        tmp_path,
        blogger_comment(
            "101", "Have you had a really difficult sale?", "2008-01-10T09:00:00-05:00"
        ),
        blogger_comment(
            "102",
            "Yes, &lt;I&gt;once&lt;/I&gt;.",
            "2008-01-10T10:00:00-05:00",
            parent="101",
            name="Sam",
        ),
        blogger_comment("103", "", "2008-01-11T10:00:00-05:00", removed=True),
        blogger_comment("104", "Why was that removed?", "2008-01-11T11:00:00-05:00", parent="103"),
        blogger_comment(
            "105", "Reply to a comment not in this file", "2008-01-12T11:00:00Z", parent="999"
        ),
    )
    report = run_import(app, "blogger", path)
    assert report.comments == 5 and report.imported == {"approved": 4, "deleted": 1}
    assert report.reattached == [
        (
            "<entry> tag:blogger.com,1999:blog-1.post-105",
            "its parent blogger:tag:blogger.com,1999:blog-1.post-999 is not in the file",
        )
    ]
    origin = "blogger:tag:blogger.com,1999:blog-1.post-"
    comments = stored(app)
    assert {
        k.removeprefix(origin): (v["parent"] or "").removeprefix(origin)
        for k, v in comments.items()
    } == {"101": "", "102": "101", "103": "", "104": "103", "105": ""}
    assert comments[origin + "101"]["uri"] == "/2008/01/persistence-pays-off.html"
    assert comments[origin + "101"]["title"] == "Persistence pays off"
    assert comments[origin + "101"]["created"] == utc(2008, 1, 10, 14)
    assert comments[origin + "102"]["html"] == "<p>Yes, <em>once</em>.</p>"
    assert comments[origin + "102"]["author"] == "Sam"
    assert comments[origin + "103"]["status"] == Status.deleted


def test_blogger_takeout_feed(app, tmp_path):
    head = (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:blogger="http://schemas.google.com/blogger/2018">'
    )

    def entry(ident, kind, extra):
        return (
            f"<entry><id>tag:blogger.com,1999:blog-7.post-{ident}</id>"
            f"<blogger:type>{kind}</blogger:type>{extra}</entry>"
        )

    comment = (
        '<published>2019-03-01T10:00:00.000Z</published><content type="html">{}'
        "</content><author><name>{}</name></author><blogger:parent>tag:blogger.com,1999:"
        "blog-7.post-5</blogger:parent><blogger:status>{}</blogger:status>{}"
    )
    path = tmp_path / "feed.atom"
    path.write_text(
        head
        + "".join(
            [
                # A comment before its post: placed once the post is known.
                entry("61", "COMMENT", comment.format("Great read", "Ann", "LIVE", "")),
                entry(
                    "5",
                    "POST",
                    "<title>Moving house</title><blogger:filename>/2019/03/moving.html"
                    "</blogger:filename><blogger:status>LIVE</blogger:status>",
                ),
                entry(
                    "62",
                    "COMMENT",
                    comment.format(
                        "Thanks Ann", "Bob", "LIVE", "<blogger:inReplyTo>61</blogger:inReplyTo>"
                    ),
                ),
                entry("63", "COMMENT", comment.format("buy pills", "Spammer", "SPAM", "")),
                entry(
                    "64",
                    "COMMENT",
                    comment.format("", "Ann", "LIVE", "<blogger:trashed>true</blogger:trashed>"),
                ),
            ]
        )
        + "</feed>",
        encoding="utf-8",
    )
    report = run_import(app, "blogger", path)
    assert report.imported == {"approved": 2, "spam": 1, "deleted": 1} and not report.refused
    origin = "blogger:tag:blogger.com,1999:blog-7.post-"
    comments = stored(app)
    assert comments[origin + "62"]["parent"] == origin + "61"
    assert {c["uri"] for c in comments.values()} == {"/2019/03/moving.html"}
    assert comments[origin + "61"]["title"] == "Moving house"
    assert comments[origin + "63"]["status"] == Status.spam


def test_disqus_export(app):
    report = run_import(app, "disqus", corpus("imports", "disqus", "isso-disqus.xml"))
    assert report.threads_created == 2
    assert report.imported == {"approved": 4, "deleted": 1}
    # <post dsq:id="6"> names a thread the file does not have.
    assert report.refused == [
        ('<post dsq:id="6">', 'its thread (dsq:id "1337") is not in the file')
    ]
    comments = stored(app)
    assert set(comments) == {"disqus:4", "disqus:5", "disqus:8", "disqus:9", "disqus:11"}
    first = comments["disqus:4"]
    assert (first["uri"], first["title"], first["author"], first["email"]) == (
        "/",
        "Hello, World!",
        "peter",
        "foo@bar.com",
    )
    assert first["created"] == utc(2013, 10, 10, 19, 20, 29)
    assert first["address"] == "127.0.0.0"  # only the anonymised form is kept
    assert comments["disqus:5"]["parent"] == "disqus:4"
    assert comments["disqus:5"]["html"] == "<p>Hello, World.</p>"
    assert comments["disqus:9"]["status"] == Status.deleted
    assert comments["disqus:11"]["parent"] == "disqus:9"  # a reply to a deleted post stays put
    assert comments["disqus:8"]["uri"] == "/blog/2013/02/12/redacted/index.html"
    assert comments["disqus:8"]["title"] is None


def remark42_file(tmp_path: Path, name: str) -> Path:
    """One of the files saved from another project's tests, with the two slips that make them
    not XML (a character before the declaration, an unquoted attribute) corrected."""
    text = corpus("imports", "disqus", name).read_text(encoding="utf-8")
    path = tmp_path / name
    path.write_text(
        text.lstrip("`").replace("dsq:id=247937687/", 'dsq:id="247937687"/'), encoding="utf-8"
    )
    return path


@pytest.mark.parametrize(
    ("name", "statuses"),
    [
        (
            "remark42-disqus.xml",
            {
                "299619020": Status.approved,
                "299744309": Status.approved,
                "299986072": Status.approved,
                "299986073": Status.spam,
            },
        ),
        (
            "remark42-disqus-deleted-post.xml",
            {
                "299619020": Status.deleted,
                "299744309": Status.approved,
                "299986072": Status.approved,
                "299986073": Status.spam,
            },
        ),
        # A thread Disqus marks deleted keeps its comments, as deleted (spam stays spam).
        (
            "remark42-disqus-deleted-thread.xml",
            {
                "299619020": Status.deleted,
                "299744309": Status.deleted,
                "299986072": Status.approved,
                "299986073": Status.spam,
            },
        ),
    ],
)
def test_disqus_statuses_closed_threads_and_posts_without_ids(app, tmp_path, name, statuses):
    report = run_import(app, "disqus", remark42_file(tmp_path, name))
    assert report.refused == [
        ('<post dsq:id="x299986073">', "<createdAt>: not a date: '2011-x09-30T22:48:43Z'")
    ]
    comments = stored(app)
    assert {
        k.removeprefix("disqus:"): v["status"]
        for k, v in comments.items()
        if k.startswith("disqus:")
    } == statuses
    no_id = [c for k, c in comments.items() if k.startswith("sha256:")]
    assert len(no_id) == 1 and no_id[0]["author"] == "Blah Noname"
    podcast = comments["disqus:299619020"]
    assert (podcast["uri"], podcast["closed"]) == ("/p/2011/03/05/podcast-229/", True)
    assert podcast["title"] == "Радио-Т: Радио-Т 229"
    assert podcast["email"] is None and podcast["address"] == "178.178.178.0"
    assert podcast["html"] == (
        "<p>The quick brown fox jumps over the lazy dog.</p><p><a href="
        '"https://https://radio-t.com" rel="nofollow ugc noopener" '
        'title="radio-t">some link</a></p>'
    )
    assert comments["disqus:299986072"]["uri"] == "/2011/03/229_8880.html"
    assert comments["disqus:299986072"]["closed"] is False


def test_wordpress_export_with_nesting(app):
    report = run_import(app, "wordpress", corpus("imports", "wordpress", "isso-wordpress.xml"))
    assert (report.threads_created, report.comments, report.refused) == (2, 8, [])
    comments = stored(app)
    post = "wordpress:http://example.tld/2014/test/#"
    parents = {
        k.removeprefix(post): (v["parent"] or "").removeprefix(post)
        for k, v in comments.items()
        if k.startswith(post)
    }
    assert parents == {"2": "", "6": "", "7": "6", "8": "7", "9": "7", "10": "", "11": ""}
    first = comments[post + "2"]
    assert (first["uri"], first["title"], first["author"], first["email"], first["website"]) == (
        "/2014/test/",
        "Hello, World…",
        "Ohai",
        "test@example.org",
        "http://example.tld/",
    )
    assert first["address"] == "82.119.20.0"  # "::ffff:82.119.20.0" is an IPv4 address
    assert first["created"] == utc(2014, 1, 14, 17, 32, 12)
    # comment_date_gmt, not the blog's local comment_date, gives the time.
    assert comments[post + "10"]["created"] == utc(2022, 6, 6, 2, 13, 14)
    assert comments[post + "10"]["html"] == (
        "<p>When you have a comment with multiple lines:<br>WordPress exports it like this.</p>"
    )
    assert comments[post + "7"]["created"] == utc(2014, 4, 29, 15, 21, 35)  # only the GMT date
    other = comments["wordpress:http://example.tld/?p=4#11"]
    assert other["uri"] == "/?p=4" and other["created"] == utc(2014, 4, 29, 15, 21, 57)


def test_wordpress_statuses_and_pingbacks(app):
    report = run_import(
        app, "wordpress", corpus("imports", "wordpress", "gconverters-wordpress-sample2.wxr")
    )
    assert (report.threads_created, report.comments, report.refused) == (2, 3, [])
    comments = stored(app)
    life = comments[
        "wordpress:http://jlueck.wordpress.com/2008/04/15/this-about-sums-up-my-life/#460"
    ]
    assert (life["uri"], life["author"], life["email"], life["address"]) == (
        "/2008/04/15/this-about-sums-up-my-life/",
        "JJ",
        "noreply@blogger.com",
        None,
    )
    assert life["website"] == (
        "http://neatpoop.chi.corp.google.com:8080/profile/03729555694632144017"
    )
    assert life["created"] == utc(2008, 11, 11, 16, 10)


def test_wordpress_approval_flags(app, tmp_path):
    def comment(ident, approved, kind=""):
        return (
            f"<wp:comment><wp:comment_id>{ident}</wp:comment_id><wp:comment_author>A"
            f"</wp:comment_author><wp:comment_date_gmt>2020-01-0{ident} 10:00:00"
            f"</wp:comment_date_gmt><wp:comment_content>Text {ident}</wp:comment_content>"
            f"<wp:comment_approved>{approved}</wp:comment_approved><wp:comment_type>{kind}"
            f"</wp:comment_type><wp:comment_parent>0</wp:comment_parent></wp:comment>"
        )

    path = tmp_path / "wp.xml"
    path.write_text(
        '<?xml version="1.0"?><rss xmlns:wp="http://wordpress.org/export/1.2/">'
        "<channel><item><title>T</title><link>https://wp.example/t/</link>"
        + comment(1, "1")
        + comment(2, "0")
        + comment(3, "spam")
        + comment(4, "trash")
        + comment(5, "1", "pingback")
        + "</item></channel></rss>",
        encoding="utf-8",
    )
    report = run_import(app, "wordpress", path)
    assert report.imported == {"approved": 1, "pending": 1, "spam": 1, "deleted": 1}
    assert report.refused == [("<wp:comment> 5", "a pingback, not a comment")]


def test_isso_generic_json(app):
    report = run_import(app, "isso", corpus("imports", "isso", "isso-generic.json"))
    assert (report.threads_created, report.comments, report.refused) == (2, 2, [])
    by_uri = {c["uri"]: c for c in stored(app).values()}
    poker = by_uri["/posts/0001/"]
    assert (poker["author"], poker["website"], poker["email"], poker["address"]) == (
        "texas holdem",
        "http://www.tigerspice.com",
        None,
        None,
    )  # 0.0.0.0 means unknown
    assert poker["created"] == utc(2005, 2, 24, 4, 3, 37)
    assert poker["text_format"] == "markdown"
    assert poker["html"] == "<p>Great men can't be ruled. by free online poker</p>"
    assert by_uri["/posts/0007/"]["email"] == "105421439@87750645.com"


def isso_database(path: Path) -> Path:
    """An Isso database in its own schema (version 3), as Isso writes it."""
    db_ = sqlite3.connect(path)
    db_.executescript("""
        CREATE TABLE threads (id INTEGER PRIMARY KEY, uri VARCHAR(256) UNIQUE,
                              title VARCHAR(256));
        CREATE TABLE comments (tid REFERENCES threads(id), id INTEGER PRIMARY KEY,
            parent INTEGER, created FLOAT NOT NULL, modified FLOAT, mode INTEGER,
            remote_addr VARCHAR, text VARCHAR NOT NULL, author VARCHAR, email VARCHAR,
            website VARCHAR, likes INTEGER DEFAULT 0, dislikes INTEGER DEFAULT 0,
            voters BLOB NOT NULL, notification INTEGER DEFAULT 0);
        INSERT INTO threads VALUES (1, '/posts/hello/', 'Hello');
        INSERT INTO comments VALUES (1, 1, NULL, 1600000000.5, NULL, 1, '203.0.113.0',
            'First *markdown*', 'Ann', 'ann@example.org', 'https://ann.example', 3, 1, x'00', 0);
        INSERT INTO comments VALUES (1, 2, 1, 1600000100.0, 1600000200.0, 2, '2001:db8::',
            'A reply', 'Bob', NULL, NULL, 0, 0, x'00', 1);
        INSERT INTO comments VALUES (1, 3, NULL, 1600000300.0, NULL, 4, NULL, '', NULL, NULL,
            NULL, 0, 0, x'00', 0);
        INSERT INTO comments VALUES (1, 4, 3, 1600000400.0, NULL, 1, NULL, 'Under a deleted one',
            'Cy', NULL, NULL, 0, 0, x'00', 0);
    """)
    db_.commit()
    db_.close()
    return path


def test_isso_database(app, tmp_path):
    report = run_import(app, "isso", isso_database(tmp_path / "comments.db"))
    assert report.imported == {"approved": 2, "pending": 1, "deleted": 1} and not report.refused
    comments = stored(app)
    first = comments["isso:/posts/hello/#1"]
    assert (first["uri"], first["title"], first["author"], first["email"], first["website"]) == (
        "/posts/hello/",
        "Hello",
        "Ann",
        "ann@example.org",
        "https://ann.example",
    )
    assert first["html"] == "<p>First <em>markdown</em></p>" and first["score"] == 2
    assert first["created"] == datetime.fromtimestamp(1600000000.5, UTC)
    reply = comments["isso:/posts/hello/#2"]
    assert (reply["parent"], reply["status"]) == ("isso:/posts/hello/#1", Status.pending)
    assert reply["edited"] == datetime.fromtimestamp(1600000200, UTC)
    assert comments["isso:/posts/hello/#4"]["parent"] == "isso:/posts/hello/#3"


def test_nothing_is_mailed_on_import(app):
    change_settings(app, MODERATOR_EMAILS=["mod@example.org"])
    run_import(
        app, "wordpress", corpus("imports", "wordpress", "isso-wordpress.xml"), status="pending"
    )
    with app.app_context():
        from commentsvc.models import OutboxMail

        assert db.session.execute(select(OutboxMail)).first() is None
        statuses = set(db.session.execute(select(Comment.status)).scalars())
    assert statuses == {Status.pending}  # --status pending: every public comment for review
