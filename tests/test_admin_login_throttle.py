"""Wrong moderator passwords slow down one address, never lock the account for everyone."""

from __future__ import annotations

import time
import uuid
from functools import partial

import pytest

from tests.support.admin import PASSWORD, login, make_moderator

from .settings_helpers import change_settings

A, B = "198.51.100.7", "203.0.113.9"


@pytest.fixture
def throttled(settings, request):
    """Rate limits on, under a key prefix of this test's own (a shared store keeps old keys);
    the app reads the limits at each request, so a test may change them with the function
    this returns."""
    settings.update(RATELIMIT_ENABLED=True, RATELIMIT_KEY_PREFIX=f"t{uuid.uuid4().hex[:10]}")
    return partial(change_settings, request.getfixturevalue("app"))


def client_at(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_wrong_passwords_from_one_address_do_not_lock_out_another(throttled, app):
    make_moderator(app, "ann")
    attacker = client_at(app, A)
    codes = [login(attacker, "ann", f"guess {i}").status_code for i in range(12)]
    assert codes[:5] == [401] * 5
    assert set(codes[5:]) == {429}

    owner = client_at(app, B)
    assert login(owner, "ann", PASSWORD).status_code == 303
    assert owner.get("/admin/").status_code == 200

    refused = login(attacker, "ann", "one more guess")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Too many attempts" in refused.get_data(as_text=True)


def test_failures_by_name_and_by_email_share_one_counter(throttled, app):
    throttled(RATELIMIT_LOGIN="4 per minute", RATELIMIT_LOGIN_ADDRESS="50 per minute")
    make_moderator(app, "ann", email="ann@example.com")
    make_moderator(app, "bob")
    here = client_at(app, A)
    for name in ("ann", "  ANN ", "ann@example.com", " Ann@Example.COM"):
        assert login(here, name, "wrong password").status_code == 401
    assert login(here, "ann", "wrong password").status_code == 429
    assert login(here, "ann@example.com", "wrong password").status_code == 429
    assert login(here, "ANN@example.com", PASSWORD).status_code == 429
    # Only ann from this address is slowed down: another account from here, ann from elsewhere.
    assert login(client_at(app, A), "bob", PASSWORD).status_code == 303
    assert login(client_at(app, B), "ann@example.com", PASSWORD).status_code == 303


def test_correct_password_from_a_throttled_address_waits_for_the_window(throttled, app):
    throttled(RATELIMIT_LOGIN="3 per 3 seconds", RATELIMIT_LOGIN_ADDRESS="50 per minute")
    make_moderator(app, "ann")
    here = client_at(app, A)
    started = time.monotonic()
    for _ in range(3):
        assert login(here, "ann", "wrong password").status_code == 401
    refused = login(here, "ann", PASSWORD)
    if time.monotonic() - started >= 3:  # too slow a machine to fit three tries in the window
        pytest.fail("three logins took longer than the test's 3-second window")
    assert refused.status_code == 429
    wait = int(refused.headers["Retry-After"])
    assert 1 <= wait <= 3
    time.sleep(wait + 0.2)
    assert login(here, "ann", PASSWORD).status_code == 303


def test_one_address_is_throttled_across_accounts(throttled, app):
    throttled(RATELIMIT_LOGIN="5 per minute", RATELIMIT_LOGIN_ADDRESS="6 per minute")
    make_moderator(app, "ann")
    here = client_at(app, A)
    codes = [login(here, f"user{i}", "wrong password").status_code for i in range(6)]
    assert codes == [401] * 6
    assert login(here, "ann", PASSWORD).status_code == 429  # the address spent its tries
    assert login(client_at(app, B), "ann", PASSWORD).status_code == 303


def test_unknown_names_answer_like_known_ones(throttled, app, monkeypatch):
    """Same status codes, same throttle, and a password hash checked either way."""
    from commentsvc import accounts

    make_moderator(app, "ann")
    checked = []
    real_check = accounts.check_password_hash
    monkeypatch.setattr(
        accounts,
        "check_password_hash",
        lambda stored, given: checked.append(stored) or real_check(stored, given),
    )
    known = [login(client_at(app, A), "ann", "wrong").status_code for _ in range(6)]
    unknown = [login(client_at(app, B), "nobody", "wrong").status_code for _ in range(6)]
    assert known == unknown == [401] * 5 + [429]
    assert len(checked) == 10  # every answered try checked a hash, the throttled ones none


def test_correct_logins_do_not_count(throttled, app):
    throttled(RATELIMIT_LOGIN="2 per minute", RATELIMIT_LOGIN_ADDRESS="2 per minute")
    make_moderator(app, "ann")
    for _ in range(4):
        assert login(client_at(app, A), "ann", PASSWORD).status_code == 303


def test_no_throttle_when_rate_limits_are_off(app):
    make_moderator(app, "ann")
    here = client_at(app, A)
    assert {login(here, "ann", "wrong").status_code for _ in range(8)} == {401}
    assert login(here, "ann", PASSWORD).status_code == 303


@pytest.mark.parametrize("name", ["ann\x00", "\x00", "ann\u202e", "a" * 254])
def test_a_name_no_account_can_have_is_a_wrong_login(throttled, app, name):
    make_moderator(app, "ann")
    response = login(client_at(app, A), name, PASSWORD)
    assert response.status_code == 401
    assert "Wrong name or password." in response.get_data(as_text=True)


def test_a_name_that_is_another_moderators_email_logs_in_by_name(throttled, app):
    make_moderator(app, "bob", email="bob@example.com")
    named = make_moderator(app, "bob@example.com", email="other@example.com")
    here = client_at(app, A)
    assert login(here, "BOB@example.com", PASSWORD).status_code == 303
    with here.session_transaction() as session:
        assert session["_user_id"] == str(named)
    assert login(client_at(app, B), "bob", PASSWORD).status_code == 303
