"""Break one safeguard below commentsvc, in the libraries it relies on, for a mutation run.

Loaded with `pytest -p tests.mutants.plugin`; COMMENTSVC_MUTANT names the safeguard to break
(unset: nothing is broken). The patch is made when pytest imports this plugin, before the test
modules import commentsvc, so names the project binds at import time see the broken version.
The suite must fail under every mutant: `make mutants` (tests/mutants/run.py) checks it.
"""

from __future__ import annotations

import os
from collections.abc import Callable

ENV = "COMMENTSVC_MUTANT"


def _csrf_off() -> None:
    """Flask-WTF accepts every form and every POST, with or without a CSRF token."""
    import flask_wtf.csrf

    flask_wtf.csrf.validate_csrf = lambda *args, **kwargs: None


def _anonymous_logged_in() -> None:
    """Flask-Login counts a visitor who never logged in as authenticated."""
    from flask_login.mixins import AnonymousUserMixin

    AnonymousUserMixin.is_authenticated = property(lambda self: True)


def _any_signature() -> None:
    """itsdangerous accepts every signature: edit tokens, mail links, session cookies."""
    from itsdangerous.signer import Signer

    Signer.verify_signature = lambda self, value, sig: True


def _autoescape_off() -> None:
    """Jinja renders every template without autoescaping."""
    from flask import Flask

    Flask.select_jinja_autoescape = lambda self, filename: False


def _rate_limits_off() -> None:
    """The limits strategies never find a budget spent."""
    from limits import strategies

    for strategy in (
        strategies.FixedWindowRateLimiter,
        strategies.MovingWindowRateLimiter,
        strategies.SlidingWindowCounterRateLimiter,
    ):
        strategy.hit = lambda self, item, *identifiers, cost=1: True
        strategy.test = lambda self, item, *identifiers, cost=1: True


def _sanitiser_noop() -> None:
    """bleach's Cleaner returns the HTML it is given, untouched."""
    import bleach.sanitizer

    bleach.sanitizer.Cleaner.clean = lambda self, text: text


def _markdown_escaping_off() -> None:
    """markdown-it writes text without escaping it: a reader's "<" stays markup."""
    import markdown_it.common.utils

    markdown_it.common.utils.escapeHtml = lambda raw: raw


MUTANTS: dict[str, Callable[[], None]] = {
    "csrf-off": _csrf_off,
    "anonymous-logged-in": _anonymous_logged_in,
    "any-signature": _any_signature,
    "autoescape-off": _autoescape_off,
    "rate-limits-off": _rate_limits_off,
    "sanitiser-noop": _sanitiser_noop,
    "markdown-escaping-off": _markdown_escaping_off,
}

ACTIVE = os.environ.get(ENV, "")
if ACTIVE:
    if ACTIVE not in MUTANTS:
        raise SystemExit(f"{ENV}={ACTIVE!r}: not one of {', '.join(MUTANTS)}")
    MUTANTS[ACTIVE]()


def pytest_report_header(config):
    return f"mutant: {ACTIVE or 'none (the libraries as they are)'}"
