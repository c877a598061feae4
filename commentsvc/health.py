"""Liveness: the process answers and the database too."""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db

bp = Blueprint("health", __name__)


@cache
def package_version() -> str:
    """The installed release, from the package's metadata."""
    try:
        return version("commentsvc")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown"


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when the database answers, 503 when it does not."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        current_app.logger.exception("health check: database unreachable")
        return jsonify(
            {"status": "unavailable", "database": "unreachable", "version": package_version()}
        ), 503
    return jsonify({"status": "ok", "database": "ok", "version": package_version()})
