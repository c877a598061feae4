"""Mail nobody can turn against others: opt-in mails only for approved comments, at most one a
day per address and with no poster's text in them; moderator alerts batched into a digest.

Every mail is taken from a real SMTP server (aiosmtpd on 127.0.0.1, see tests/test_mail.py).
"""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from commentsvc.extensions import db
from commentsvc.models import Comment, Subscription, utcnow

from .conftest import unique_uri
from .test_mail import MODERATOR, approve, html_of, send, send_from_two_threads, text_of

# A real SMTP server (the `smtp` fixture) and the settings that send to it, for every test here.
pytestmark = pytest.mark.usefixtures("mail_settings")

VICTIM = "victim@example.org"
READER = "reader@example.org"
ATTACKER_TITLE = "URGENT: claim your prize at prize-desk.example"
ATTACKER_TEXT = "Your account is locked, call +1 555 0100 to unlock it"


# --- helpers ---------------------------------------------------------------------------------


def confirmations(smtp, address: str) -> list:
    return [m for m in smtp.to(address) if m["Subject"].startswith("Please confirm")]


def whole(message) -> str:
    """Everything a reader sees of a mail: subject, plain text and HTML."""
    return "\n".join((message["Subject"], text_of(message), html_of(message)))


def path_of(url: str) -> str:
    return urlsplit(url).path


def confirm_link(message) -> str:
    match = re.search(r"http://comments\.test/mail/confirm/\S+", text_of(message))
    assert match, "no confirmation link in the mail"
    return path_of(match.group())


def press(client, path: str):
    """Open a mailed link's page and press its button."""
    page = client.get(path)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    return client.post(path, data={"csrf_token": token.group(1)})


def singles(smtp) -> list:
    return [m for m in smtp.to(MODERATOR) if m["Subject"].startswith("Comment awaiting review")]


def digests(smtp) -> list:
    return [m for m in smtp.to(MODERATOR) if "held for review" in m["Subject"]]


def digest_count(message) -> int:
    match = re.search(r"^(\d+) comments? (?:was|were) held", text_of(message), re.MULTILINE)
    assert match, text_of(message)
    return int(match.group(1))


# --- the reply-notification opt-in ----------------------------------------------------------


def test_held_comment_with_notify_mails_its_address_only_once_approved(app, smtp, make_comment):
    held = make_comment(unique_uri(), ATTACKER_TEXT, email=VICTIM, notify=True)
    assert held["status"] == "pending"
    send(app)
    assert smtp.to(VICTIM) == []  # the moderators heard of it; the address did not
    assert len(singles(smtp)) == 1

    approve(app, held["id"])
    send(app)
    assert len(confirmations(smtp, VICTIM)) == 1
    approve(app, held["id"])  # approving again changes nothing
    send(app, now=utcnow() + timedelta(days=2))
    assert len(smtp.to(VICTIM)) == 1


@pytest.mark.parametrize("mail_overrides", [{"MODERATION": "none"}])
def test_comment_approved_when_posted_gets_its_opt_in_at_once(app, smtp, make_comment):
    comment = make_comment(unique_uri(), "Approved at once", email=READER, notify=True)
    assert comment["status"] == "approved"
    send(app)
    (mail,) = smtp.to(READER)
    assert mail["Subject"].startswith("Please confirm")
    assert mail[
        "List-Unsubscribe"
    ] and "Unsubscribe: http://comments.test/mail/unsubscribe/" in text_of(mail)


@pytest.mark.parametrize("mail_overrides", [{"MODERATION": "first-time"}])
def test_known_author_under_first_time_gets_the_opt_in_at_once(app, smtp, make_comment):
    first = make_comment(unique_uri(), "My first words", email=READER)
    approve(app, first["id"])
    second = make_comment(unique_uri(), "Known now", email=READER, notify=True)
    assert second["status"] == "approved"
    send(app)
    assert len(confirmations(smtp, READER)) == 1


@pytest.mark.parametrize("mail_overrides", [{"MODERATION": "none"}])
def test_three_subscriptions_in_a_day_bring_one_opt_in_mail(app, client, smtp, make_comment):
    start = utcnow()
    for n, address in enumerate((VICTIM, VICTIM.upper(), VICTIM)):
        make_comment(unique_uri(), f"Subscription {n}", email=address, notify=True)
        send(app, now=start + timedelta(hours=n))
    send(app, now=start + timedelta(hours=23))
    assert len(smtp.to(VICTIM)) == 1

    # The first mail's link confirms what it offered; the next day's mail offers the others.
    (first,) = confirmations(smtp, VICTIM)
    assert press(client, confirm_link(first)).status_code == 200
    send(app, now=start + timedelta(days=1, minutes=5))
    assert len(confirmations(smtp, VICTIM)) == 2
    second = confirmations(smtp, VICTIM)[1]
    assert (
        len(re.findall(r"^- http://comments\.test/comments\?uri=", text_of(second), re.MULTILINE))
        == 2
    )
    assert press(client, confirm_link(second)).status_code == 200
    with app.app_context():
        confirmed = db.session.execute(sa.select(Subscription.confirmed)).scalars().all()
        db.session.remove()
    assert len(confirmed) == 3 and all(confirmed)
    send(app, now=start + timedelta(days=5))
    assert len(smtp.to(VICTIM)) == 2


@pytest.mark.parametrize("mail_overrides", [{"MODERATION": "none"}])
def test_two_approvals_at_once_still_bring_one_opt_in_mail(app, smtp, make_comment):
    start = threading.Barrier(2)
    errors = []

    def poster(n: int):
        try:
            start.wait(5)
            make_comment(unique_uri(), f"At once {n}", email=VICTIM, notify=True)
        except Exception as exc:  # reported below; a thread must not die silently
            errors.append(exc)

    threads = [threading.Thread(target=poster, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    send(app)
    send(app, now=utcnow() + timedelta(hours=12))
    assert len(smtp.to(VICTIM)) == 1


@pytest.mark.parametrize("mail_overrides", [{"MODERATION": "none"}])
def test_unsubscribing_from_an_opt_in_mail_declines_all_it_offered(app, client, smtp, make_comment):
    start = utcnow()
    make_comment(unique_uri(), "One", email=VICTIM, notify=True)
    make_comment(unique_uri(), "Two", email=VICTIM, notify=True)
    make_comment(unique_uri(), "Three", email=VICTIM, notify=True)
    send(app, now=start + timedelta(days=1, minutes=1))
    first, second = smtp.to(VICTIM)  # "One" at once; "Two" and "Three" the next day
    unsubscribe = re.search(r"^Unsubscribe: (\S+)$", text_of(second), re.MULTILINE).group(1)
    assert client.post(path_of(unsubscribe)).status_code == 200
    with app.app_context():
        ended = db.session.execute(
            sa.select(Comment.text, Subscription.unsubscribed.is_not(None))
            .join(Comment, Comment.id == Subscription.comment_id)
            .order_by(Comment.id)
        ).all()
        db.session.remove()
    assert [tuple(row) for row in ended] == [("One", False), ("Two", True), ("Three", True)]
    assert first["List-Unsubscribe"] != second["List-Unsubscribe"]


@pytest.mark.parametrize("mail_overrides", [{"MODERATION": "first-time"}])
def test_poster_chosen_title_and_text_never_reach_a_reader(app, client, smtp, make_comment):
    uri = unique_uri()
    # A stranger opens the thread with a title of their own; their comment is held.
    opener = make_comment(uri, ATTACKER_TEXT, email=VICTIM, notify=True, title=ATTACKER_TITLE)
    assert opener["status"] == "pending"
    # A known reader comments on that thread, approved at once, and asks for replies.
    approve(app, make_comment(unique_uri(), "Earlier words", email=READER)["id"])
    mine = make_comment(uri, "Known reader here", email=READER, notify=True)
    assert mine["status"] == "approved"
    send(app)
    assert smtp.to(VICTIM) == []
    (opt_in,) = smtp.to(READER)
    assert press(client, confirm_link(opt_in)).status_code == 200

    approve(app, opener["id"])  # approved: its text is public now, its title still unchecked
    approve(app, make_comment(uri, "A reply", email=VICTIM, parent_id=mine["id"])["id"])
    send(app)
    assert len(smtp.to(READER)) == 2 and len(smtp.to(VICTIM)) == 1
    for mail in smtp.to(READER) + smtp.to(VICTIM):
        assert ATTACKER_TITLE not in whole(mail) and "prize" not in whole(mail)
        assert f"comments?uri={uri}" in text_of(mail)  # the thread is named by its address
    (victim_opt_in,) = smtp.to(VICTIM)
    assert ATTACKER_TEXT not in whole(victim_opt_in) and "locked" not in whole(victim_opt_in)


# --- moderator alerts and the digest --------------------------------------------------------


def test_a_flood_of_held_comments_is_a_few_alerts_and_an_hourly_digest(app, smtp, make_comment):
    for n in range(20):
        make_comment(unique_uri(), f"{ATTACKER_TEXT} ({n})", author=f"Flood {n}")
    start = utcnow()
    send(app, now=start)
    assert len(singles(smtp)) == 5
    (digest,) = digests(smtp)
    assert digest_count(digest) == 15
    assert "http://comments.test/admin/" in text_of(digest)
    assert "http://comments.test/admin/" in html_of(digest)
    assert ATTACKER_TEXT not in whole(digest) and "Flood" not in whole(digest)

    for n in range(3):  # the hour's five are spent: these wait for the next digest
        make_comment(unique_uri(), f"Later {n}")
    send(app, now=start + timedelta(minutes=30))
    assert len(singles(smtp)) == 5 and len(digests(smtp)) == 1
    send(app, now=start + timedelta(minutes=61))
    assert len(singles(smtp)) == 5 and len(digests(smtp)) == 2
    assert digest_count(digests(smtp)[1]) == 3
    send(app, now=start + timedelta(hours=5))
    assert len(smtp.to(MODERATOR)) == 7


@pytest.mark.parametrize("mail_overrides", [{"ALERTS_PER_HOUR": 2}])
def test_two_senders_at_once_send_one_digest(app, smtp, make_comment):
    for n in range(6):
        make_comment(unique_uri(), f"Held {n}")
    assert send_from_two_threads(app) == []
    assert len(singles(smtp)) == 2
    (digest,) = digests(smtp)
    assert digest_count(digest) == 4
