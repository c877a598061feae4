"""Faster `create_app()` in tests: each URL rule's builder is compiled once per process.

Werkzeug turns every URL rule into Python source and compiles it, twice per rule, each time an
app is made; that is most of `create_app()`'s time, and the suite makes an app for nearly every
test. The builder's code depends only on what the key below holds, so the one compiled for an
earlier app's identical rule is reused: what `url_for` returns is the same function's result.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing.rules import Rule

_compile_builder = Rule._compile_builder
_builders: dict[tuple[Any, ...], Callable[..., tuple[str, str]]] = {}


def _reused_builder(self: Rule, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
    defaults = self.defaults or {}
    if any(dynamic and part in defaults for dynamic, part in self._trace):
        return _compile_builder(self, append_unknown)  # a default baked into the code: no reuse
    key = (self.rule, tuple(self._trace), tuple(str(k) for k in defaults), append_unknown)
    builder = _builders.get(key)
    if builder is None:
        builder = _builders[key] = _compile_builder(self, append_unknown)
    return builder


def reuse_url_builders() -> None:
    """Compile each rule's builder once per process (call before the first app is made)."""
    Rule._compile_builder = _reused_builder  # type: ignore[method-assign]
