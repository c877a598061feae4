"""A small HTTP client for the servers the tests launch: JSON in, status, headers and body out."""

from __future__ import annotations

import http.client
import json
import urllib.parse
from dataclasses import dataclass
from typing import Any

from commentsvc.tokens import issue_form_token
from tests.support.env import SECRET_KEY
from tests.support.need import HOST


class Headers(dict):
    """Response headers by lower-case name, a repeated header (Vary) as one comma list."""

    def __init__(self, pairs: list[tuple[str, str]] = ()):  # type: ignore[assignment]
        super().__init__()
        for name, value in pairs:
            name = name.lower()
            self[name] = f"{self[name]}, {value}" if name in self else value

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return super().__contains__(name.lower() if isinstance(name, str) else name)

    def get(self, name: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(name.lower(), default)


@dataclass
class Response:
    status: int
    headers: Headers
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def send_request(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> None:
    """Write a request (body as JSON) on connection; read_response() reads its answer."""
    headers = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        connection.request(method, path, data, headers)
    except BaseException:
        connection.close()  # never reuse a connection left mid-request
        raise


def read_response(connection: http.client.HTTPConnection) -> Response:
    try:
        response = connection.getresponse()
        return Response(response.status, Headers(response.getheaders()), response.read())
    except BaseException:
        connection.close()
        raise


def exchange(
    connection: http.client.HTTPConnection,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """One request and its whole answer on connection (an HTTPS one too)."""
    send_request(connection, method, path, body, headers)
    return read_response(connection)


class Client:
    """One HTTP/1.1 connection to a local server, reopened by http.client when the server closes
    it (gunicorn's sync workers close after every response). Close it when done."""

    def __init__(self, port: int, timeout: float = 30, host: str = HOST):
        self.connection = http.client.HTTPConnection(host, port, timeout=timeout)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.connection.close()

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Response:
        return exchange(self.connection, method, path, body, headers)

    def send(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        """Write a request (body as JSON); receive() reads its answer."""
        send_request(self.connection, method, path, body, headers)

    def receive(self) -> Response:
        return read_response(self.connection)

    def thread(self, uri: str, **params: Any) -> dict[str, Any]:
        query = urllib.parse.urlencode({"uri": uri, **params})
        response = self.request("GET", f"/api/threads?{query}")
        assert response.status == 200, (response.status, response.body[:500])
        return response.json()

    def form_token(self, uri: str) -> str:
        query = urllib.parse.urlencode({"uri": uri})
        response = self.request("GET", f"/api/form-token?{query}")
        assert response.status == 200, (response.status, response.body[:500])
        return response.json()["form_token"]

    def counts(self, uris: list[str]) -> dict[str, int]:
        query = urllib.parse.urlencode([("uri", uri) for uri in uris])
        response = self.request("GET", f"/api/counts?{query}")
        assert response.status == 200, (response.status, response.body[:500])
        return response.json()["counts"]

    def post_comment(
        self, uri: str, text: str, form_token: str | None = None, **fields: Any
    ) -> Response:
        """Post a comment; without a form token, one is made for this post (each works once)."""
        return self.request("POST", "/api/comments", comment_body(uri, text, form_token, **fields))


def comment_body(
    uri: str, text: str, form_token: str | None = None, **fields: Any
) -> dict[str, Any]:
    """A new comment's JSON; without a form token, one is made for it (each works once)."""
    if form_token is None:
        form_token = issue_form_token(SECRET_KEY, "default", uri)
    return {"uri": uri, "text": text, "form_token": form_token, **fields}


def request(
    port: int,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float = 30,
) -> Response:
    """One request on a connection of its own."""
    with Client(port, timeout) as client:
        return client.request(method, path, body, headers)


def fetch(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> Response:
    """One request to a full http:// URL, on a connection of its own."""
    parts = urllib.parse.urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    with Client(parts.port or 80, 30, parts.hostname or HOST) as client:
        return client.request(method, path or "/", body, headers)


def http_json(method: str, url: str, body=None, headers=None) -> tuple[int, Any, Headers]:
    """One JSON request to a full URL: (status, decoded body, headers)."""
    response = fetch(method, url, body, headers)
    return response.status, response.json(), response.headers


def tree_ids(comments: list[dict[str, Any]]) -> list[int]:
    """The ids of every node of a thread tree, replies included."""
    ids, pending = [], list(comments)
    while pending:
        node = pending.pop()
        ids.append(node["id"])
        pending.extend(node["replies"])
    return ids
