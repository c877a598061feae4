"""Pages the links in mails open: one-click moderation, the reply opt-in, unsubscribing.

A GET only shows what the link will do (mail scanners follow links); the page's POST acts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from flask import Blueprint, Response, current_app, render_template, request
from flask_babel import force_locale, gettext, lazy_gettext
from flask_babel.speaklater import LazyString
from flask_wtf.csrf import CSRFError

from .config import current_settings
from .errors import LinkRefused
from .extensions import csrf, db
from .http_errors import status_of
from .i18n import Language, stored_language
from .mail import subscriptions
from .mail.alerts import check_action_link, use_action_link
from .models import Comment, Status, Subscription
from .transactions import commit_write

bp = Blueprint("links", __name__, url_prefix="/mail")

PAGE_HEADERS = {  # beside the CSP and the others every HTML page gets (security.py)
    # The URL holds the token: no Referer to other sites; our own form needs it (CSRF on HTTPS).
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Robots-Tag": "noindex",
}


@dataclass(frozen=True)
class ActionWords:
    """What the pages of one moderation action say, each a whole sentence for translators."""

    question: LazyString
    button: LazyString
    done: LazyString
    now: LazyString
    already: LazyString


# Lazy: put in the language of the page when it is rendered.
ACTION_WORDS = {
    "approve": ActionWords(
        lazy_gettext("Approve this comment?"),
        lazy_gettext("Approve"),
        lazy_gettext("Comment approved"),
        lazy_gettext("The comment is now approved."),
        lazy_gettext("The comment was already approved; nothing changed."),
    ),
    "spam": ActionWords(
        lazy_gettext("Mark this comment as spam?"),
        lazy_gettext("Mark as spam"),
        lazy_gettext("Comment marked as spam"),
        lazy_gettext("The comment is now marked as spam."),
        lazy_gettext("The comment was already marked as spam; nothing changed."),
    ),
    "delete": ActionWords(
        lazy_gettext("Delete this comment?"),
        lazy_gettext("Delete"),
        lazy_gettext("Comment deleted"),
        lazy_gettext("The comment is now deleted."),
        lazy_gettext("The comment was already deleted; nothing changed."),
    ),
}
STATUS_WORDS = {
    # TRANSLATORS: a comment's status, after "Status now"
    Status.pending: lazy_gettext("pending"),
    Status.approved: lazy_gettext("approved"),
    Status.spam: lazy_gettext("spam"),
    Status.deleted: lazy_gettext("deleted"),
}


def page(
    template: str, status: int = 200, language: Language | None = None, **context: Any
) -> Response:
    """Render a link's page in `language` (None: as this request chose, ?lang= or the browser)."""
    if language is None:
        html = render_template(template, **context)
    else:
        with force_locale(language.locale):
            html = render_template(template, **context)
    response = current_app.make_response((html, status))
    response.headers.update(PAGE_HEADERS)
    return response


def refused(exc: LinkRefused) -> Response:
    return page("links/refused.html", status_of(exc), reason=exc.message)


def _comment_context(comment: Comment) -> dict[str, Any]:
    return {
        "comment": comment,
        "thread": comment.thread,
        "status_word": STATUS_WORDS[comment.status],
    }


def moderators_language() -> Language:
    """A moderation link's pages speak the moderators' mails' language, COMMENTSVC_LANGUAGE
    (?lang= first): the comment's own language is its author's, not theirs."""
    return stored_language(None)


def subscribers_language(subscription: Subscription | None) -> Language | None:
    """A reader's link pages speak the language of the comment they subscribed with (?lang=
    first); None when the comment is gone: then the browser's."""
    comment = db.session.get(Comment, subscription.comment_id) if subscription else None
    return stored_language(comment.lang) if comment is not None else None


@bp.route("/moderate/<token>", methods=["GET", "POST"])
def moderate(token: str) -> Response:
    """A moderator's one-click action from an alert: GET asks to confirm, POST acts."""
    settings = current_settings()
    try:
        if request.method == "GET":
            grant, comment = check_action_link(db.session(), settings, token)
            return page(
                "links/moderate.html",
                language=moderators_language(),
                action=grant.action,
                words=ACTION_WORDS[grant.action],
                recipient=grant.recipient,
                **_comment_context(comment),
            )
        grant, comment, changed = commit_write(
            lambda: use_action_link(db.session(), settings, token)
        )
    except LinkRefused as exc:
        return refused(exc)
    return page(
        "links/moderated.html",
        language=moderators_language(),
        changed=changed,
        words=ACTION_WORDS[grant.action],
        **_comment_context(comment),
    )


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str) -> Response:
    """The reply-notification opt-in: GET shows a Confirm button, POST confirms."""
    settings = current_settings()
    try:
        if request.method == "GET":
            subscription = subscriptions.subscription_to_confirm(db.session(), settings, token)
            return page(
                "links/confirm.html",
                language=subscribers_language(subscription),
                subscription=subscription,
                **_comment_context(  # the subscription's comment: it cascades
                    cast(Comment, db.session.get(Comment, subscription.comment_id))
                ),
            )

        def work() -> tuple[Subscription, bool]:
            subscription = subscriptions.subscription_to_confirm(db.session(), settings, token)
            return subscription, subscriptions.confirm(subscription)

        subscription, changed = commit_write(work)
    except LinkRefused as exc:
        return refused(exc)
    return page(
        "links/confirmed.html",
        language=subscribers_language(subscription),
        changed=changed,
        **_comment_context(cast(Comment, db.session.get(Comment, subscription.comment_id))),
    )


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
# RFC 8058: mail clients POST "List-Unsubscribe=One-Click" with no page or cookie. (Flask-WTF
# has no types.)
@csrf.exempt  # type: ignore[untyped-decorator]
def unsubscribe(token: str) -> Response:
    """Stop reply notifications: GET shows a button, POST (also one-click) unsubscribes."""
    settings = current_settings()
    try:
        if request.method == "GET":
            subscription = subscriptions.subscription_to_end(db.session(), settings, token)
            return page(
                "links/unsubscribe.html",
                language=subscribers_language(subscription),
                subscription=subscription,
            )

        def work() -> tuple[bool, Language | None]:
            subscription = subscriptions.subscription_to_end(db.session(), settings, token)
            changed = subscription is not None and subscriptions.unsubscribe(subscription)
            return changed, subscribers_language(subscription)

        changed, language = commit_write(work)
    except LinkRefused as exc:
        return refused(exc)
    return page("links/unsubscribed.html", language=language, changed=changed)


@bp.errorhandler(CSRFError)
def form_refused(exc: CSRFError) -> Response:
    """A confirmation form without a valid CSRF token: too old, or not sent from our page."""
    return page(
        "links/refused.html",
        400,
        reason=gettext(
            "This form was too old or did not come from this site. Please "
            "open the link from the mail again."
        ),
    )
