"""The wheel carries everything the service needs (templates, migrations, static files), and
`commentsvc run` serves only a database whose schema is current."""

from __future__ import annotations

import http.cookiejar
import re
import subprocess
import sys
import sysconfig
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.support.admin import PASSWORD
from tests.support.env import service_env
from tests.support.http import fetch
from tests.support.need import free_port
from tests.support.server import Server

from .conftest import REPO

SCRIPTS = Path(sys.executable).parent


def _command(script: Path, *args: str, env: dict, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(script), *args],
        env=env,
        cwd=cwd,
        capture_output=True,  # noqa: S603
        text=True,
        timeout=120,
        check=False,
    )


def _env(tmp_path: Path) -> dict[str, str]:
    """A service's settings, on a database in tmp_path. The checkout stays off the path, and
    the instance folder is left to its default: the installed wheel must find everything
    without them (service_env would set both)."""
    env = service_env(f"sqlite:///{tmp_path / 'db.sqlite3'}", tmp_path, mail_background=False)
    env.pop("PYTHONPATH")
    env.pop("COMMENTSVC_INSTANCE_PATH")
    return env


def test_run_refuses_an_empty_database_and_says_how_to_create_it(tmp_path):
    result = _command(
        SCRIPTS / "commentsvc", "run", "--port", str(free_port()), env=_env(tmp_path), cwd=tmp_path
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "Error: the database is empty: create its tables with `commentsvc db upgrade`"
    )


def test_run_refuses_a_database_behind_the_release(tmp_path):
    env = _env(tmp_path)
    assert (
        _command(SCRIPTS / "commentsvc", "db", "upgrade", "0005", env=env, cwd=tmp_path).returncode
        == 0
    )
    result = _command(
        SCRIPTS / "commentsvc", "run", "--port", str(free_port()), env=env, cwd=tmp_path
    )
    assert result.returncode == 1
    latest = max(p.name[:4] for p in (REPO / "migrations" / "versions").glob("0*.py"))
    assert (
        f"at revision 0005, this release needs {latest}: run `commentsvc db upgrade`"
        in result.stderr
    )


def _get(url: str) -> tuple[int, str]:
    response = fetch("GET", url)
    assert response.status < 400, (url, response.status)
    return response.status, response.body.decode()


def _log_in(base: str, name: str, password: str) -> int:
    """Post the login form as a browser would (its session cookie, its CSRF token); the status
    of the answer: 303 to the moderators' pages when the password is right."""

    class Stay(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    browser = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), Stay
    )
    with browser.open(base + "/admin/login", timeout=30) as page:  # noqa: S310
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.read().decode())
    assert token, "no CSRF token on the login page"
    form = urllib.parse.urlencode({"name": name, "password": password, "csrf_token": token[1]})
    try:
        with browser.open(base + "/admin/login", form.encode(), timeout=30) as answer:  # noqa: S310
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A virtual environment elsewhere with the wheel built from this checkout installed; its
    dependencies come from the test environment (a path file), commentsvc from the wheel."""
    root = tmp_path_factory.mktemp("installed")
    wheels = root / "wheels"
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",  # noqa: S603
            "-w",
            str(wheels),
            str(REPO),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    venv = root / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)],  # noqa: S603
        check=True,
        timeout=120,
    )
    python = venv / "bin" / "python"
    site = Path(
        subprocess.check_output(  # noqa: S603
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            text=True,
        ).strip()
    )
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    (wheel,) = wheels.glob("commentsvc-*.whl")
    added = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",  # noqa: S603
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert added.returncode == 0, added.stderr
    return venv


def test_the_installed_wheel_reads_nothing_from_the_checkout(installed, tmp_path):
    where = subprocess.check_output(
        [
            str(installed / "bin" / "python"),
            "-c",
            (  # noqa: S603
                "import commentsvc; app = commentsvc.create_app({'SECRET_KEY': 'k'});"
                "print(commentsvc.__file__); print(app.template_folder);"
                "print(app.config['MIGRATIONS_DIRECTORY']); print(app.instance_path)"
            ),
        ],
        cwd=tmp_path,
        text=True,
        env=_env(tmp_path),
    ).split()
    assert all(path.startswith(str(installed)) for path in where), where
    assert not any(path.startswith(str(REPO)) for path in where), where


def test_the_installed_wheel_migrates_and_serves(installed, tmp_path):
    env, script = _env(tmp_path), installed / "bin" / "commentsvc"
    upgraded = _command(script, "db", "upgrade", env=env, cwd=tmp_path)
    assert upgraded.returncode == 0, upgraded.stderr
    created = subprocess.run(
        [str(script), "create-moderator", "owner", "--email", "owner@blog.example"]
        + ["--password-stdin"],
        input=PASSWORD + "\n",
        env=env,
        cwd=tmp_path,
        capture_output=True,  # noqa: S603
        text=True,
        timeout=120,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "Moderator owner (admin) created; log in at /admin/"
    log = tmp_path / "run.log"
    with Server(env, log, workers=1, chdir=tmp_path, cli=True, commentsvc=script) as server:
        base = server.base_url
        status, page = _get(base + "/demo")
        assert status == 200 and "Persistence pays off" in page
        assert "commentsvc" in _get(base + "/embed.js")[1]
        assert 'name="password"' in _get(base + "/admin/login")[1]
        assert _log_in(base, "owner", PASSWORD) == 303  # the password read from stdin
        assert _log_in(base, "owner", PASSWORD + "!") == 401  # any other is refused
        assert "See it under a blog post" in _get(base + "/")[1]
        assert "So sieht es unter einem Blogbeitrag aus" in _get(base + "/?lang=de")[1]
    served = log.read_text()
    assert "Traceback" not in served and '"GET /demo HTTP/1.1" 200' in served
