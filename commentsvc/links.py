"""Pages the links in mails open: one-click moderation, the reply opt-in, unsubscribing.

A GET only shows what the link will do (mail scanners follow links); the page's POST acts.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template, request
from flask_wtf.csrf import CSRFError

from .extensions import csrf, db
from .mail import subscriptions
from .mail.alerts import LinkRefused, check_action_link, use_action_link
from .models import Comment
from .transactions import commit_write

bp = Blueprint("links", __name__, url_prefix="/mail")

PAGE_HEADERS = {  # beside the CSP and the others every HTML page gets (security.py)
    # The URL holds the token: no Referer to other sites; our own form needs it (CSRF on HTTPS).
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
}
ACTION_WORDS = {"approve": "Approve", "spam": "Mark as spam", "delete": "Delete"}
DONE_WORDS = {"approve": "approved", "spam": "marked as spam", "delete": "deleted"}


def page(template: str, status: int = 200, **context: Any):
    response = current_app.make_response((render_template(template, **context), status))
    response.headers.update(PAGE_HEADERS)
    return response


def refused(exc: LinkRefused):
    return page("links/refused.html", exc.status, reason=exc.message)


def _comment_context(comment: Comment) -> dict[str, Any]:
    return {"comment": comment, "thread": comment.thread}


@bp.route("/moderate/<token>", methods=["GET", "POST"])
def moderate(token: str):
    """A moderator's one-click action from an alert: GET asks to confirm, POST acts."""
    config = current_app.config
    try:
        if request.method == "GET":
            grant, comment = check_action_link(db.session, config, token)
            return page("links/moderate.html", action=grant.action,
                        action_word=ACTION_WORDS[grant.action], recipient=grant.recipient,
                        **_comment_context(comment))
        grant, comment, changed = commit_write(
            lambda: use_action_link(db.session, config, token)
        )
    except LinkRefused as exc:
        return refused(exc)
    return page("links/moderated.html", changed=changed, done=DONE_WORDS[grant.action],
                **_comment_context(comment))


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """The reply-notification opt-in: GET shows a Confirm button, POST confirms."""
    config = current_app.config
    try:
        if request.method == "GET":
            subscription = subscriptions.subscription_to_confirm(db.session, config, token)
            return page("links/confirm.html", subscription=subscription,
                        **_comment_context(db.session.get(Comment, subscription.comment_id)))

        def work():
            subscription = subscriptions.subscription_to_confirm(db.session, config, token)
            return subscription, subscriptions.confirm(subscription)

        subscription, changed = commit_write(work)
    except LinkRefused as exc:
        return refused(exc)
    return page("links/confirmed.html", changed=changed,
                **_comment_context(db.session.get(Comment, subscription.comment_id)))


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" with no page or cookie
def unsubscribe(token: str):
    """Stop reply notifications: GET shows a button, POST (also one-click) unsubscribes."""
    config = current_app.config
    try:
        if request.method == "GET":
            subscription = subscriptions.subscription_to_end(db.session, config, token)
            return page("links/unsubscribe.html", subscription=subscription)

        def work():
            subscription = subscriptions.subscription_to_end(db.session, config, token)
            return subscription is not None and subscriptions.unsubscribe(subscription)

        changed = commit_write(work)
    except LinkRefused as exc:
        return refused(exc)
    return page("links/unsubscribed.html", changed=changed)


@bp.errorhandler(CSRFError)
def form_refused(exc: CSRFError):
    """A confirmation form without a valid CSRF token: too old, or not sent from our page."""
    return page("links/refused.html", 400,
                reason="This form was too old or did not come from this site. Please open "
                       "the link from the mail again.")

