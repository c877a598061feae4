"""Isso, the comment server we compare with: its virtualenv, its settings, its server.

Isso is installed from PyPI into a virtualenv of its own, kept in a cache folder so that a
second run starts at once. It runs under the same gunicorn version as commentsvc, on
127.0.0.1 only, with an SQLite database (its only backend) in a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from _common import Server, start_gunicorn

# Newest first: the first that installs on this Python is used.
VERSIONS = ("0.14.0", "0.13.0")
READY = ".bench-ready"  # written once pip has finished: a half-built virtualenv is rebuilt


def default_venv() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "commentsvc-bench" / "isso-venv"


def ensure_venv(venv: Path) -> str:
    """Isso and gunicorn in `venv`, installed when missing; returns Isso's version."""
    gunicorn = f"gunicorn=={version('gunicorn')}"  # the same server as commentsvc's
    ready = venv / READY
    if ready.exists() and ready.read_text().split()[1:] == [gunicorn]:
        return ready.read_text().split()[0]
    shutil.rmtree(venv, ignore_errors=True)
    base_python = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base_python, "-m", "venv", str(venv)], check=True, capture_output=True)
    pip = [
        str(venv / "bin" / "python"),
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
    ]
    failures = []
    for candidate in VERSIONS:
        print(f"  installing isso=={candidate} and {gunicorn} into {venv} ...", flush=True)
        done = subprocess.run(
            [*pip, f"isso=={candidate}", gunicorn], capture_output=True, text=True, check=False
        )
        if done.returncode == 0:
            ready.write_text(f"{candidate} {gunicorn}\n")
            return candidate
        failures.append(f"isso=={candidate}: {done.stderr.strip()[-1500:]}")
    shutil.rmtree(venv, ignore_errors=True)
    raise RuntimeError("Isso would not install:\n" + "\n".join(failures))


def write_config(folder: Path, blog_url: str) -> Path:
    """Isso's settings: SQLite in `folder`, moderation off, every posting guard off.

    The guard (comments per minute per address, direct replies per thread, replies to
    oneself) is switched off, and its limits raised in case a version ignores the switch:
    seeding and the posting row send thousands of comments from one address.
    """
    config = folder / "isso.cfg"
    config.write_text(f"""\
[general]
dbpath = {folder / "comments.db"}
host = {blog_url}
max-age = 15m
gravatar = false
latest-enabled = false

[moderation]
enabled = false

[admin]
enabled = false

[guard]
enabled = false
ratelimit = 1000000
direct-reply = 1000000
reply-to-self = true
require-author = false
require-email = false
""")
    return config


def start(venv: Path, folder: Path, blog_url: str) -> Server:
    """Isso under gunicorn, 2 sync workers, on a free port of 127.0.0.1."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV") and not k.startswith("COMMENTSVC_")
    }
    env["ISSO_SETTINGS"] = str(write_config(folder, blog_url))
    # Loading the app once creates the database: two workers doing it at the same moment
    # collide on its first rows, and gunicorn stops when a worker fails to boot.
    done = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import isso.run"],
        env=env,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"Isso would not start:\n{done.stderr[-2000:]}")
    return start_gunicorn(
        "isso",
        "isso.run:application",
        folder,
        env,
        folder,
        "/?uri=/ready/",
        gunicorn=venv / "bin" / "gunicorn",
    )
