"""Admins only: what the spam filter has learned and how often moderators overturn it."""

from __future__ import annotations

from flask import render_template
from flask.typing import ResponseReturnValue

from .. import spamfilter
from ..config import current_settings
from ..extensions import db
from . import admin_required, bp

CHART_DAYS = 30


@bp.get("/spam-filter")
@admin_required
def spam_filter() -> ResponseReturnValue:
    settings = current_settings()
    learned = spamfilter.stats(db.session(), settings.spam_filter_hold)
    recent = spamfilter.activity(db.session(), CHART_DAYS)
    spam = learned.spam_decisions + learned.spam_from_files
    ham = learned.ham_decisions + learned.ham_from_files
    return render_template(
        "admin/spam_filter.html",
        settings=settings,
        learned=learned,
        recent=recent,
        acting=settings.spam_filter == "on" and min(spam, ham) >= spamfilter.MIN_LESSONS,
        needed=spamfilter.MIN_LESSONS,
        spam=spam,
        ham=ham,
        tallest=max([day.held + day.marked for day in recent.days] + [1]),
    )
