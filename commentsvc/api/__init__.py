"""The JSON API, v1: threads, comments, counts, preview."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from . import comments, cors, errors, spec, threads  # noqa: E402,F401  (routes register on bp)
