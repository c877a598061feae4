"""Signed tokens: edit tokens for a reader's own comment, and form tokens against bots."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

EDIT_SALT = "commentsvc.edit"
FORM_SALT = "commentsvc.form"
OWN_PENDING_MAX_AGE = 30 * 86400  # how long a reader keeps seeing their own held comment


class InvalidToken(Exception):
    """Forged, malformed or for another comment."""


class ExpiredToken(Exception):
    """Genuine but older than allowed."""


def _serializer(secret_key: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=salt)


def issue_edit_token(secret_key: str, comment_id: int) -> str:
    return _serializer(secret_key, EDIT_SALT).dumps({"c": comment_id})


def edit_token_comment(secret_key: str, token: str, max_age: int) -> int:
    """The comment id an edit token grants, if it is genuine and younger than max_age seconds."""
    try:
        payload = _serializer(secret_key, EDIT_SALT).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise ExpiredToken from exc
    except BadSignature as exc:
        raise InvalidToken from exc
    comment_id = payload.get("c") if isinstance(payload, dict) else None
    if not isinstance(comment_id, int) or isinstance(comment_id, bool):
        raise InvalidToken
    return comment_id


def own_comment_ids(secret_key: str, tokens: list[str]) -> set[int]:
    """Ids of the comments whose edit tokens a reader holds; bad tokens are ignored."""
    ids = set()
    for token in tokens[:50]:
        try:
            ids.add(edit_token_comment(secret_key, token.strip(), OWN_PENDING_MAX_AGE))
        except (InvalidToken, ExpiredToken):
            continue
    return ids


def issue_form_token(secret_key: str) -> str:
    return _serializer(secret_key, FORM_SALT).dumps(secrets.token_hex(4))


def form_token_problem(secret_key: str, token: object, *, min_age: int, max_age: int) -> str | None:
    """Why a form token marks its post as a bot's, or None when it is a person's."""
    if not isinstance(token, str) or not token:
        return "form token missing"
    try:
        _, issued = _serializer(secret_key, FORM_SALT).loads(
            token, max_age=max_age, return_timestamp=True
        )
    except SignatureExpired:
        return "form token too old"
    except BadSignature:
        return "form token forged"
    if time.time() - issued.timestamp() < min_age:
        return "posted too fast"
    return None


def keyed_hash(secret_key: str, value: str, length: int = 32) -> str:
    """A stable, non-reversible digest of personal data (addresses, e-mails)."""
    digest = hmac.new(secret_key.encode(), value.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return digest.hexdigest()[:length]
