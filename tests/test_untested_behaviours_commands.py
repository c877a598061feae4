"""Operators' chores: `commentsvc rerender`, `commentsvc send-mail` as a long-running worker,
the hourly drop of old addresses after a post, and COMMENTSVC_ADDRESS_RETENTION_DAYS=0."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from commentsvc import privacy
from commentsvc.api import comments as comments_api
from commentsvc.chores import HOURLY, Every
from commentsvc.config import settings_of
from commentsvc.extensions import db
from commentsvc.mail import worker
from commentsvc.models import Comment, MailStatus, OutboxMail, utcnow
from tests.support.env import BIN, REPO, service_env

from .conftest import unique_uri
from .settings_helpers import change_settings

MODERATOR = "mod@example.com"


def comment_row(app, comment_id: int) -> Comment:
    with app.app_context():
        comment = db.session.get(Comment, comment_id)
        db.session.expunge_all()
    return comment


def age(app, comment_id: int, days: int) -> None:
    """Move a comment's creation `days` into the past."""
    with app.app_context():
        db.session.execute(
            sa.update(Comment)
            .where(Comment.id == comment_id)
            .values(created=utcnow() - timedelta(days=days))
        )
        db.session.commit()
        db.session.remove()


# --- rerender --------------------------------------------------------------------------------


def test_rerender_rebuilds_stale_html_from_the_stored_text_and_only_that(app, make_comment):
    stale = make_comment(unique_uri(), "Some **bold** words")
    current = make_comment(unique_uri(), "Plain and current")
    with app.app_context():
        # What an older, laxer renderer might have left behind.
        db.session.execute(
            sa.update(Comment)
            .where(Comment.id == stale["id"])
            .values(html='<p>Some <b onclick="steal()">bold</b> words</p><script>steal()</script>')
        )
        db.session.commit()
        db.session.remove()

    result = app.test_cli_runner().invoke(args=["rerender"])

    assert result.exit_code == 0, result.output
    assert "1 comment(s) re-rendered" in result.output
    assert comment_row(app, stale["id"]).html == "<p>Some <strong>bold</strong> words</p>"
    assert comment_row(app, current["id"]).html == current["html"]
    assert (
        app.test_cli_runner()
        .invoke(args=["rerender"])
        .output.startswith("0 comment(s) re-rendered")
    )


# --- send-mail as a worker -------------------------------------------------------------------


def wait_until(condition, worker_process: subprocess.Popen, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while not condition():
        assert worker_process.poll() is None, "the worker exited"
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        time.sleep(0.05)


def sent_mails(app) -> int:
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMail)
            .where(OutboxMail.status == MailStatus.sent)
        )
        db.session.remove()
    return count


@pytest.mark.backends("sqlite")  # the claim is shared with the tested senders; one backend here
def test_send_mail_keeps_sending_as_mail_is_queued_until_interrupted(
    app, database_url, smtp, make_comment, tmp_path
):
    worker.stop_background_senders()
    change_settings(app, MODERATION="all", MODERATOR_EMAILS=[MODERATOR])
    env = service_env(
        database_url,
        tmp_path,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp.port,
        SMTP_STARTTLS=False,
        SMTP_TIMEOUT=5,
        MAIL_BACKGROUND=False,
        MAIL_FROM="comments@blog.test",
    )
    log = tmp_path / "send-mail.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BIN / "commentsvc"), "send-mail", "--interval", "0.2"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        make_comment(unique_uri(), "Held for review, first")
        wait_until(lambda: sent_mails(app) == 1, process, "the first mail sent")
        make_comment(unique_uri(), "Held for review, second")  # queued while it waits
        wait_until(lambda: sent_mails(app) == 2, process, "the second mail sent")
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0, log.read_text()
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    assert smtp.recipients == [[MODERATOR], [MODERATOR]]
    assert "Sending mail as it is queued" in log.read_text()


# --- dropping old addresses ------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    """The API's monotonic clock, moved by the test; the hourly chores start afresh."""
    now = SimpleNamespace(value=1_000_000.0)
    monkeypatch.setattr(comments_api, "time", SimpleNamespace(monotonic=lambda: now.value))
    monkeypatch.setattr(privacy, "_purges", Every())
    return now


def test_a_post_drops_old_addresses_at_most_once_an_hour(app, make_comment, clock):
    assert settings_of(app).address_retention_days == 30  # the default
    old = make_comment(unique_uri(), "The first post: the hourly purge runs, finds nothing")
    age(app, old["id"], 31)
    recent = make_comment(unique_uri(), "Recent")

    clock.value += HOURLY - 1
    make_comment(unique_uri(), "Still within the hour: no purge")
    assert comment_row(app, old["id"]).remote_addr == "127.0.0.0"

    clock.value += 1
    make_comment(unique_uri(), "An hour later: the purge runs again")
    dropped = comment_row(app, old["id"])
    assert (dropped.remote_addr, dropped.remote_hash) == (None, None)
    assert comment_row(app, recent["id"]).remote_addr == "127.0.0.0"  # younger than 30 days


def test_retention_zero_keeps_addresses(app, make_comment, clock):
    change_settings(app, ADDRESS_RETENTION_DAYS=0)
    old = make_comment(unique_uri(), "Ten years old")
    age(app, old["id"], 3650)
    make_comment(unique_uri(), "A post, when the purge would be due")
    result = app.test_cli_runner().invoke(args=["purge-addresses"])
    assert result.exit_code == 0 and "0 address(es) dropped" in result.output
    kept = comment_row(app, old["id"])
    assert (kept.remote_addr, kept.remote_hash is not None) == ("127.0.0.0", True)
