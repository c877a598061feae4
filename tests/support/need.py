"""Skip when a required part is missing on this machine; under CI (`CI=true`) fail instead."""

from __future__ import annotations

import os
import socket

import pytest

ON_CI = os.environ.get("CI") == "true"
HOST = "127.0.0.1"


def need(condition: bool, reason: str) -> None:
    """Skip when a required part is missing on this machine; under CI that is a failure."""
    if condition:
        return
    if ON_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    """A port nothing listens on at the moment (servers that cannot take port 0 need one)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]
