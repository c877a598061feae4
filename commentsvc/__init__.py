"""commentsvc: self-hosted threaded comments for blogs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

PACKAGE = Path(__file__).resolve().parent
# Run from a checkout, templates/, migrations/ and instance/ sit beside the package; an
# installed wheel carries the first two inside it, and the instance folder goes where Flask
# puts an installed package's (<prefix>/var/commentsvc-instance).
CHECKOUT = PACKAGE.parent if (PACKAGE.parent / "pyproject.toml").exists() else None


def bundled(name: str) -> Path:
    """A folder the wheel carries in the package, or the checkout's own."""
    inside = PACKAGE / name
    return inside if inside.is_dir() else PACKAGE.parent / name


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the application (commentsvc.app): configuration, extensions, blueprints, error
    handlers, commands. Importing the package loads none of it, so the server's master process
    (`commentsvc run`, which imports only commentsvc.serve) stays small."""
    from .app import create_app as build

    return build(test_config)
