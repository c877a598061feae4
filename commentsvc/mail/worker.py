"""Running the sender: a thread in each app process, or the `commentsvc send-mail` command."""

from __future__ import annotations

import logging
import os
import threading

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.orm import Session

from ..config import settings_of
from ..extensions import db
from .outbox import QUEUED
from .sender import SendReport, send_due

log = logging.getLogger("commentsvc.mail")

POLL_SECONDS = 10  # how often retries are looked for; new mail wakes the sender at once
STATE = "commentsvc.mail"  # app.extensions key

_wake = threading.Event()
_senders: list[tuple[threading.Thread, threading.Event]] = []  # this process's sender threads


def wake_on_commit(session: Session) -> None:
    """After a commit that wrote mail, wake this process's sender (mail is never sent earlier)."""
    if session.info.pop(QUEUED, False):
        _wake.set()


def forget_on_rollback(session: Session) -> None:
    session.info.pop(QUEUED, None)


def drain(app: Flask) -> SendReport:
    with app.app_context():
        return send_due(db.session(), settings_of(app))


def run_forever(
    app: Flask, interval: float = POLL_SECONDS, stop: threading.Event | None = None
) -> None:
    """Send what is due, then wait for new mail or the next retry; never dies of one failure."""
    stop = stop or threading.Event()
    while not stop.is_set():
        _wake.clear()
        try:
            drain(app)
        except Exception:
            log.exception("mail sender: this pass failed; trying again in %s s", interval)
        _wake.wait(interval)


def start_background_sender() -> None:
    """Before a request: start this process's sender thread once (gunicorn forks after import)."""
    start_sender(current_app._get_current_object())  # type: ignore[attr-defined]


def start_sender(app: Flask) -> None:
    """Start this process's sender thread for `app`, unless it runs already."""
    if app.testing or not settings_of(app).mail_background:
        return
    state = app.extensions[STATE]
    if state["pid"] == os.getpid():
        return
    with state["lock"]:
        if state["pid"] == os.getpid():
            return
        state["pid"] = os.getpid()
        stop = threading.Event()
        thread = threading.Thread(
            target=run_forever, args=(app, POLL_SECONDS, stop), name="commentsvc-mail", daemon=True
        )
        _senders.append((thread, stop))
        thread.start()
    log.info("mail sender started in process %d", os.getpid())


def stop_background_senders(timeout: float = 10) -> None:
    """Stop this process's sender threads; each finishes the mail in hand first."""
    senders = list(_senders)
    _senders.clear()
    for _, stop in senders:
        stop.set()
    _wake.set()
    for thread, _ in senders:
        thread.join(timeout)


@click.command("send-mail")
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option(
    "--interval",
    default=POLL_SECONDS,
    show_default=True,
    type=float,
    help="Seconds between looks for mail to retry.",
)
@with_appcontext
def send_mail_command(once: bool, interval: float) -> None:
    """Send queued mail: keep sending until stopped, or only what is due now (--once)."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    if not once:
        click.echo("Sending mail as it is queued; stop with Ctrl+C.")
        try:
            run_forever(app, interval)
        except KeyboardInterrupt:
            pass
        return
    report = drain(app)
    click.echo(
        f"{report.sent} sent, {report.retrying} to retry, {report.failed} given up"
        + (" (the mail server could not be reached)" if report.server_down else "")
    )
