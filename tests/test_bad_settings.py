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
    "COMMENTSVC_MAIL_FROM=comments at blog.example": (
        "COMMENTSVC_MAIL_FROM: 'comments at blog.example' is not an e-mail address"
    ),
    "COMMENTSVC_MODERATOR_EMAILS=ann@blog.example, bob": (
        "COMMENTSVC_MODERATOR_EMAILS: 'ann@blog.example, bob' is not a comma-separated list "
        "of e-mail addresses"
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_a_bad_setting_is_named_with_what_is_allowed(case, tmp_path):
    name, value = case.split("=", 1)
    with pytest.raises(BadSetting) as caught:
        config.load(str(tmp_path), environ={name: value})
    assert str(caught.value).startswith(CASES[case]), caught.value
    assert "hunter2" not in str(caught.value)


def test_mail_addresses_are_taken_bare_or_with_a_name(tmp_path):
    loaded = config.load(
        str(tmp_path),
        environ={
            "COMMENTSVC_SECRET_KEY": "k",
            "COMMENTSVC_MAIL_FROM": "Old Blog <comments@blog.example>",
            "COMMENTSVC_MODERATOR_EMAILS": "ann@blog.example, bob@localhost",
        },
    )
    assert loaded.mail_from == "Old Blog <comments@blog.example>"
    assert loaded.moderator_emails == ("ann@blog.example", "bob@localhost")
    assert config.load(str(tmp_path), environ={}).mail_from == "commentsvc@localhost"


# The instance folder holds the SQLite file and the generated key: it must exist or be
# creatable, and be writable. /proc stands for a folder nobody may write to, root included.
INSTANCE_CASES = {
    "cannot be created": lambda tmp: "/proc/commentsvc-instance",
    "a file is in the way": lambda tmp: str(tmp / "a-file" / "instance"),
    "not writable": lambda tmp: "/proc",
}


@pytest.mark.parametrize("case", INSTANCE_CASES, ids=list(INSTANCE_CASES))
@pytest.mark.parametrize("secret", ["generated", "given"])
def test_an_unusable_instance_folder_is_one_line_and_status_2(case, secret, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    folder = INSTANCE_CASES[case](tmp_path)
    env = {"COMMENTSVC_INSTANCE_PATH": folder}
    script = Path(sys.executable).parent / "commentsvc"
    if secret == "given":
        env["COMMENTSVC_SECRET_KEY"] = "k" * 32
    result = _run([str(script), "db", "upgrade"], env, tmp_path, database=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith(
        f"Error: COMMENTSVC_INSTANCE_PATH: {folder!r} is not a folder this service can "
        "create and write to ("
    ), result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_a_missing_instance_folder_is_created(tmp_path):
    folder = tmp_path / "new" / "instance"
    loaded = config.load(str(folder), environ={"COMMENTSVC_SECRET_KEY": "k"})
    assert folder.is_dir()
    assert loaded.database_url == f"sqlite:///{folder / 'commentsvc.sqlite3'}"


def _run(
    args: list[str], env_change: dict[str, str], cwd: Path, database: bool = True
) -> subprocess.CompletedProcess:
    env = {**service_env(f"sqlite:///{cwd / 'db.sqlite3'}", cwd), **env_change}
    if not database:  # the defaults: the SQLite file in the instance folder, a generated key
        del env["COMMENTSVC_DATABASE_URL"], env["COMMENTSVC_SECRET_KEY"]
        env.update(env_change)
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
