"""Reader-facing pages and files: embed.js, count.js, avatars, the no-JS thread page, the demo."""

from flask import Blueprint

bp = Blueprint("widget", __name__)

from commentsvc.widget import assets, pages  # noqa: E402, F401  (views register on bp)
