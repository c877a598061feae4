"""The admin import page in a real browser: an admin dry-runs a Disqus export, imports it, and
is told on the form when a file cannot be imported."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ..conftest import corpus
from .conftest import Service, serious_violations, start_service
from .test_admin_browser import PASSWORD, log_in

pytestmark = pytest.mark.browser

DISQUS = ("imports", "disqus", "isso-disqus.xml")
# The file's two threads: posts 4, 5, 9 (deleted) and 11 on the first, post 8 on the other;
# post 6 names a thread the file does not hold.
HOME = "/"
OTHER = "/blog/2013/02/12/redacted/index.html"
REFUSED = '<post dsq:id="6">: its thread (dsq:id "1337") is not in the file'


@pytest.fixture(scope="module")
def import_service(blog, tmp_path_factory):
    """An instance of its own: a Disqus import reports what the site already holds, and the
    public API reads only the default site, so the counts read here must be this file's."""
    service = start_service(tmp_path_factory.mktemp("admin-import"), blog.origin)
    yield service
    service.stop()


@pytest.fixture(scope="module")
def admin_name(import_service) -> str:
    name = f"admin{uuid.uuid4().hex[:6]}"
    created = import_service.command(
        "create-moderator",
        name,
        "--email",
        f"{name}@example.com",
        "--role",
        "admin",
        "--password-stdin",
        input=PASSWORD + "\n",
    )
    assert created.returncode == 0, created.stderr
    return name


@pytest.fixture(scope="module")
def disqus_file() -> Path:
    return corpus(*DISQUS)


@pytest.fixture
def truncated_file(disqus_file, tmp_path) -> Path:
    """The first 300 bytes of the export: XML cut off in the middle of an element."""
    path = tmp_path / "truncated.xml"
    path.write_bytes(disqus_file.read_bytes()[:300])
    return path


def open_import_page(page, service: Service) -> None:
    page.goto(service.url + "/admin/import")
    expect(page.get_by_role("heading", name="Import comments", level=1)).to_be_visible()


def submit(page, export: Path, button: str, *, fmt: str = "disqus") -> int:
    """Choose the file and the format, press the button; the status of the page it posted."""
    page.get_by_label("Export file").set_input_files(export)
    page.get_by_label("Format").select_option(fmt)
    with page.expect_response(
        lambda r: r.url.endswith("/admin/import") and r.request.method == "POST"
    ) as posted:
        page.get_by_role("button", name=button, exact=True).click()
    page.wait_for_load_state()
    return posted.value.status


def report(page):
    return page.get_by_role("region", name=re.compile(r"(Dry run of an i|I)mport from"))


def report_items(page) -> list[str]:
    """The report's lines as the page lists them, details under their line."""
    return [" ".join(t.split()) for t in report(page).locator("li").all_inner_texts()]


def counts(service: Service) -> dict[str, int]:
    status, body, _ = service.api("GET", f"/api/counts?uri={HOME}&uri={OTHER}")
    assert status == 200, body
    return body["counts"]


def no_traceback(service: Service) -> None:
    log = service.log.read_text()
    assert "Traceback" not in log, log


def test_admin_dry_runs_then_imports_a_disqus_export(page, import_service, admin_name, disqus_file):
    log_in(page, import_service, admin_name)
    menu = page.get_by_role("navigation", name="Moderation")
    menu.get_by_role("link", name="Import", exact=True).click()
    expect(page).to_have_url(import_service.url + "/admin/import")
    expect(page.get_by_role("heading", name="Import comments", level=1)).to_be_visible()

    assert submit(page, disqus_file, "Dry run") == 200
    expect(report(page).get_by_role("heading", level=2)).to_have_text(
        "Dry run of an import from Disqus: nothing was saved"
    )
    items = report_items(page)
    assert items[:2] == [
        "Threads: 2 created, 0 reused",
        "Comments: 5 to import (4 approved, 1 deleted), 0 skipped as already imported",
    ]
    assert f"Refused: 1 {REFUSED}" in items and REFUSED in items
    expect(report(page)).to_contain_text("To import, choose the file again and press Import.")
    # The browser forgets the chosen file; the other choices are kept.
    expect(page.get_by_label("Export file")).to_have_value("")
    expect(page.get_by_label("Format")).to_have_value("disqus")
    assert counts(import_service) == {HOME: 0, OTHER: 0}
    thread = import_service.thread(HOME)
    assert (thread["count"], thread["comments"]) == (0, [])

    assert submit(page, disqus_file, "Import") == 200
    expect(report(page).get_by_role("heading", level=2)).to_have_text("Import from Disqus")
    items = report_items(page)
    assert items[:2] == [
        "Threads: 2 created, 0 reused",
        "Comments: 5 imported (4 approved, 1 deleted), 0 skipped as already imported",
    ]
    assert REFUSED in items
    expect(report(page)).not_to_contain_text("nothing was saved")
    expect(report(page)).not_to_contain_text("choose the file again")
    # Counts are of approved comments: the deleted post 9 stays out, its reply 11 is shown.
    assert counts(import_service) == {HOME: 3, OTHER: 1}
    assert import_service.count(HOME) == 3

    page.goto(import_service.url + "/admin/audit")
    logged = page.get_by_role("row").filter(has_text=admin_name)
    expect(logged.filter(has_text="site default")).to_contain_text(
        "5 comments imported (4 approved, 1 deleted), 0 skipped, 1 refused"
    )
    no_traceback(import_service)


def test_bad_file_is_explained_on_the_form_and_the_page_stays_usable(
    page, import_service, admin_name, disqus_file, truncated_file
):
    before = counts(import_service)
    log_in(page, import_service, admin_name)
    open_import_page(page, import_service)

    assert submit(page, truncated_file, "Import") == 400
    upload = page.get_by_label("Export file")
    error = page.locator("#upload-error")
    expect(error).to_have_text(re.compile(r"^This file cannot be imported: \S"))
    expect(error).to_be_visible()
    expect(upload).to_have_attribute("aria-invalid", "true")
    expect(upload).to_have_accessible_description(re.compile("This file cannot be imported"))
    expect(report(page)).to_have_count(0)
    assert counts(import_service) == before

    # The same page takes the next file: a dry run of the whole export reports and clears it.
    assert submit(page, disqus_file, "Dry run") == 200
    expect(report(page).get_by_role("heading", level=2)).to_have_text(
        "Dry run of an import from Disqus: nothing was saved"
    )
    expect(page.locator("#upload-error")).to_have_count(0)
    expect(upload).to_have_attribute("aria-invalid", "false")
    assert counts(import_service) == before
    no_traceback(import_service)


def test_import_page_has_no_serious_accessibility_violations(
    browser, import_service, admin_name, disqus_file, truncated_file, axe_script
):
    context = browser.new_context(bypass_csp=True)  # to inject axe under the strict CSP
    page = context.new_page()
    log_in(page, import_service, admin_name)
    open_import_page(page, import_service)
    assert serious_violations(page, axe_script) == []

    assert submit(page, disqus_file, "Dry run") == 200
    expect(report(page)).to_be_visible()
    assert serious_violations(page, axe_script) == []

    assert submit(page, truncated_file, "Dry run") == 400
    expect(page.locator("#upload-error")).to_be_visible()
    assert serious_violations(page, axe_script) == []

    page.get_by_label("Format").select_option("blogger")  # the wrong format for the file
    page.get_by_label("Export file").set_input_files(disqus_file)
    page.get_by_role("button", name="Dry run", exact=True).click()
    expect(page.locator("#upload-error")).to_contain_text("this is not a Blogger export")
    assert serious_violations(page, axe_script) == []
    context.close()


def test_keyboard_alone_fills_the_form_and_enter_only_dry_runs(
    page, import_service, admin_name, disqus_file
):
    before = counts(import_service)
    log_in(page, import_service, admin_name)
    open_import_page(page, import_service)
    upload = page.get_by_label("Export file")
    upload.set_input_files(disqus_file)  # the file chooser is the system's, not the page's
    upload.focus()

    page.keyboard.press("Tab")
    expect(page.get_by_label("Format")).to_be_focused()
    page.keyboard.type("d")
    expect(page.get_by_label("Format")).to_have_value("disqus")
    page.keyboard.press("Tab")
    expect(page.get_by_label("Site")).to_be_focused()
    page.keyboard.press("Tab")
    status = page.get_by_label("Comments the old blog showed are")
    expect(status).to_be_focused()
    page.keyboard.type("p")
    expect(status).to_have_value("pending")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Dry run", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Import", exact=True)).to_be_focused()

    # Enter in a text field submits with the first button, the dry run: nothing is saved.
    page.get_by_label("Site").focus()
    page.keyboard.press("Enter")
    expect(report(page).get_by_role("heading", level=2)).to_have_text(
        re.compile("^Dry run of an import from Disqus")
    )
    expect(page.get_by_label("Comments the old blog showed are")).to_have_value("pending")
    assert counts(import_service) == before
