"""Password spraying: limits per source address across usernames (sign-in form, token
endpoint and two-factor step alike) and per account across addresses, which can't be
turned against the real user at an address they signed in from before."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django_otp.oath import totp
from rest_framework.test import APIClient

from accounts.twofactor import PENDING_SESSION_KEY, two_factor_confirm, two_factor_setup_start
from security.models import SecurityEvent
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
SPRAYED = "Winter2026!"  # the one common password tried against every username
ATTACKER = "203.0.113.66"
ADDRESS_LOCKED = "Too many failed sign-ins from your network address"


@pytest.fixture(autouse=True)
def _clock(time_machine):
    time_machine.move_to(datetime(2026, 3, 2, 9, 0, 5, tzinfo=UTC), tick=False)


@pytest.fixture
def users():
    return [UserFactory(username=f"user{n:02d}") for n in range(30)]


def sign_in(client, username: str, password: str, address: str = ATTACKER):
    return client.post(
        reverse("login"), {"username": username, "password": password}, REMOTE_ADDR=address
    )


def ask_token(username: str, password: str, address: str = ATTACKER, otp: str = ""):
    body = {"username": username, "password": password}
    if otp:
        body["otp"] = otp
    return APIClient().post(TOKEN_URL, body, format="json", REMOTE_ADDR=address)


def test_spraying_one_password_over_thirty_usernames_is_stopped_at_the_address_limit(
    client, users, settings
):
    statuses = [sign_in(client, user.username, SPRAYED).status_code for user in users]
    limit = settings.SIGN_IN_ADDRESS_FAILURE_LIMIT
    assert limit < len(users)
    assert statuses[:limit] == [200] * limit  # the form again, "wrong password"
    assert set(statuses[limit:]) == {429}
    refused = sign_in(client, users[-1].username, TEST_PASSWORD)
    # Even the right password is not checked from that address now.
    assert refused.status_code == 429
    assert ADDRESS_LOCKED in refused.content.decode()
    assert "_auth_user_id" not in client.session
    assert refused["Retry-After"] == "900"
    # Logged once, when the limit was reached.
    lock = SecurityEvent.objects.get(kind="lockout", detail__startswith="address locked")
    assert lock.ip_address == ATTACKER


def test_the_address_limit_spares_other_addresses(client, users, settings):
    for user in users[: settings.SIGN_IN_ADDRESS_FAILURE_LIMIT]:
        sign_in(client, user.username, SPRAYED)
    assert sign_in(client, users[0].username, TEST_PASSWORD, "198.51.100.5").status_code == 302


def test_the_address_limit_lifts_after_the_cool_off(client, users, settings, time_machine):
    for user in users[: settings.SIGN_IN_ADDRESS_FAILURE_LIMIT]:
        sign_in(client, user.username, SPRAYED)
    assert sign_in(client, users[0].username, TEST_PASSWORD).status_code == 429
    time_machine.shift(timedelta(minutes=16))
    assert sign_in(client, users[0].username, TEST_PASSWORD).status_code == 302


def test_the_token_endpoint_shares_the_address_limit(client, users, settings):
    # Some through the API (fewer than its own 10/min throttle), the rest through the form:
    # one counter.
    limit = settings.SIGN_IN_ADDRESS_FAILURE_LIMIT
    for n, user in enumerate(users[:limit]):
        if n % 4 == 0:
            ask_token(user.username, SPRAYED)
        else:
            sign_in(client, user.username, SPRAYED)
    refused = ask_token(users[-1].username, TEST_PASSWORD)
    assert refused.status_code == 429
    assert refused.json()["code"] == "locked_out"
    assert ADDRESS_LOCKED in refused.json()["detail"]


def test_usernames_that_do_not_exist_count_too(client, settings):
    limit = settings.SIGN_IN_ADDRESS_FAILURE_LIMIT
    for n in range(limit):
        sign_in(client, f"ghost{n}", SPRAYED)
    assert sign_in(client, "ghost-last", SPRAYED).status_code == 429


# --- One account attacked from many addresses ---------------------------------------------


@pytest.fixture
def victim():
    return UserFactory(username="victim")


def attack_from_many_addresses(client, settings, username: str = "victim") -> None:
    for n in range(settings.SIGN_IN_ACCOUNT_FAILURE_LIMIT):
        sign_in(client, username, f"guess-{n}", address=f"198.18.{n // 200}.{n % 200 + 1}")


def test_an_account_attacked_from_many_addresses_is_refused_from_new_addresses(
    client, settings, victim
):
    settings.SIGN_IN_ACCOUNT_FAILURE_LIMIT = 12
    attack_from_many_addresses(client, settings)
    refused = sign_in(client, "victim", TEST_PASSWORD, address="198.51.100.200")
    assert refused.status_code == 429
    assert "Too many failed sign-ins for this account" in refused.content.decode()
    assert SecurityEvent.objects.filter(detail__startswith="account locked").count() == 1


def test_the_account_lock_cannot_keep_the_real_user_out_of_their_usual_address(
    client, settings, victim
):
    settings.SIGN_IN_ACCOUNT_FAILURE_LIMIT = 12
    home = "192.0.2.10"
    assert sign_in(client, "victim", TEST_PASSWORD, address=home).status_code == 302
    client.post(reverse("logout"), REMOTE_ADDR=home)
    attack_from_many_addresses(client, settings)
    assert sign_in(client, "victim", TEST_PASSWORD, address=home).status_code == 302


# --- The two-factor step ------------------------------------------------------------------


@pytest.fixture
def enable_two_factor(time_machine):
    def enable(user):
        device = two_factor_setup_start(user=user)
        two_factor_confirm(user=user, code=_code(device))
        time_machine.shift(30)  # the next code: the one used to confirm is spent
        return device

    return enable


def _code(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0):06d}"


def test_the_two_factor_step_is_refused_once_its_address_is_locked(
    client, users, settings, enable_two_factor
):
    enable_two_factor(users[0])
    assert sign_in(client, users[0].username, TEST_PASSWORD).status_code == 302
    for user in users[1 : settings.SIGN_IN_ADDRESS_FAILURE_LIMIT + 1]:
        sign_in(client, user.username, SPRAYED)
    response = client.post(reverse("login_verify"), {"code": "123456"}, REMOTE_ADDR=ATTACKER)
    assert response.status_code == 429
    assert PENDING_SESSION_KEY not in client.session


def test_a_wrong_code_backs_off_only_at_the_address_it_came_from(
    client, settings, victim, enable_two_factor
):
    device = enable_two_factor(victim)
    attacker, real_user = client, type(client)()
    # Someone who knows the password guesses codes...
    sign_in(attacker, "victim", TEST_PASSWORD)
    attacker.post(reverse("login_verify"), {"code": "000000"}, REMOTE_ADDR=ATTACKER)
    told_to_wait = attacker.post(reverse("login_verify"), {"code": "000000"}, REMOTE_ADDR=ATTACKER)
    assert "Too many wrong codes: wait" in told_to_wait.content.decode()
    # ...which does not hold up the real user at their own address.
    home = "192.0.2.10"
    sign_in(real_user, "victim", TEST_PASSWORD, address=home)
    done = real_user.post(reverse("login_verify"), {"code": _code(device)}, REMOTE_ADDR=home)
    assert done.status_code == 302
    assert int(real_user.session["_auth_user_id"]) == victim.pk


def test_five_submissions_abandon_the_sign_in_even_while_told_to_wait(
    client, victim, enable_two_factor
):
    enable_two_factor(victim)
    sign_in(client, "victim", TEST_PASSWORD)
    answers = [
        client.post(reverse("login_verify"), {"code": "000000"}, REMOTE_ADDR=ATTACKER)
        for _ in range(5)
    ]
    # No time passes: after the first wrong code every try is "wait", yet they count.
    assert "Too many wrong codes: wait" in answers[1].content.decode()
    assert answers[-1].status_code == 302
    assert answers[-1].url == reverse("login")
    assert PENDING_SESSION_KEY not in client.session


def test_the_token_endpoint_code_backs_off_per_address(settings, victim, enable_two_factor):
    device = enable_two_factor(victim)
    ask_token("victim", TEST_PASSWORD, otp="000000")
    told_to_wait = ask_token("victim", TEST_PASSWORD, otp="000001").json()
    assert "Too many wrong codes: wait" in str(told_to_wait), told_to_wait
    fine = ask_token("victim", TEST_PASSWORD, address="192.0.2.10", otp=_code(device))
    assert fine.status_code == 201


# --- What the log keeps of a mistyped username --------------------------------------------


def test_a_password_typed_as_the_username_never_reaches_the_log_or_the_attempts(client, caplog):
    from axes.models import AccessAttempt

    secret = "correct horse battery staple 99"
    sign_in(client, secret, "x")
    failed = SecurityEvent.objects.get(kind="login_failed")
    assert secret not in failed.username
    assert failed.username.startswith("unknown user #")
    assert secret not in caplog.text
    assert not AccessAttempt.objects.filter(username__contains="horse").exists()
    # The same mistake twice is recognisable as the same (a keyed hash groups them).
    sign_in(client, secret, "x")
    assert SecurityEvent.objects.filter(username=failed.username).count() == 2


def test_a_real_username_is_still_recorded_as_typed(client, victim):
    sign_in(client, "victim", "wrong")
    assert SecurityEvent.objects.get(kind="login_failed").username == "victim"
