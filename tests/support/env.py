"""The environment of a service process: this tree's code and the given COMMENTSVC_* settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the console scripts of the environment running the tests
SECRET_KEY = "server-test-secret-" + "s" * 32


def service_env(database_url: str, instance: Path, **settings: Any) -> dict[str, str]:
    """The environment of a service process: this tree's code, the given COMMENTSVC_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMENTSVC_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.update(
        {
            "COMMENTSVC_DATABASE_URL": database_url,
            "COMMENTSVC_INSTANCE_PATH": str(instance),
            "COMMENTSVC_SECRET_KEY": SECRET_KEY,
        }
    )
    for key, value in settings.items():
        env[f"COMMENTSVC_{key.upper()}"] = (
            str(value).lower() if isinstance(value, bool) else str(value)
        )
    return env


def run_command(
    database_url: str, instance: Path, *args: str, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """`commentsvc ARGS` in a process of its own on this database, as an operator runs it."""
    return subprocess.run(
        [str(BIN / "commentsvc"), *args],
        cwd=REPO,
        env=service_env(database_url, instance),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
