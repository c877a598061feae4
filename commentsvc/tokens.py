"""Signed tokens: edit tokens for a reader's own comment, single-use form tokens against bots,
and the links in mails."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from typing import TypeGuard

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from .errors import ExpiredToken, InvalidToken

__all__ = ["ExpiredToken", "InvalidToken"]  # raised here; callers catch them as tokens.*

EDIT_SALT = "commentsvc.edit"
FORM_SALT = "commentsvc.form"
OWN_PENDING_MAX_AGE = 30 * 86400  # how long a reader keeps seeing their own held comment


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


FORM_TOKEN_PREFIX = "form:"  # noqa: S105  (a name prefix of used tokens, not a secret)
_FORM_TOKEN = re.compile(r"([0-9]{1,11})\.([0-9a-f]{16})\.([0-9a-f]{32})")


def _form_mac(secret_key: str, issued: int, nonce: str, site: str, uri: str) -> str:
    return keyed_hash(secret_key, f"{FORM_SALT}|{issued}|{nonce}|{site}|{uri}")


def issue_form_token(secret_key: str, site: str, uri: str, *, issued: float | None = None) -> str:
    """A token for one post to one thread: when it was issued (`issued`, Unix time, default
    now), a random id, and a signature over both and the thread, so it is worth nothing on
    another thread."""
    when, nonce = int(time.time() if issued is None else issued), secrets.token_hex(8)
    return f"{when}.{nonce}.{_form_mac(secret_key, when, nonce, site, uri)}"


def form_token_problem(
    secret_key: str, token: object, *, site: str, uri: str, min_age: int, max_age: int
) -> str | None:
    """Why a form token marks its post as a bot's, or None when it is a person's. Whether it
    was used before is the caller's question (form_token_id names it)."""
    if not isinstance(token, str) or not token:
        return "form token missing"
    parts = _FORM_TOKEN.fullmatch(token)
    if parts is None or not hmac.compare_digest(
        parts[3], _form_mac(secret_key, int(parts[1]), parts[2], site, uri)
    ):
        return "form token forged or for another thread"
    age = time.time() - int(parts[1])
    if age > max_age:
        return "form token too old"
    if age < min_age:
        return "posted too fast"
    return None


def form_token_id(token: str) -> str:
    """The name under which a used form token is remembered."""
    return FORM_TOKEN_PREFIX + token.split(".", 2)[1]


def keyed_hash(secret_key: str, value: str, length: int = 32) -> str:
    """A stable, non-reversible digest of personal data (addresses, e-mails)."""
    digest = hmac.new(secret_key.encode(), value.encode("utf-8", "surrogatepass"), hashlib.sha256)
    return digest.hexdigest()[:length]


# --- links in mails --------------------------------------------------------------------------

MAIL_ACTION_SALT = "commentsvc.mail-action"
CONFIRM_SALT = "commentsvc.subscription-confirm"
UNSUBSCRIBE_SALT = "commentsvc.unsubscribe"
MAIL_ACTIONS = ("approve", "spam", "delete")
CONFIRM_MAX_AGE = 30 * 86400  # how long a reply-notification opt-in link works


class MailAction:
    """What a one-click moderation link grants: one action on one comment, used once."""

    __slots__ = ("comment_id", "action", "recipient", "token_id")

    def __init__(self, comment_id: int, action: str, recipient: str, token_id: str):
        self.comment_id = comment_id
        self.action = action
        self.recipient = recipient
        self.token_id = token_id


def issue_action_token(secret_key: str, comment_id: int, action: str, recipient: str) -> str:
    """A signed link token for a moderator's one-click action; its random id makes it single-use."""
    if action not in MAIL_ACTIONS:
        raise ValueError(f"not a mail action: {action}")
    payload = {"c": comment_id, "a": action, "r": recipient, "n": secrets.token_hex(16)}
    return _serializer(secret_key, MAIL_ACTION_SALT).dumps(payload)


def _loads(secret_key: str, salt: str, token: str, max_age: int | None) -> object:
    try:
        return _serializer(secret_key, salt).loads(token, max_age=max_age)
    except SignatureExpired as exc:
        raise ExpiredToken from exc
    except BadSignature as exc:
        raise InvalidToken from exc


def _is_id(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def action_token_grant(secret_key: str, token: str, max_age: int) -> MailAction:
    """What a one-click moderation token grants, if it is genuine and younger than max_age."""
    payload = _loads(secret_key, MAIL_ACTION_SALT, token, max_age)
    if not isinstance(payload, dict):
        raise InvalidToken
    comment_id, action = payload.get("c"), payload.get("a")
    recipient, token_id = payload.get("r"), payload.get("n")
    if (
        not _is_id(comment_id)
        or action not in MAIL_ACTIONS
        or not isinstance(recipient, str)
        or not isinstance(token_id, str)
        or not 0 < len(token_id) <= 64
    ):
        raise InvalidToken
    return MailAction(comment_id, action, recipient, token_id)


def issue_confirm_token(secret_key: str, subscription_id: int) -> str:
    return _serializer(secret_key, CONFIRM_SALT).dumps({"s": subscription_id})


def confirm_token_subscription(secret_key: str, token: str, max_age: int = CONFIRM_MAX_AGE) -> int:
    """The subscription an opt-in link confirms."""
    payload = _loads(secret_key, CONFIRM_SALT, token, max_age)
    subscription_id = payload.get("s") if isinstance(payload, dict) else None
    if not _is_id(subscription_id):
        raise InvalidToken
    return subscription_id


def issue_unsubscribe_token(secret_key: str, subscription_id: int) -> str:
    return _serializer(secret_key, UNSUBSCRIBE_SALT).dumps({"s": subscription_id})


def unsubscribe_token_subscription(secret_key: str, token: str) -> int:
    """The subscription an unsubscribe link ends; these links never expire (RFC 8058)."""
    payload = _loads(secret_key, UNSUBSCRIBE_SALT, token, None)
    subscription_id = payload.get("s") if isinstance(payload, dict) else None
    if not _is_id(subscription_id):
        raise InvalidToken
    return subscription_id
