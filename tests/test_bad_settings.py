"""A bad setting is one line naming the variable, the value given and what is allowed, with
exit status 2, at every command and at app start; never a traceback, never a password."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from commentsvc import config
from commentsvc.errors import BadSetting
from tests.support.env import service_env

from .conftest import REPO

CASES = {
    "COMMENTSVC_EDIT_WINDOW=15min": (
        "COMMENTSVC_EDIT_WINDOW: '15min' is not a whole number of seconds"
    ),
    "COMMENTSVC_MODERATION=everything": (
        "COMMENTSVC_MODERATION: 'everything' is not one of all, first-time, none"
    ),
    "COMMENTSVC_RATELIMIT_ENABLED=maybe": (
        "COMMENTSVC_RATELIMIT_ENABLED: 'maybe' is not true or false"
    ),
    "COMMENTSVC_SMTP_PORT=-1": "COMMENTSVC_SMTP_PORT: '-1' is not a whole number",
    "COMMENTSVC_ALLOWED_ORIGINS=blog.example": (
        "COMMENTSVC_ALLOWED_ORIGINS: 'blog.example' is not a comma-separated list of origins"
    ),
    "COMMENTSVC_PUBLIC_URL=comments.example": (
        "COMMENTSVC_PUBLIC_URL: 'comments.example' is not an http:// or https:// URL"
    ),
    "COMMENTSVC_RATELIMIT_POST=5 a minute": (
        "COMMENTSVC_RATELIMIT_POST: '5 a minute' is not rate limits like"
    ),
    "COMMENTSVC_REDIS_URL=localhost:6379": "COMMENTSVC_REDIS_URL: the value given is not a URL",
    "COMMENTSVC_DATABASE_URL=postgres//u:hunter2@db": (
        "COMMENTSVC_DATABASE_URL: the value given is not a database URL"
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_bad_setting_is_named_with_what_is_allowed(case, tmp_path):
    name, value = case.split("=", 1)
    with pytest.raises(BadSetting) as caught:
        config.load(str(tmp_path), environ={name: value})
    assert str(caught.value).startswith(CASES[case]), caught.value
    assert "hunter2" not in str(caught.value)


def _run(args: list[str], env_change: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**service_env(f"sqlite:///{cwd / 'db.sqlite3'}", cwd), **env_change}
    return subprocess.run(
        args,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,  # noqa: S603
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("entry", ["command", "wsgi"])
@pytest.mark.parametrize(
    "case",
    [
        "COMMENTSVC_EDIT_WINDOW=15min",
        "COMMENTSVC_MODERATION=everything",
        "COMMENTSVC_DATABASE_URL=postgres//u:hunter2@db",
    ],
)
def test_commands_and_app_start_stop_with_one_line_and_status_2(case, entry, tmp_path):
    name, value = case.split("=", 1)
    if entry == "command":
        script = Path(sys.executable).parent / "commentsvc"
        result = _run([str(script), "db", "upgrade"], {name: value}, tmp_path)
    else:
        result = _run([sys.executable, "-c", "import wsgi"], {name: value}, REPO)
    assert result.returncode == 2
    assert result.stderr == f"Error: {CASES[case]}" + result.stderr.split(CASES[case], 1)[1]
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr + result.stdout


def test_true_and_false_are_read_in_their_usual_spellings(tmp_path):
    for word, meant in [
        ("1", True),
        ("Yes", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("OFF", False),
    ]:
        loaded = config.load(
            str(tmp_path), environ={"COMMENTSVC_SMTP_STARTTLS": word, "COMMENTSVC_SECRET_KEY": "k"}
        )
        assert loaded.smtp_starttls is meant
