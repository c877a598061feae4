"""The admin import page: dry run and import of an uploaded export, roles, CSRF, bad and large
files, and no copy of the upload left behind."""

from __future__ import annotations

import html
import io
import tempfile
from collections import Counter

import pytest
import sqlalchemy as sa

from commentsvc.config import settings_of
from commentsvc.extensions import db
from commentsvc.models import AuditEntry, Comment, Role, Thread
from tests.support.admin import csrf_token, login, make_moderator

from .conftest import corpus

DISQUS = ("imports", "disqus", "isso-disqus.xml")
DISQUS_URIS = {"/", "/blog/2013/02/12/redacted/index.html"}


@pytest.fixture
def scratch(tmp_path, monkeypatch):
    """The directory temporary files go to during the test; it should end up empty."""
    directory = tmp_path / "scratch"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


@pytest.fixture
def admin(app, client, scratch):
    make_moderator(app, "boss", role=Role.admin)
    assert login(client, "boss").status_code == 303
    return client


def upload(
    client, content: bytes, *, button="dry_run", token=True, filename="export.xml", **fields
):
    """Post the import form with `content` as the file; fields default to a Disqus import."""
    data = {"fmt": "disqus", "site": "default", "status": "approved", button: "y", **fields}
    if content is not None:
        data["upload"] = (io.BytesIO(content), filename)
    if token:
        data["csrf_token"] = csrf_token(client, "/admin/import")
    return client.post("/admin/import", data=data, content_type="multipart/form-data")


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def stored_comments(app) -> list[tuple[str, str, str, str | None, str | None]]:
    """(site, thread uri, origin, status, author) of every comment, by origin."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(Thread.site, Thread.uri, Comment.origin, Comment.status, Comment.author)
            .join(Thread)
            .order_by(Comment.origin)
        ).all()
    return [(site, uri, origin, status.value, author) for site, uri, origin, status, author in rows]


def imports_logged(app) -> list[tuple[str, str, str, str | None]]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(AuditEntry.actor, AuditEntry.action, AuditEntry.target, AuditEntry.detail)
            .where(AuditEntry.action == "import")
            .order_by(AuditEntry.id)
        ).all()
    return [tuple(r) for r in rows]


def count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_admin_sees_the_form_and_the_menu_link(admin):
    response = admin.get("/admin/import")
    page = text(response)
    assert response.status_code == 200
    assert 'href="/admin/import"' in page
    assert 'enctype="multipart/form-data"' in page
    assert "Blogger: the .xml file from Settings → Back up content" in page
    assert "Isso: its database file (comments.db) or its JSON import file" in page
    assert ">Dry run</button>" in page and ">Import</button>" in page


def test_dry_run_reports_and_saves_nothing(app, admin, scratch):
    response = upload(admin, corpus(*DISQUS).read_bytes())
    page = text(response)
    assert response.status_code == 200
    assert "Dry run of an import from Disqus: nothing was saved" in page
    assert "Threads: 2 created, 0 reused" in page
    assert "Comments: 5 to import (4 approved, 1 deleted)" in page
    assert "Refused: 1" in page
    assert '<li><post dsq:id="6">: its thread (dsq:id "1337") is not in the file</li>' in page
    assert count(app, Comment) == 0 and count(app, Thread) == 0
    assert imports_logged(app) == []
    assert list(scratch.iterdir()) == []


def test_import_stores_the_comments_logs_it_and_shows_the_report(app, admin, scratch):
    response = upload(admin, corpus(*DISQUS).read_bytes(), button="save")
    page = text(response)
    assert response.status_code == 200
    assert "Import from Disqus" in page and "nothing was saved" not in page
    assert "Comments: 5 imported (4 approved, 1 deleted)" in page
    assert '<post dsq:id="6">' in page
    rows = stored_comments(app)
    assert {uri for _, uri, *_ in rows} == DISQUS_URIS
    assert {site for site, *_ in rows} == {"default"}
    assert Counter(status for *_, status, _ in rows) == {"approved": 4, "deleted": 1}
    assert [
        (origin, author)
        for _, _, origin, _, author in rows
        if origin in ("disqus:4", "disqus:5", "disqus:8")
    ] == [("disqus:4", "peter"), ("disqus:5", "user"), ("disqus:8", "Empty")]
    with app.app_context():
        reply = db.session.scalars(sa.select(Comment).filter_by(origin="disqus:5")).one()
        assert db.session.get(Comment, reply.parent_id).origin == "disqus:4"
    [(actor, _, target, detail)] = imports_logged(app)
    assert (actor, target) == ("boss", "site default")
    assert "Disqus: 2 threads created" in detail
    assert "5 comments imported (4 approved, 1 deleted), 0 skipped, 1 refused" in detail
    assert list(scratch.iterdir()) == []


def test_second_import_skips_what_is_already_there(app, admin):
    content = corpus(*DISQUS).read_bytes()
    assert upload(admin, content, button="save").status_code == 200
    response = upload(admin, content, button="save")
    page = text(response)
    assert response.status_code == 200
    assert "Threads: 0 created, 2 reused" in page
    assert "Comments: 0 imported, 5 skipped as already imported" in page
    assert len(stored_comments(app)) == 5
    assert len(imports_logged(app)) == 2


def test_site_and_status_are_applied(app, admin):
    response = upload(
        admin, corpus(*DISQUS).read_bytes(), button="save", site=" blog2 ", status="pending"
    )
    assert response.status_code == 200
    rows = stored_comments(app)
    assert {site for site, *_ in rows} == {"blog2"}
    assert Counter(status for *_, status, _ in rows) == {"pending": 4, "deleted": 1}
    assert imports_logged(app)[0][2] == "site blog2"


@pytest.mark.parametrize(
    ("fmt", "parts"),
    [
        ("blogger", ("imports", "blogger", "gconverters-blogger-sample2.xml")),
        ("wordpress", ("imports", "wordpress", "isso-wordpress.xml")),
        ("isso", ("imports", "isso", "isso-generic.json")),
    ],
)
def test_each_format_can_be_chosen(app, admin, fmt, parts):
    response = upload(admin, corpus(*parts).read_bytes(), fmt=fmt)
    page = text(response)
    assert response.status_code == 200
    assert "Dry run of an import from" in page and "Threads: 2 created" in page
    assert count(app, Comment) == 0


def test_plain_moderator_is_refused(app, moderator):
    assert moderator.get("/admin/import").status_code == 403
    assert 'href="/admin/import"' not in moderator.get("/admin/").get_data(as_text=True)
    token = csrf_token(moderator, "/admin/")
    response = moderator.post(
        "/admin/import",
        content_type="multipart/form-data",
        data={
            "csrf_token": token,
            "fmt": "disqus",
            "save": "y",
            "upload": (io.BytesIO(corpus(*DISQUS).read_bytes()), "export.xml"),
        },
    )
    assert response.status_code == 403
    assert count(app, Comment) == 0 and count(app, Thread) == 0


def test_without_login_the_page_redirects_to_login(app, client):
    for response in (
        client.get("/admin/import"),
        client.post("/admin/import", data={"fmt": "disqus", "save": "y"}),
    ):
        assert response.status_code == 302
        assert "/admin/login" in response.headers["Location"]


def test_without_csrf_token_nothing_is_imported(app, admin):
    response = upload(admin, corpus(*DISQUS).read_bytes(), button="save", token=False)
    assert response.status_code == 400
    assert count(app, Comment) == 0 and count(app, Thread) == 0
    assert imports_logged(app) == []


def test_bad_file_shows_its_error_and_stores_nothing(app, admin, scratch):
    truncated = corpus(*DISQUS).read_bytes()[:300]
    response = upload(admin, truncated, button="save")
    page = text(response)
    assert response.status_code == 400
    assert "This file cannot be imported: " in page
    assert 'class="error"' in page
    assert count(app, Comment) == 0 and count(app, Thread) == 0
    assert imports_logged(app) == []
    assert list(scratch.iterdir()) == []


def test_wrong_format_for_the_file_is_a_bad_file(app, admin):
    response = upload(admin, corpus(*DISQUS).read_bytes(), fmt="blogger", button="save")
    assert response.status_code == 400
    assert "This file cannot be imported: this is not a Blogger export" in text(response)
    assert count(app, Thread) == 0


def test_missing_file_and_unknown_format_are_explained(app, admin):
    response = upload(admin, None)
    assert response.status_code == 400
    assert "Choose the file to import." in text(response)
    response = upload(admin, b"<disqus/>", fmt="livefyre")
    assert response.status_code == 400
    assert "Choose one of the formats listed." in text(response)
    assert count(app, Thread) == 0


@pytest.fixture
def small_limit(settings):
    settings["IMPORT_MAX_BYTES"] = 1000


@pytest.mark.usefixtures("small_limit")
def test_file_over_the_limit_is_refused_with_a_message(app, admin, scratch):
    content = corpus(*DISQUS).read_bytes()
    assert len(content) > 1000
    response = upload(admin, content, button="save")
    page = text(response)
    assert response.status_code == 413
    assert "The file is larger than the 1000 bytes this page accepts" in page
    assert 'enctype="multipart/form-data"' in page  # the form again, to choose another file
    assert count(app, Comment) == 0 and count(app, Thread) == 0
    assert list(scratch.iterdir()) == []


def test_import_page_allows_more_than_other_forms(app, admin):
    # Larger than the body limit of every other request, smaller than the import limit.
    content = corpus(*DISQUS).read_bytes()
    padding = b"<!--" + b" " * settings_of(app).max_body_bytes + b"-->\n"
    response = upload(admin, content.replace(b"<disqus ", padding + b"<disqus ", 1))
    assert response.status_code == 200
    assert "Comments: 5 to import" in text(response)
