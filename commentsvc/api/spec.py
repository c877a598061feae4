"""The API's own description, served as JSON for clients and fuzzers."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

from flask import Response, jsonify

from . import bp


@cache
def openapi_document() -> dict[str, Any]:
    """openapi.yaml, read on the first request for it (YAML is loaded for nothing else)."""
    import yaml

    document: dict[str, Any] = yaml.safe_load(
        resources.files("commentsvc").joinpath("openapi.yaml").read_text()
    )
    return document


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi_document())
