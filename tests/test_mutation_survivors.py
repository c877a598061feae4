"""Tests written for the mutants `make mutmut` found alive in the modules that guard readers
and moderators (render, tokens, validation, moderation, security, CORS).

Mutants left alive on purpose, and why they change nothing a reader or moderator can observe:

tokens.py
- form_token_id: `token.split(".")[1]` and `token.rsplit(".", 2)[1]` for `split(".", 2)[1]`:
  a form token reaches form_token_id only after form_token_problem matched it against
  `digits.hex16.hex32`, which has exactly two dots, so all three pick the same nonce.
- issue_action_token: `secrets.token_hex(17)` or `token_hex(None)` (32 bytes) for 16 bytes of
  nonce: still unguessable, still within the 64 characters action_token_grant accepts and
  used_tokens.id stores (asserted below), so the link works and works once.
"""

from __future__ import annotations

import time

import itsdangerous
import pytest

from commentsvc import tokens
from commentsvc.models import UsedToken

SECRET = "mutation-survivors-secret-" + "k" * 32


def signed(salt: str, payload) -> str:
    """A genuine token (our key, the right salt) carrying any payload at all."""
    return itsdangerous.URLSafeTimedSerializer(SECRET, salt=salt).dumps(payload)


@pytest.fixture
def later(monkeypatch):
    """Move itsdangerous' clock `seconds` ahead (tokens carry the time they were signed)."""
    def shift(seconds: float) -> None:
        now = time.time() + seconds
        monkeypatch.setattr("itsdangerous.timed.time.time", lambda: now)
    return shift


# --- tokens.py -------------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [[7], "7", {"c": "7"}, {"c": True}, {"c": 7.0}, {}])
def test_a_genuine_edit_token_must_still_name_one_comment_by_number(payload):
    with pytest.raises(tokens.InvalidToken):
        tokens.edit_token_comment(SECRET, signed(tokens.EDIT_SALT, payload), 900)
    assert tokens.edit_token_comment(SECRET, signed(tokens.EDIT_SALT, {"c": 7}), 900) == 7


def test_a_reader_is_shown_at_most_fifty_of_their_own_comments():
    held = [tokens.issue_edit_token(SECRET, n) for n in range(1, 52)]
    assert tokens.own_comment_ids(SECRET, held) == set(range(1, 51))


def test_a_reader_sees_their_held_comment_for_thirty_days(later):
    token = tokens.issue_edit_token(SECRET, 7)
    later(tokens.OWN_PENDING_MAX_AGE - 60)
    assert tokens.own_comment_ids(SECRET, [token]) == {7}
    later(tokens.OWN_PENDING_MAX_AGE + 60)
    assert tokens.own_comment_ids(SECRET, [token]) == set()


def test_an_unknown_mail_action_is_a_programming_error_that_names_it():
    with pytest.raises(ValueError, match="not a mail action: publish"):
        tokens.issue_action_token(SECRET, 7, "publish", "mo@example.com")


def test_an_action_token_id_fits_where_used_tokens_are_kept():
    grant = tokens.action_token_grant(
        SECRET, tokens.issue_action_token(SECRET, 7, "approve", "mo@example.com"), 60)
    assert 0 < len(grant.token_id) <= UsedToken.__table__.c.id.type.length


GOOD_ACTION = {"c": 7, "a": "spam", "r": "mo@example.com", "n": "n" * 32}


@pytest.mark.parametrize("change", [
    {"c": 0}, {"c": -7}, {"c": True}, {"c": "7"},
    {"a": "publish"}, {"a": None},
    {"r": None}, {"r": ["mo@example.com"]},
    {"n": ""}, {"n": "n" * 65}, {"n": 12345},
])
def test_a_genuine_action_token_with_a_bad_field_grants_nothing(change):
    with pytest.raises(tokens.InvalidToken):
        tokens.action_token_grant(
            SECRET, signed(tokens.MAIL_ACTION_SALT, {**GOOD_ACTION, **change}), 60)


@pytest.mark.parametrize("token_id", ["n", "n" * 64])
def test_action_token_ids_of_one_to_sixty_four_characters_are_accepted(token_id):
    grant = tokens.action_token_grant(
        SECRET, signed(tokens.MAIL_ACTION_SALT, {**GOOD_ACTION, "n": token_id}), 60)
    assert (grant.comment_id, grant.action, grant.recipient, grant.token_id) == (
        7, "spam", "mo@example.com", token_id)


def test_an_action_token_that_is_not_an_object_grants_nothing():
    with pytest.raises(tokens.InvalidToken):
        tokens.action_token_grant(SECRET, signed(tokens.MAIL_ACTION_SALT, [7, "spam"]), 60)


@pytest.mark.parametrize("payload", [[3], {"s": 0}, {"s": -3}, {"s": True}, {"s": "3"}, {}])
@pytest.mark.parametrize("salt, read", [
    (tokens.CONFIRM_SALT, tokens.confirm_token_subscription),
    (tokens.UNSUBSCRIBE_SALT, tokens.unsubscribe_token_subscription),
])
def test_subscription_links_must_name_one_subscription_by_number(payload, salt, read):
    with pytest.raises(tokens.InvalidToken):
        read(SECRET, signed(salt, payload))
    assert read(SECRET, signed(salt, {"s": 3})) == 3


def test_an_opt_in_link_works_for_thirty_days_and_unsubscribing_for_ever(later):
    confirm = tokens.issue_confirm_token(SECRET, 3)
    unsubscribe = tokens.issue_unsubscribe_token(SECRET, 3)
    later(tokens.CONFIRM_MAX_AGE - 60)
    assert tokens.confirm_token_subscription(SECRET, confirm) == 3
    later(tokens.CONFIRM_MAX_AGE + 60)
    with pytest.raises(tokens.ExpiredToken):
        tokens.confirm_token_subscription(SECRET, confirm)
    later(10 * 365 * 86400)
    assert tokens.unsubscribe_token_subscription(SECRET, unsubscribe) == 3
