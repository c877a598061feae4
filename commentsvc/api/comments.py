"""Writing: post, edit and delete a comment; preview Markdown."""

from __future__ import annotations

import time

from flask import current_app, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from .. import comments as domain
from ..errors import ValidationFailed
from ..extensions import db, limiter
from ..privacy import purge_if_due
from ..render import render_comment
from ..threads import public_comment
from ..transactions import commit_write
from . import bp
from .requests import bearer_token, json_object, site


def _limit(name: str):
    return lambda: current_app.config[name]


def _thread_key() -> str:
    body = request.get_json(silent=True)
    uri = body.get("uri") if isinstance(body, dict) else None
    return f"thread:{uri}"[:600] if isinstance(uri, str) else "thread:?"


@bp.post("/comments")
@limiter.limit(_limit("RATELIMIT_POST"))
@limiter.limit(_limit("RATELIMIT_THREAD"), key_func=_thread_key)
def post_comment():
    """Store a new comment or reply; 201 with its status and an edit token."""
    data = json_object()
    config, thread_site = current_app.config, site()

    def work():
        result = domain.post_comment(
            db.session, config, data=data, remote_addr=request.remote_addr, site=thread_site
        )
        body = public_comment(result.comment)
        body["status"] = result.public_status.value
        body["edit_token"] = result.edit_token
        body["edit_until"] = result.edit_until.isoformat().replace("+00:00", "Z")
        return body

    response = jsonify(commit_write(work))
    response.status_code = 201
    _purge_old_addresses(config["ADDRESS_RETENTION_DAYS"])
    return response


def _purge_old_addresses(days: int) -> None:
    """Housekeeping after a stored comment: it must never turn that comment's 201 into a 500."""
    try:
        if purge_if_due(db.session, days, time.monotonic()) is not None:
            db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("dropping old addresses failed; will try again later")


@bp.patch("/comments/<int:comment_id>")
@limiter.limit(_limit("RATELIMIT_EDIT"))
def edit_comment(comment_id: int):
    """Change one's own comment inside the edit window (Authorization: Bearer <edit token>)."""
    data, token = json_object(), bearer_token()
    comment = commit_write(
        lambda: domain.edit_comment(db.session, current_app.config, comment_id, token, data)
    )
    return jsonify(public_comment(comment))


@bp.delete("/comments/<int:comment_id>")
@limiter.limit(_limit("RATELIMIT_EDIT"))
def delete_comment(comment_id: int):
    """Withdraw one's own comment inside the edit window."""
    token = bearer_token()
    comment = commit_write(
        lambda: domain.delete_comment(db.session, current_app.config, comment_id, token)
    )
    return jsonify({"id": comment.id, "status": comment.status.value})


@bp.post("/preview")
@limiter.limit(_limit("RATELIMIT_PREVIEW"))
def preview():
    """Render Markdown exactly as a saved comment would be."""
    text = json_object().get("text")
    if not isinstance(text, str):
        raise ValidationFailed({"text": ["Must be a string."]})
    if len(text) > current_app.config["MAX_TEXT_LENGTH"]:
        raise ValidationFailed({"text": ["This text is too long."]})
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationFailed({"text": ["Contains characters that are not allowed."]}) from None
    return jsonify({"html": render_comment(text)})
