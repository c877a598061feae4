"""Builders for the moderator pages' tests: accounts, logging in, CSRF tokens."""

from __future__ import annotations

import re

from werkzeug.security import generate_password_hash

from commentsvc.extensions import db
from commentsvc.models import Moderator, ModeratorSite, Role

PASSWORD = "correct horse battery"
_CSRF = re.compile(
    r'name="csrf_token" type="hidden" value="([^"]+)"|'
    r'name="csrf_token" value="([^"]+)"'
)


def make_moderator(
    app, name="mo", role=Role.moderator, email=None, active=True, sites=("default",)
) -> int:
    """A moderator account; a plain moderator moderates `sites` (admins moderate every site)."""
    with app.app_context():
        moderator = Moderator(
            name=name,
            email=email or f"{name}@example.com",
            role=role,
            password_hash=generate_password_hash(PASSWORD, "pbkdf2:sha256:1000"),
            active=active,
        )
        db.session.add(moderator)
        db.session.flush()
        if role != Role.admin:
            db.session.add_all(
                ModeratorSite(moderator_id=moderator.id, site=site) for site in sites
            )
        db.session.commit()
        return moderator.id


def csrf_token(client, path="/admin/login") -> str:
    page = client.get(path).get_data(as_text=True)
    match = _CSRF.search(page)
    assert match, f"no CSRF token on {path}"
    return match.group(1) or match.group(2)


def signed_in(app, name="mo", role=Role.moderator, client=None):
    """A client (a new one unless given) logged in as a new account `name` of this role."""
    make_moderator(app, name, role=role)
    client = client or app.test_client()
    assert login(client, name).status_code == 303
    return client


def login(client, name="mo", password=PASSWORD, url="/admin/login"):
    """Post the login form (to `url`, which may carry a `next`), as the login page would."""
    token = csrf_token(client)
    return client.post(url, data={"name": name, "password": password, "csrf_token": token})
