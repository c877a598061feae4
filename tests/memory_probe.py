"""Run by test_memory_diet.py in a fresh process (settings from the environment):

    python -m tests.memory_probe WATCHED_JSON [EXPORT_FILE]

creates the app and prints, as JSON, which of the watched modules it has loaded; with an
export file, also after serving each kind of reader request, after visiting every moderator
page and dry-running an import of the file (Disqus), and after /api/openapi.json, with the
status of every request. Only the standard library and commentsvc are imported here, so what
is loaded is the app's doing.
"""

from __future__ import annotations

import io
import json
import re
import sys

READER_PATHS = (
    "/healthz",
    "/",
    "/demo",
    "/embed.js",
    "/count.js",
    "/widget.css",
    "/api/counts?uri=/probe.html&uri=/none.html",
    "/comments?uri=/probe.html",
    "/feed/thread.atom?uri=/probe.html",
    "/feed/recent.atom",
)
ADMIN_PATHS = (
    "/admin/",
    "/admin/threads",
    "/admin/bans",
    "/admin/words",
    "/admin/moderators",
    "/admin/audit",
    "/admin/password",
    "/admin/import",
)
_CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def loaded(watched: list[str]) -> list[str]:
    return sorted(name for name in watched if name in sys.modules)


def read_and_post(client, statuses: dict[str, int]) -> None:
    """A reader's requests: the thread, a post, a vote, a preview, the pages and feeds."""
    thread = client.get("/api/threads?uri=/probe.html")
    statuses["GET /api/threads"] = thread.status_code
    posted = client.post(
        "/api/comments",
        json={
            "uri": "/probe.html",
            "text": "A *probe* with a [link](https://example.com).",
            "author": "Probe",
            "form_token": client.get("/api/form-token?uri=/probe.html").get_json()["form_token"],
        },
    )
    statuses["POST /api/comments"] = posted.status_code
    voted = client.post(
        f"/api/comments/{posted.get_json()['id']}/vote", json={"value": 1, "voter": "v" * 32}
    )
    statuses["POST /api/comments/<id>/vote"] = voted.status_code
    statuses["POST /api/preview"] = client.post("/api/preview", json={"text": "*hi*"}).status_code
    for path in READER_PATHS:
        statuses[f"GET {path}"] = client.get(path).status_code


def moderate(app, client, export: str, statuses: dict[str, int]) -> None:
    """An admin logs in, opens every moderator page and dry-runs an import of `export`."""
    from werkzeug.security import generate_password_hash

    from commentsvc.extensions import db
    from commentsvc.models import Moderator, Role

    password = "probe password 1"  # noqa: S105  (a throwaway account of this process)
    with app.app_context():
        db.session.add(
            Moderator(
                name="boss",
                email="boss@example.com",
                role=Role.admin,
                password_hash=generate_password_hash(password),
                active=True,
            )
        )
        db.session.commit()
    token = _CSRF.search(client.get("/admin/login").get_data(as_text=True))[1]
    statuses["POST /admin/login"] = client.post(
        "/admin/login", data={"name": "boss", "password": password, "csrf_token": token}
    ).status_code
    for path in ADMIN_PATHS:
        statuses[f"GET {path}"] = client.get(path).status_code
    token = _CSRF.search(client.get("/admin/import").get_data(as_text=True))[1]
    with open(export, "rb") as file:
        content = file.read()
    response = client.post(
        "/admin/import",
        content_type="multipart/form-data",
        data={
            "fmt": "disqus",
            "site": "default",
            "status": "approved",
            "dry_run": "y",
            "csrf_token": token,
            "upload": (io.BytesIO(content), "export.xml"),
        },
    )
    page = response.get_data(as_text=True)
    statuses["POST /admin/import (dry run)"] = (
        response.status_code if "Dry run of an import from Disqus" in page else 500
    )


def main() -> None:
    watched = json.loads(sys.argv[1])
    from commentsvc import create_app

    app = create_app()
    report: dict = {"created": loaded(watched)}
    if len(sys.argv) > 2:
        statuses: dict[str, int] = {}
        client = app.test_client()
        read_and_post(client, statuses)
        report["served readers"] = loaded(watched)
        moderate(app, client, sys.argv[2], statuses)
        report["served moderators"] = loaded(watched)
        openapi = client.get("/api/openapi.json")
        statuses["GET /api/openapi.json"] = (
            openapi.status_code if "openapi" in (openapi.get_json() or {}) else 500
        )
        report["served the API description"] = loaded(watched)
        report["statuses"] = statuses
    print(json.dumps(report))


if __name__ == "__main__":
    main()
