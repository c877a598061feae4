"""Throwaway TLS certificates for servers the tests run on 127.0.0.1."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.need import need


def make_certificate(folder: Path, name: str) -> tuple[Path, Path]:
    """A one-day self-signed certificate for 127.0.0.1 (the sender checks the host name)."""
    need(shutil.which("openssl") is not None, "openssl is missing (apt-get install -y openssl)")
    cert, key = folder / f"{name}.crt", folder / f"{name}.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key
