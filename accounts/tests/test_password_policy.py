"""The password rules (at least 12 characters, not a common password) wherever a password
is chosen, and long passphrases welcome up to 128 characters and beyond."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

TOO_SHORT = "abcdefgh123"  # 11 characters
COMMON = "password1234"  # 12 characters, but on the common-passwords list
PASSPHRASE_64 = "correct horse battery staple, tangerine kettle, violet harbour!!"
PASSPHRASE_128 = ("a quiet river bends past seven mossy stones " * 3)[:128]
SHORT_MESSAGE = "This password is too short. It must contain at least 12 characters."
COMMON_MESSAGE = "This password is too common."


def test_the_passphrases_are_the_lengths_claimed():
    assert (len(TOO_SHORT), len(COMMON)) == (11, 12)
    assert len(PASSPHRASE_64) == 64
    assert len(PASSPHRASE_128) == 128


def change_password(user, new: str):
    client = Client()
    client.force_login(user)
    response = client.post(
        reverse("password_change"),
        {"old_password": TEST_PASSWORD, "new_password1": new, "new_password2": new},
    )
    return response


@pytest.mark.parametrize(
    ("password", "message"), [(TOO_SHORT, SHORT_MESSAGE), (COMMON, COMMON_MESSAGE)]
)
def test_a_weak_new_password_is_refused_with_the_reason(manager_a, password, message):
    response = change_password(manager_a, password)
    assert response.status_code == 200
    assert message in response.content.decode()
    manager_a.refresh_from_db()
    assert manager_a.check_password(TEST_PASSWORD)


@pytest.mark.parametrize("passphrase", [PASSPHRASE_64, PASSPHRASE_128])
def test_a_long_passphrase_is_accepted_at_password_change(manager_a, passphrase):
    response = change_password(manager_a, passphrase)
    assert response.status_code == 302
    manager_a.refresh_from_db()
    assert manager_a.check_password(passphrase)


def reset_form_url(client, user) -> str:
    client.post(reverse("password_reset"), {"email": user.email})
    link = next(line for line in mail.outbox[-1].body.splitlines() if "/password/reset/" in line)
    return client.get(link.split(settings.SITE_URL, 1)[1], follow=True).redirect_chain[-1][0]


@pytest.mark.parametrize(
    ("password", "outcome"),
    [(TOO_SHORT, SHORT_MESSAGE), (COMMON, COMMON_MESSAGE), (PASSPHRASE_128, None)],
)
def test_the_same_rules_hold_for_a_reset(client, manager_a, password, outcome):
    url = reset_form_url(client, manager_a)
    response = client.post(url, {"new_password1": password, "new_password2": password})
    manager_a.refresh_from_db()
    if outcome:
        assert response.status_code == 200
        assert outcome in response.content.decode()
        assert manager_a.check_password(TEST_PASSWORD)
    else:
        assert response.status_code == 302
        assert manager_a.check_password(password)


def create_in_admin(admin_user, password: str):
    client = Client()
    client.force_login(admin_user)
    return client.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "newcomer",
            "usable_password": "true",
            "password1": password,
            "password2": password,
            "email": "newcomer@example.org",
            "role": "contributor",
        },
    )


@pytest.mark.parametrize(
    ("password", "message"), [(TOO_SHORT, SHORT_MESSAGE), (COMMON, COMMON_MESSAGE)]
)
def test_an_admin_cannot_create_a_user_with_a_weak_password(admin_user, password, message):
    response = create_in_admin(admin_user, password)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not User.objects.filter(username="newcomer").exists()


@pytest.mark.parametrize("passphrase", [PASSPHRASE_64, PASSPHRASE_128])
def test_an_admin_creates_a_user_with_a_long_passphrase(admin_user, passphrase):
    response = create_in_admin(admin_user, passphrase)
    assert response.status_code == 302
    assert User.objects.get(username="newcomer").check_password(passphrase)
