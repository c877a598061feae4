"""Erasing a commenter leaves no copy of their address or words in any table, and mail that
has been sent (or given up) is deleted after the retention period."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from commentsvc.extensions import db
from commentsvc.models import (
    AuditEntry,
    Ban,
    BanKind,
    Comment,
    MailStatus,
    OutboxMail,
    RuleAction,
    Thread,
    utcnow,
)
from commentsvc.moderation import record
from commentsvc.rules import add_ban

from .conftest import unique_uri
from .settings_helpers import change_settings
from .test_mail import MODERATOR, approve, outbox, send, text_of

# A real SMTP server (the `smtp` fixture) and the settings that send to it, for every test here.
pytestmark = pytest.mark.usefixtures("mail_settings")

ERIN = "erin.erased@example.net"
BOB = "bob.stays@example.net"
NAME = "Erin Quillfeather"
SITE = "https://erin-quillfeather.example/"
WORDS = ("marmalade zeppelin quartz", "obsidian kumquat lullaby", "tangerine gazebo whistle")


def confirm_all(app, client, smtp, address: str) -> None:
    send(app)
    for mail in smtp.to(address):
        match = re.search(r"http://comments\.test(/mail/confirm/\S+)", text_of(mail))
        if match:
            page = client.get(match.group(1))
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
            assert (
                client.post(match.group(1), data={"csrf_token": token.group(1)}).status_code == 200
            )


def hits(app, needle: str) -> list[str]:
    """Every table.column of every table whose text holds the needle, in any case."""
    found = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, sa.String):  # Text and Enum are Strings too
                    continue
                pattern = f"%{needle.lower()}%"
                count = db.session.execute(
                    sa.select(sa.func.count())
                    .select_from(table)
                    .where(sa.func.lower(column).like(pattern))
                ).scalar_one()
                if count:
                    found.append(f"{table.name}.{column.name}")
        db.session.remove()
    return found


@pytest.mark.parametrize("mail_overrides", [{"MODERATION": "first-time"}])
def test_erase_leaves_no_copy_of_the_address_or_the_words(app, client, smtp, post, make_comment):
    uri = unique_uri()
    # Held, so alerted to the moderators with the whole text and the address; then approved.
    first = make_comment(
        uri, f"I say {WORDS[0]}.", email=ERIN, author=NAME, website=SITE, notify=True
    )
    send(app)
    approve(app, first["id"])
    confirm_all(app, client, smtp, ERIN)
    # Bob answers (held, alerted, approved): Erin is told, with her own words quoted.
    bob = make_comment(uri, "Bob answers", email=BOB, parent_id=first["id"], notify=True)
    approve(app, bob["id"])
    confirm_all(app, client, smtp, BOB)
    # Erin, known now, answers Bob at once: Bob is told, with her words; she subscribes again.
    make_comment(
        uri, f"Erin again: {WORDS[1]}", email=ERIN, author=NAME, parent_id=bob["id"], notify=True
    )
    send(app)
    # A third comment, still held: its alert waits in the outbox, unsent.
    change_settings(app, MODERATION="all", SMTP_PORT=1)  # nothing listens there: mail stays queued
    make_comment(unique_uri(), f"Also {WORDS[2]}", email=ERIN.upper(), author=NAME)
    make_comment(uri, "Bob again", email=BOB)  # someone else's mail stays
    send(app)
    with app.app_context():  # what a moderator may have written down about her
        record(db.session, "ann", "edit", f"comment {first['id']}", f"{WORDS[0]} ({ERIN})")
        record(db.session, "ann", "ban", "address ban", f"hold: complaint by {ERIN.upper()}")
        add_ban(db.session, BanKind.email, ERIN, RuleAction.refuse, f"see {ERIN}", "ann")
        db.session.commit()
        version = db.session.scalar(sa.select(Thread.version).where(Thread.uri == uri))

    assert (
        client.get("/api/threads", query_string={"uri": uri}).get_data(as_text=True).count(WORDS[0])
        == 1
    )  # the thread is in this process's page cache now
    assert hits(app, ERIN) and hits(app, WORDS[0]) and hits(app, WORDS[1])
    sent_before = len(smtp.received)

    result = app.test_cli_runner().invoke(args=["erase", "--email", ERIN, "--yes"])
    assert result.exit_code == 0, result.output
    assert "3 comment(s) erased" in result.output

    for needle in (ERIN, NAME, SITE, *WORDS):
        assert hits(app, needle) == [], needle
    page = client.get("/api/threads", query_string={"uri": uri}).get_data(as_text=True)
    assert WORDS[0] not in page and WORDS[1] not in page and "Bob answers" in page
    with app.app_context():
        assert db.session.scalar(sa.select(Thread.version).where(Thread.uri == uri)) > version
        assert db.session.get(Comment, bob["id"]).email == BOB
        kept = db.session.execute(
            sa.select(AuditEntry.action, AuditEntry.target).where(AuditEntry.actor == "ann")
        ).all()
        assert sorted(kept) == [
            ("ban", "address ban"),
            ("ban", "email ban"),
            ("edit", f"comment {first['id']}"),
        ]
        db.session.remove()
    assert any(m.recipient == MODERATOR and "Bob again" in m.text_body for m in outbox(app))
    change_settings(app, SMTP_PORT=smtp.port)
    send(app, now=utcnow() + timedelta(days=1))
    assert all(ERIN not in r.recipients for r in smtp.received[sent_before:])
    # The e-mail ban outlives the erasure without the address: she is still refused.
    assert "ban on this address is kept" in result.output
    refused = post(unique_uri(), "Back again", email=ERIN.upper())
    assert refused.status_code == 403, refused.get_json()


def age(app, mail_id: int, days: int, status: MailStatus) -> None:
    with app.app_context():
        db.session.execute(
            sa.update(OutboxMail)
            .where(OutboxMail.id == mail_id)
            .values(created=utcnow() - timedelta(days=days), status=status)
        )
        db.session.commit()


def three_old_mails_and_a_new_one(app, make_comment) -> list[int]:
    for n in range(4):
        make_comment(unique_uri(), f"Held {n}")
    ids = [m.id for m in outbox(app)]
    age(app, ids[0], 31, MailStatus.sent)
    age(app, ids[1], 31, MailStatus.failed)
    age(app, ids[2], 31, MailStatus.queued)  # still being tried: never pruned
    age(app, ids[3], 29, MailStatus.sent)
    return ids


def test_prune_command_deletes_sent_and_given_up_mail_past_retention(app, make_comment):
    ids = three_old_mails_and_a_new_one(app, make_comment)
    result = app.test_cli_runner().invoke(args=["prune-outbox"])
    assert result.exit_code == 0, result.output
    assert "2 mail(s) deleted" in result.output
    assert [m.id for m in outbox(app)] == ids[2:]


@pytest.mark.parametrize("mail_overrides", [{"OUTBOX_RETENTION_DAYS": 0}])
def test_retention_zero_keeps_mail(app, make_comment):
    ids = three_old_mails_and_a_new_one(app, make_comment)
    assert app.test_cli_runner().invoke(args=["prune-outbox"]).exit_code == 0
    assert [m.id for m in outbox(app)] == ids


def test_the_sender_prunes_now_and_then(app, mail_server, make_comment, monkeypatch):
    ids = three_old_mails_and_a_new_one(app, make_comment)
    from commentsvc.chores import Every
    from commentsvc.mail import upkeep

    monkeypatch.setattr(upkeep, "_prunes", Every())
    send(app)  # the mail server is down: nothing is sent, old mail is pruned
    assert [m.id for m in outbox(app)] == ids[2:]
    with app.app_context():  # another old one appears, but an hour has not passed
        db.session.execute(
            sa.update(OutboxMail)
            .where(OutboxMail.id == ids[3])
            .values(created=utcnow() - timedelta(days=40))
        )
        db.session.commit()
    send(app)
    assert [m.id for m in outbox(app)] == ids[2:]


def test_a_mail_erased_while_it_is_being_sent_is_no_error(app, smtp, make_comment, monkeypatch):
    from commentsvc.mail.sender import SMTPTransport

    make_comment(unique_uri(), "Erased in flight")
    real_send = SMTPTransport.send

    def send_and_erase(self, mail, message):
        real_send(self, mail, message)
        with db.engine.begin() as conn:  # `commentsvc erase` in another process, meanwhile
            conn.execute(sa.delete(OutboxMail))

    monkeypatch.setattr(SMTPTransport, "send", send_and_erase)
    report = send(app)
    assert (report.sent, report.retrying, report.failed) == (0, 0, 0)
    assert len(smtp.received) == 1 and outbox(app) == []


def test_an_address_banned_again_after_an_erasure_keeps_one_ban(app, post):
    def ban_and_erase(action):
        with app.app_context():
            add_ban(db.session, BanKind.email, ERIN, action, None, "ann")
            db.session.commit()
            db.session.remove()
        result = app.test_cli_runner().invoke(args=["erase", "--email", ERIN, "--yes"])
        assert result.exit_code == 0, result.output

    ban_and_erase(RuleAction.hold)
    ban_and_erase(RuleAction.refuse)
    assert hits(app, ERIN) == []
    with app.app_context():
        bans = db.session.execute(sa.select(Ban.value, Ban.action)).all()
        db.session.remove()
    assert [action for _, action in bans] == [RuleAction.refuse]
    assert bans[0].value.startswith("erased:")
    assert post(unique_uri(), "Back again", email=ERIN).status_code == 403
