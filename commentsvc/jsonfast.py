"""JSON responses through orjson: the API's replies are mostly JSON, large threads included."""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider


class FastJSONProvider(DefaultJSONProvider):
    """Serialises with orjson (keys in insertion order); parsing stays with the standard
    library, which reports malformed bodies the same way everywhere."""

    sort_keys = False
    compact = True

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return super().loads(s, **kwargs)
        except RecursionError:  # "[[[[..." thousands deep: malformed for us, not a crash
            raise ValueError("JSON nested too deeply") from None

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        try:
            return orjson.dumps(obj, default=self.default).decode()
        except orjson.JSONEncodeError:  # e.g. lone surrogates, which only the stdlib escapes
            return super().dumps(obj, **kwargs)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        obj = self._prepare_response_obj(args, kwargs)
        try:
            body = orjson.dumps(obj, default=self.default)
        except orjson.JSONEncodeError:
            body = super().dumps(obj).encode()
        # Flask types _app as its sansio base, whose Response takes no body; it is a Flask app.
        return self._app.response_class(body, mimetype=self.mimetype)  # type: ignore[arg-type,return-value]
