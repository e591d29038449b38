"""A new password and the API tokens: whoever knew the old password could have made tokens
with it (POST /api/v1/auth/token/), so a password change or reset offers to revoke them all,
ticked by default, and the next page says what became of them."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.tokens import token_create
from security.models import SecurityEvent
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

NEW = "a brand new passphrase 2026"


@pytest.fixture
def raw_tokens(manager_a) -> list[str]:
    return [token_create(user=manager_a, name=f"Sync {n}")[1] for n in range(2)]


def api_works(raw: str) -> bool:
    response = APIClient().get("/api/v1/users/", HTTP_AUTHORIZATION=f"Bearer {raw}")
    return response.status_code == 200


def change_password(client, **extra):
    data = {"old_password": TEST_PASSWORD, "new_password1": NEW, "new_password2": NEW, **extra}
    return client.post(reverse("password_change"), data, follow=True)


def reset_page(client, user) -> str:
    """The reset link's page (Django moves the token into the session and redirects)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = reverse("password_reset_confirm", args=[uid, default_token_generator.make_token(user)])
    return client.get(link, follow=True).redirect_chain[-1][0]


def test_a_password_change_offers_to_revoke_the_api_tokens_ticked_by_default(
    client, manager_a, raw_tokens
):
    client.force_login(manager_a)
    html = client.get(reverse("password_change")).content.decode()
    assert "Also revoke my 2 API tokens" in html
    assert re.search(r'<input type="checkbox" name="revoke_tokens"[^>]* checked', html)


def test_changing_the_password_revokes_the_api_tokens_when_ticked(client, manager_a, raw_tokens):
    client.force_login(manager_a)
    response = change_password(client, revoke_tokens="on")
    assert response.status_code == 200
    assert "Your 2 API tokens were revoked" in response.content.decode()
    assert not ApiToken.objects.filter(user=manager_a, revoked_at__isnull=True).exists()
    assert not any(api_works(raw) for raw in raw_tokens)
    [event] = SecurityEvent.objects.filter(kind="token_revoked")
    assert event.detail == "all 2 API tokens revoked: password changed"


def test_unticking_keeps_the_api_tokens_and_the_page_says_so(client, manager_a, raw_tokens):
    client.force_login(manager_a)
    response = change_password(client)  # an unticked checkbox is not sent
    assert "Your 2 API tokens still work" in response.content.decode()
    assert all(api_works(raw) for raw in raw_tokens)


def test_without_tokens_the_password_change_offers_nothing_to_revoke(client, manager_a):
    client.force_login(manager_a)
    assert "revoke_tokens" not in client.get(reverse("password_change")).content.decode()
    response = change_password(client)
    assert "API token" not in response.content.decode()


def test_a_password_reset_revokes_the_api_tokens_by_default(client, manager_a, raw_tokens):
    page = reset_page(client, manager_a)
    form = client.get(page).content.decode()
    assert "Also revoke my 2 API tokens" in form
    assert re.search(r'<input type="checkbox" name="revoke_tokens"[^>]* checked', form)
    response = client.post(
        page, {"new_password1": NEW, "new_password2": NEW, "revoke_tokens": "on"}, follow=True
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Your new password is set" in html and "Your 2 API tokens were revoked" in html
    assert not any(api_works(raw) for raw in raw_tokens)
    [event] = SecurityEvent.objects.filter(kind="token_revoked")
    assert event.detail == "all 2 API tokens revoked: password reset by e-mail link"
