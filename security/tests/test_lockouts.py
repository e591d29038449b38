"""The sign-in lock also holds for the API's token endpoint; password resets have their own
limit per address. Both appear in the security log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.backends import ModelBackend
from django.core import mail
from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken
from core.errors import error_body
from security.models import SecurityEvent
from tests.factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

TOKEN_URL = "/api/v1/auth/token/"
LOCKED = "Too many failed sign-ins for this account from your address; try again in 15 minutes."


@pytest.fixture(autouse=True)
def _clock(time_machine):
    time_machine.move_to(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False)


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def ask_token(api: APIClient, password: str, username: str = "manager_a", **extra):
    return api.post(TOKEN_URL, {"username": username, "password": password}, format="json", **extra)


@pytest.fixture
def password_checks(monkeypatch) -> list[str]:
    """The usernames whose password Django actually checked."""
    checked: list[str] = []
    original = ModelBackend.authenticate

    def spy(self, request, username=None, password=None, **kwargs):
        checked.append(username)
        return original(self, request, username=username, password=password, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", spy)
    return checked


# --- The token endpoint -------------------------------------------------------------------


def test_five_failed_token_requests_lock_the_endpoint_without_checking_passwords(
    api, manager_a, password_checks
):
    for _ in range(4):
        assert ask_token(api, "wrong").status_code == 400
    fifth = ask_token(api, "wrong")
    assert fifth.status_code == 429
    assert fifth.json() == error_body("locked_out", LOCKED)
    assert len(password_checks) == 5

    locked = ask_token(api, TEST_PASSWORD)  # even the right password
    assert locked.status_code == 429
    assert locked.json() == error_body("locked_out", LOCKED)
    assert locked["Retry-After"] == "900"
    assert len(password_checks) == 5  # not checked while locked
    assert not ApiToken.objects.exists()
    lockouts = SecurityEvent.objects.filter(kind="lockout").order_by("id")
    assert [e.detail for e in lockouts] == [
        "5 failed sign-ins; sign-in locked for 15 minutes",
        "API token request refused: sign-in locked",
    ]
    assert {e.username for e in lockouts} == {"manager_a"}
    assert lockouts[0].path == TOKEN_URL
    assert SecurityEvent.objects.filter(kind="login_failed", username="manager_a").count() == 5


def test_the_sign_in_page_and_the_token_endpoint_share_one_counter(
    client, api, manager_a, password_checks
):
    for _ in range(3):
        client.post(reverse("login"), {"username": "manager_a", "password": "wrong"})
    for _ in range(2):
        ask_token(api, "wrong")
    assert ask_token(api, TEST_PASSWORD).status_code == 429
    page = client.post(reverse("login"), {"username": "manager_a", "password": TEST_PASSWORD})
    assert page.status_code == 429
    assert "locked for 15 minutes" in page.content.decode()
    assert len(password_checks) == 5


def test_the_lock_is_per_address_and_per_username(api, manager_a, manager_b):
    for _ in range(5):
        ask_token(api, "wrong")
    assert ask_token(api, TEST_PASSWORD).status_code == 429
    assert ask_token(api, TEST_PASSWORD, REMOTE_ADDR="198.51.100.7").status_code == 201
    assert ask_token(api, TEST_PASSWORD, username="manager_b").status_code == 201


def test_the_lock_lifts_after_the_cool_off(api, manager_a, time_machine):
    for _ in range(5):
        ask_token(api, "wrong")
    time_machine.shift(timedelta(minutes=14))
    assert ask_token(api, TEST_PASSWORD).status_code == 429
    cache.clear()  # the endpoint's own per-minute throttle is not what is tested here
    time_machine.shift(timedelta(minutes=2))
    assert ask_token(api, TEST_PASSWORD).status_code == 201


def test_the_lockout_answer_is_documented_in_the_schema(api, manager_a):
    schema = api.get("/api/schema/?format=json").json()
    responses = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]
    assert "429" in responses


# --- Password reset requests --------------------------------------------------------------


def ask_reset(client, email: str, **extra):
    return client.post(reverse("password_reset"), {"email": email}, **extra)


def test_more_than_five_reset_requests_for_one_address_are_refused(client, manager_a):
    for _ in range(5):
        assert ask_reset(client, "manager_a@example.org").status_code == 302
    assert len(mail.outbox) == 5
    refused = ask_reset(client, "Manager_A@example.org ")  # same address, other spelling
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Too many password reset requests for this address; try again in 15 minutes." in page
    assert 'name="email"' in page  # the form again, with the message
    assert len(mail.outbox) == 5  # no e-mail sent
    lockout = SecurityEvent.objects.get(kind="lockout")
    assert lockout.username == "Manager_A@example.org"  # as typed
    assert lockout.path == reverse("password_reset")
    assert "no e-mail sent" in lockout.detail
    assert SecurityEvent.objects.filter(kind="password_reset_requested").count() == 5


def test_the_reset_limit_counts_per_address_and_client(client, manager_a, manager_b):
    for _ in range(6):
        ask_reset(client, "manager_a@example.org")
    assert ask_reset(client, "manager_b@example.org").status_code == 302
    elsewhere = ask_reset(client, "manager_a@example.org", REMOTE_ADDR="198.51.100.7")
    assert elsewhere.status_code == 302
    assert len(mail.outbox) == 5 + 2


def test_the_reset_limit_lifts_after_fifteen_minutes(client, manager_a, time_machine):
    for _ in range(6):
        ask_reset(client, "manager_a@example.org")
    time_machine.shift(timedelta(minutes=16))
    assert ask_reset(client, "manager_a@example.org").status_code == 302
    assert len(mail.outbox) == 6


def test_unknown_addresses_count_too_and_still_reveal_nothing(client):
    for _ in range(5):
        response = ask_reset(client, "nobody@example.org", follow=True)
        assert "If an account uses that address" in response.content.decode()
    assert ask_reset(client, "nobody@example.org").status_code == 429
    assert not mail.outbox


def test_the_reset_limit_fails_open_when_the_cache_is_down(client, manager_a, monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache unreachable")

    monkeypatch.setattr(LocMemCache, "add", broken)
    for _ in range(7):
        assert ask_reset(client, "manager_a@example.org").status_code == 302
    assert len(mail.outbox) == 7


def test_an_invalid_address_is_a_form_error_not_a_count(client, manager_a):
    for _ in range(8):
        response = ask_reset(client, "not an address")
        assert response.status_code == 200
        assert "Enter a valid email address." in response.content.decode()
    assert ask_reset(client, "manager_a@example.org").status_code == 302


def test_a_locked_sign_in_page_says_how_long(client):
    UserFactory(username="ann")
    for _ in range(5):
        client.post(reverse("login"), {"username": "ann", "password": "wrong"})
    response = client.post(reverse("login"), {"username": "ann", "password": TEST_PASSWORD})
    assert response.status_code == 429
    assert "is locked for 15 minutes" in response.content.decode()
    assert SecurityEvent.objects.filter(kind="lockout", username="ann").exists()
