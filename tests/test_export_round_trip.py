"""`commentsvc export FILE` then `commentsvc import commentsvc FILE` into an empty database
gives the same threads and comments, field for field."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from commentsvc import create_app
from commentsvc.extensions import db
from commentsvc.importers.native import export_source
from commentsvc.models import (
    Comment,
    Moderator,
    Role,
    Status,
    Subscription,
    Thread,
    Vote,
    utcnow,
)
from tests.conftest import SECRET, corpus
from tests.support.databases import upgrade_in_process
from tests.test_import_formats import isso_database, run_import, stored


@pytest.fixture
def empty_app(scratch_database, settings):
    """A second service on a new, empty database of the same backend (and another key)."""
    target = upgrade_in_process(scratch_database("commentsvc_copy"))
    app = create_app({**settings, "DATABASE_URL": target, "SECRET_KEY": SECRET + "-copy"})
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def snapshot(app, source: str | None = None) -> list[tuple]:
    """Every comment with its thread, its parent named by origin, sorted: what must survive."""
    with app.app_context():
        rows = db.session.execute(select(Comment, Thread).join(Thread)).all()
        moderators = dict(db.session.execute(select(Moderator.id, Moderator.email)).all())
        subscriptions = {
            s.comment_id: (s.email, s.confirmed, s.unsubscribed, s.created, s.confirm_mailed)
            for s in db.session.execute(select(Subscription)).scalars()
        }
        votes: dict[int, list[tuple]] = {}
        for v in db.session.execute(select(Vote)).scalars():
            votes.setdefault(v.comment_id, []).append((v.voter, v.address, v.value, v.created))

        def key(comment):
            return comment.origin or f"commentsvc:{source}:{comment.id}"

        by_id = {c.id: c for c, _ in rows}
        return sorted(
            (
                key(c),
                t.site,
                t.uri,
                t.title,
                t.closed,
                t.created,
                c.status.value,
                key(by_id[c.parent_id]) if c.parent_id else None,
                c.created,
                c.edited,
                c.author,
                c.email,
                c.website,
                c.text,
                c.text_format,
                c.html,
                c.held_reason,
                c.score,
                c.remote_addr,
                moderators.get(c.moderator_id),
                c.lang,
                c.notify,
                subscriptions.get(c.id),
                sorted(votes.get(c.id, [])),
            )
            for c, t in rows
        )


def fill(app, tmp_path) -> None:
    """Comments of every kind: imported from each format, posted here, held, spam, deleted,
    edited, a moderator's reply, a closed thread."""
    for fmt, path in [
        ("blogger", corpus("imports", "blogger", "gconverters-blogger-sample2.xml")),
        ("disqus", corpus("imports", "disqus", "isso-disqus.xml")),
        ("wordpress", corpus("imports", "wordpress", "isso-wordpress.xml")),
        ("isso", isso_database(tmp_path / "isso.db")),
    ]:
        run_import(app, fmt, path)
    with app.app_context():
        admin = Moderator(name="jo", email="jo@example.org", password_hash="x", role=Role.admin)
        thread = Thread(site="default", uri="/native/", title="Posted here", closed=True)
        db.session.add_all([admin, thread])
        db.session.flush()
        now = utcnow().replace(microsecond=123456)
        root = Comment(
            thread=thread,
            author="Ann",
            email="ann@example.org",
            text="**Hi**",
            html="<p><strong>Hi</strong></p>",
            status=Status.approved,
            created=now,
            edited=now + timedelta(minutes=3),
            remote_addr="203.0.113.0",
            score=1,
            lang="pt-BR",
            notify=True,
        )
        db.session.add(root)
        db.session.flush()
        db.session.add_all(
            [
                Subscription(
                    comment_id=root.id,
                    email="ann@example.org",
                    created=now,
                    confirm_mailed=now,
                    confirmed=now + timedelta(minutes=5),
                ),
                *(
                    Vote(
                        comment_id=root.id,
                        voter=f"reader{n}",
                        address=f"network{n % 2}",
                        value=value,
                        created=now + timedelta(minutes=n),
                    )
                    for n, value in enumerate([1, 1, -1])
                ),
            ]
        )
        db.session.add_all(
            [
                Comment(
                    thread=thread,
                    parent_id=root.id,
                    author="Jo",
                    email="jo@example.org",
                    text="Thanks",
                    html="<p>Thanks</p>",
                    status=Status.approved,
                    created=now + timedelta(hours=1),
                    moderator_id=admin.id,
                    lang="de",
                    notify=True,
                ),
                Comment(
                    thread=thread,
                    parent_id=root.id,
                    author="Bot",
                    text="buy",
                    html="<p>buy</p>",
                    status=Status.spam,
                    held_reason="honeypot filled",
                    created=now + timedelta(hours=2),
                ),
                Comment(
                    thread=thread,
                    text="held",
                    html="<p>held</p>",
                    status=Status.pending,
                    held_reason="first comment",
                    created=now + timedelta(hours=3),
                ),
            ]
        )
        db.session.flush()
        reply = db.session.execute(select(Comment).where(Comment.author == "Jo")).scalar_one()
        db.session.add(  # confirmed, then ended
            Subscription(
                comment_id=reply.id,
                email="jo@example.org",
                created=now + timedelta(hours=1),
                confirm_mailed=now + timedelta(hours=1),
                confirmed=now + timedelta(hours=2),
                unsubscribed=now + timedelta(days=2),
            )
        )
        db.session.commit()


def test_export_then_import_into_an_empty_database_loses_nothing(app, empty_app, tmp_path):
    fill(app, tmp_path)
    with empty_app.app_context():
        db.session.add(Moderator(name="jo", email="jo@example.org", password_hash="x"))
        db.session.commit()
    export = tmp_path / "export.json"
    result = app.test_cli_runner().invoke(args=["export", str(export)])
    assert result.exit_code == 0, result.output
    data = json.loads(export.read_text(encoding="utf-8"))
    assert (data["format"], data["version"], data["site"]) == ("commentsvc-export", 1, "default")
    assert SECRET not in export.read_text(encoding="utf-8")
    source = export_source(app.config["SECRET_KEY"])
    original = snapshot(app, source)
    assert len(original) == 24

    result = empty_app.test_cli_runner().invoke(args=["import", "commentsvc", str(export)])
    assert result.exit_code == 0, result.output
    assert "Comments: 24 imported" in result.output and "Refused: 0" in result.output
    assert snapshot(empty_app) == original

    # And back: the copy's export imported into the first changes nothing there.
    again = tmp_path / "again.json"
    assert empty_app.test_cli_runner().invoke(args=["export", str(again)]).exit_code == 0
    result = app.test_cli_runner().invoke(args=["import", "commentsvc", str(again)])
    assert "Comments: 0 imported, 24 skipped as already imported" in result.output
    assert snapshot(app, source) == original


def test_the_privacy_export_by_email_stays(app, tmp_path):
    fill(app, tmp_path)
    result = app.test_cli_runner().invoke(args=["export", "--email", "ann@example.org"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert sorted(c["text"] for c in data["comments"]) == ["**Hi**", "First *markdown*"]


def test_export_without_a_file_says_what_is_missing(app):
    result = app.test_cli_runner().invoke(args=["export"])
    assert result.exit_code == 2 and "name the FILE" in result.output


def test_our_export_is_read_in_pieces_of_any_size(app, tmp_path, monkeypatch):
    # Values (numbers, strings, whole threads) cut at every place by the reader's chunks.
    from commentsvc.importers import jsonstream

    run_import(app, "wordpress", corpus("imports", "wordpress", "isso-wordpress.xml"))
    export = tmp_path / "export.json"
    assert app.test_cli_runner().invoke(args=["export", str(export)]).exit_code == 0
    monkeypatch.setattr(jsonstream, "CHUNK", 7)
    report = run_import(app, "commentsvc", export, site="copy")
    assert report.comments == 8 and not report.refused
    assert stored(app, site="copy") == stored(app)


def test_an_export_that_cannot_be_written_is_one_line(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["export", str(tmp_path / "missing" / "x.json")])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"Error: cannot write {tmp_path / 'missing' / 'x.json'}: "
        "No such file or directory; nothing was written"
    )


def test_an_export_from_before_the_language_subscription_and_votes_still_imports(app, tmp_path):
    fill(app, tmp_path)
    export = tmp_path / "export.json"
    assert app.test_cli_runner().invoke(args=["export", str(export)]).exit_code == 0
    data = json.loads(export.read_text(encoding="utf-8"))
    for thread in data["threads"]:
        for comment in thread["comments"]:
            for later in ("lang", "notify", "subscription", "votes"):
                del comment[later]
    older = tmp_path / "older.json"
    older.write_text(json.dumps(data), encoding="utf-8")
    report = run_import(app, "commentsvc", older, site="copy")
    assert report.comments == 24 and not report.refused
    with app.app_context():
        copied = db.session.execute(
            select(Comment).join(Thread).where(Thread.site == "copy")
        ).scalars()
        assert {(c.lang, c.notify) for c in copied} == {(None, False)}
