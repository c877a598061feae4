"""Admins choose the sites a moderator moderates on the moderators page, and change them."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from commentsvc.extensions import db
from commentsvc.models import AuditEntry, Moderator, ModeratorSite, Role
from tests.support.admin import csrf_token, login, make_moderator, signed_in

from .conftest import unique_uri
from .settings_helpers import change_settings
from .test_sites import DOCS, docs, post  # noqa: F401  (docs is a fixture)

NEW = {"name": "dora", "email": "dora@example.com", "password": "a long password"}


@pytest.fixture
def admin(app):
    """An administrator's own client (beside `client`, a reader's)."""
    return signed_in(app, "boss", Role.admin)


@pytest.fixture
def held(app, client, docs):  # noqa: F811
    """One held comment on each site."""
    change_settings(app, MODERATION="all")
    assert post(client, unique_uri(), "Blog question").status_code == 201
    assert post(client, unique_uri(), "Docs question", site="docs", origin=DOCS).status_code == 201


def add(admin, **fields):
    token = csrf_token(admin, "/admin/moderators")
    data = {"csrf_token": token, "role": "moderator", "active": "y", **NEW, **fields}
    return admin.post("/admin/moderators", data=data)


def sites_of(app, name: str) -> list[str]:
    with app.app_context():
        return list(
            db.session.execute(
                sa.select(ModeratorSite.site)
                .join(Moderator, Moderator.id == ModeratorSite.moderator_id)
                .where(Moderator.name == name)
                .order_by(ModeratorSite.site)
            ).scalars()
        )


def accounts(app) -> list[str]:
    with app.app_context():
        return list(
            db.session.execute(sa.select(Moderator.name).order_by(Moderator.name)).scalars()
        )


def queue_of(app, name: str) -> str:
    client = app.test_client()
    assert login(client, name, NEW["password"]).status_code == 303
    return client.get("/admin/").get_data(as_text=True)


def test_the_add_form_offers_every_site_with_default_checked(admin, docs):  # noqa: F811
    page = admin.get("/admin/moderators").get_data(as_text=True)
    assert 'name="sites" id="sites-1" value="default" checked' in page
    assert 'name="sites" id="sites-2" value="docs">' in page


def test_a_moderator_added_on_the_page_for_one_site_sees_only_its_queue(app, admin, held):
    answer = add(admin, sites="docs")
    assert answer.status_code == 303
    assert sites_of(app, "dora") == ["docs"]
    queue = queue_of(app, "dora")
    assert "Docs question" in queue and "Blog question" not in queue
    listing = admin.get("/admin/moderators").get_data(as_text=True)
    assert "<td>docs <a" in listing


def test_a_moderator_may_be_given_several_sites(app, admin, held):
    assert add(admin, sites=["default", "docs"]).status_code == 303
    assert sites_of(app, "dora") == ["default", "docs"]
    queue = queue_of(app, "dora")
    assert "Docs question" in queue and "Blog question" in queue


@pytest.mark.parametrize(
    "fields, message",
    [
        ({}, "Choose at least one site for a moderator."),
        ({"sites": "nowhere"}, "not a valid choice"),
        ({"sites": ["docs", "nowhere"]}, "not a valid choice"),
    ],
)
def test_a_moderator_without_a_known_site_is_refused_on_the_page(
    app,
    admin,
    docs,  # noqa: F811
    fields,
    message,
):
    answer = add(admin, **fields)
    assert answer.status_code == 400
    page = answer.get_data(as_text=True)
    assert message in page and 'class="error" id="sites-error"' in page
    assert accounts(app) == ["boss"]


def test_an_admin_needs_no_site(app, admin):
    assert add(admin, role="admin").status_code == 303
    assert accounts(app) == ["boss", "dora"] and sites_of(app, "dora") == []


def test_the_add_form_without_its_csrf_token_changes_nothing(app, admin):
    answer = admin.post("/admin/moderators", data={"role": "moderator", "sites": "default", **NEW})
    assert answer.status_code == 400
    assert accounts(app) == ["boss"]


def test_an_admin_moves_a_moderator_to_another_site(app, admin, held):
    assert add(admin, sites="default").status_code == 303
    dora = account_id(app, "dora")
    page = admin.get(f"/admin/moderators/{dora}/sites").get_data(as_text=True)
    assert 'value="default" checked' in page and 'value="docs">' in page
    token = csrf_token(admin, f"/admin/moderators/{dora}/sites")
    answer = admin.post(
        f"/admin/moderators/{dora}/sites", data={"csrf_token": token, "sites": "docs"}
    )
    assert answer.status_code == 303
    assert sites_of(app, "dora") == ["docs"]
    queue = queue_of(app, "dora")
    assert "Docs question" in queue and "Blog question" not in queue
    with app.app_context():
        entry = db.session.execute(
            sa.select(AuditEntry).where(AuditEntry.action == "moderator sites")
        ).scalar_one()
        assert (entry.actor, entry.target, entry.detail) == ("boss", f"moderator {dora}", "docs")


def test_a_moderator_given_no_site_before_shows_the_default_one(app, admin):
    """An account with no rows moderates the default site, and the page says so."""
    with app.app_context():
        dora = Moderator(name="dora", email="dora@example.com", password_hash="x")
        db.session.add(dora)
        db.session.commit()
        dora_id = dora.id
    page = admin.get(f"/admin/moderators/{dora_id}/sites").get_data(as_text=True)
    assert 'value="default" checked' in page


@pytest.mark.parametrize(
    "data, message",
    [
        ({}, "Choose at least one site."),
        ({"sites": "nowhere"}, "not a valid choice"),
    ],
)
def test_changing_sites_to_none_or_an_unknown_one_keeps_them(
    app,
    admin,
    docs,  # noqa: F811
    data,
    message,
):
    make_moderator(app, "dora", sites=("docs",))
    dora = account_id(app, "dora")
    token = csrf_token(admin, f"/admin/moderators/{dora}/sites")
    answer = admin.post(f"/admin/moderators/{dora}/sites", data={"csrf_token": token, **data})
    assert answer.status_code == 400 and message in answer.get_data(as_text=True)
    assert sites_of(app, "dora") == ["docs"]
    without_token = admin.post(f"/admin/moderators/{dora}/sites", data={"sites": "default"})
    assert without_token.status_code == 400
    assert sites_of(app, "dora") == ["docs"]


def test_an_admins_sites_are_not_changed(app, admin):
    boss = account_id(app, "boss")
    token = csrf_token(admin, f"/admin/moderators/{boss}/sites")
    answer = admin.post(
        f"/admin/moderators/{boss}/sites", data={"csrf_token": token, "sites": "default"}
    )
    assert answer.status_code == 400
    assert "An admin moderates every site." in answer.get_data(as_text=True)
    assert sites_of(app, "boss") == []
    assert admin.get("/admin/moderators/999999/sites").status_code == 404


def account_id(app, name: str) -> int:
    with app.app_context():
        return db.session.execute(
            sa.select(Moderator.id).where(Moderator.name == name)
        ).scalar_one()
