"""Writing: post, edit and delete a comment; preview Markdown."""

from __future__ import annotations

import time
from typing import Any

from flask import Response, current_app, jsonify, request
from flask_babel import gettext
from sqlalchemy.exc import SQLAlchemyError

from .. import comments as domain
from ..antispam import prune_used_form_tokens_if_due
from ..config import Settings, current_settings
from ..errors import ValidationFailed
from ..extensions import db, limiter
from ..i18n import reader_language
from ..privacy import purge_if_due
from ..ratelimit import edits_and_deletes, new_comments_per_address, new_comments_per_thread
from ..render import render_comment
from ..threads import public_comment
from ..tokens import issue_form_token
from ..transactions import commit_write
from . import bp
from .requests import bearer_token, json_object, site, site_config


@bp.post("/comments")
@new_comments_per_address
@new_comments_per_thread
def post_comment() -> Response:
    """Store a new comment or reply; 201 with its status and an edit token."""
    data = json_object()
    settings, thread_site = site_config(), site()
    # From Accept-Language (the widget sends its own): the language Flask-Babel would choose
    # here, without building the Babel locale a successful post never needs.
    lang = reader_language().tag

    def work() -> dict[str, Any]:
        result = domain.post_comment(
            db.session(),
            settings,
            data=data,
            remote_addr=request.remote_addr,
            site=thread_site,
            lang=lang,
        )
        body = public_comment(result.comment)
        body["status"] = result.public_status.value
        body["edit_token"] = result.edit_token
        body["edit_until"] = result.edit_until.isoformat().replace("+00:00", "Z")
        return body

    body = commit_write(work)
    # Each form token works once: here is the next one for this thread.
    body["form_token"] = issue_form_token(settings.secret_key, thread_site, data["uri"])
    response = jsonify(body)
    response.status_code = 201
    _housekeeping(settings)
    return response


def _housekeeping(settings: Settings) -> None:
    """After a stored comment: it must never turn that comment's 201 into a 500."""
    try:
        now = time.monotonic()
        purged = purge_if_due(db.session(), settings.address_retention_days, now)
        pruned = prune_used_form_tokens_if_due(db.session(), settings.form_token_max_age, now)
        if purged is not None or pruned is not None:
            db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("dropping old addresses failed; will try again later")


@bp.post("/comments/<int:comment_id>/vote")
@limiter.limit(lambda: current_settings().ratelimit_vote)
def vote(comment_id: int) -> Response:
    """A reader's up (1) or down (-1) vote on a published comment, or 0 to take it back."""
    from ..votes import cast_vote

    data = json_object()
    settings = site_config()
    score = commit_write(
        lambda: cast_vote(db.session(), settings, comment_id, data, request.remote_addr)
    )
    return jsonify({"id": comment_id, "score": score})


@bp.patch("/comments/<int:comment_id>")
@edits_and_deletes
def edit_comment(comment_id: int) -> Response:
    """Change one's own comment inside the edit window (Authorization: Bearer <edit token>)."""
    data, token = json_object(), bearer_token()
    settings = site_config()
    comment = commit_write(
        lambda: domain.edit_comment(
            db.session(), settings, comment_id, token, data, remote_addr=request.remote_addr
        )
    )
    return jsonify(public_comment(comment))


@bp.delete("/comments/<int:comment_id>")
@edits_and_deletes
def delete_comment(comment_id: int) -> Response:
    """Withdraw one's own comment inside the edit window."""
    token = bearer_token()
    settings = site_config()
    comment = commit_write(lambda: domain.delete_comment(db.session(), settings, comment_id, token))
    return jsonify({"id": comment.id, "status": comment.status.value})


@bp.post("/preview")
@limiter.limit(lambda: current_settings().ratelimit_preview)
def preview() -> Response:
    """Render Markdown exactly as a saved comment would be."""
    text = json_object().get("text")
    if not isinstance(text, str):
        raise ValidationFailed({"text": [gettext("Must be a string.")]})
    if len(text) > site_config().max_text_length:
        raise ValidationFailed({"text": [gettext("This text is too long.")]})
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationFailed(
            {"text": [gettext("Contains characters that are not allowed.")]}
        ) from None
    return jsonify({"html": render_comment(text)})
