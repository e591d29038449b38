from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiToken
from accounts.tokens import MAX_ACTIVE_TOKENS, hash_token, token_create
from tests.api.conftest import api_error
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_throttles():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api():
    return APIClient()


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def test_unauthenticated_calls_get_401_with_a_challenge(api):
    response = api.get("/api/v1/users/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_username_and_password_issue_a_token_stored_only_as_a_hash(api, manager_a):
    response = api.post(
        "/api/v1/auth/token/",
        {"username": "manager_a", "password": TEST_PASSWORD, "name": "Sync"},
        format="json",
    )
    assert response.status_code == 201
    raw = response.json()["token"]
    assert raw.startswith("rpt_")
    token = ApiToken.objects.get()
    assert token.token_hash == hash_token(raw)
    assert raw not in {token.prefix, token.token_hash, token.name}
    assert api.get("/api/v1/users/", **bearer(raw)).status_code == 200


def test_wrong_password_issues_nothing(api, manager_a):
    response = api.post(
        "/api/v1/auth/token/", {"username": "manager_a", "password": "nope"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"
    assert not ApiToken.objects.exists()


def test_revoked_expired_and_unknown_tokens_are_refused(api, manager_a):
    _, revoked = token_create(user=manager_a, name="old")
    ApiToken.objects.filter(name="old").update(revoked_at=timezone.now())
    _, expired = token_create(
        user=manager_a, name="short", expires_at=timezone.now() + timedelta(minutes=1)
    )
    ApiToken.objects.filter(name="short").update(expires_at=timezone.now() - timedelta(seconds=1))
    for raw in (revoked, expired, "rpt_unknown", "garbage"):
        response = api.get("/api/v1/users/", **bearer(raw))
        assert response.status_code == 401, raw


def test_a_deactivated_users_token_stops_working(api, manager_a):
    _, raw = token_create(user=manager_a, name="mine")
    manager_a.is_active = False
    manager_a.save()
    assert api.get("/api/v1/users/", **bearer(raw)).status_code == 401


def test_a_read_only_token_cannot_write(api, manager_a):
    _, raw = token_create(user=manager_a, name="reader", scope="read")
    assert api.get("/api/v1/teams/", **bearer(raw)).status_code == 200
    response = api.post("/api/v1/teams/", {}, format="json", **bearer(raw))
    assert response.status_code == 403


def test_the_profile_page_creates_shows_once_and_revokes_tokens(client, manager_a):
    client.force_login(manager_a)
    response = client.post(reverse("token_new"), {"name": "Finance sync", "scope": "read"})
    assert response.status_code == 200
    token = ApiToken.objects.get()
    html = response.content.decode()
    raw = html.split('readonly value="', 1)[1].split('"', 1)[0]
    assert hash_token(raw) == token.token_hash
    assert response["Cache-Control"] == "no-store"
    assert raw not in client.get(reverse("profile")).content.decode()  # shown once only
    client.post(reverse("token_revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_nobody_revokes_someone_elses_token(client, manager_a, manager_b):
    token, _ = token_create(user=manager_b, name="theirs")
    client.force_login(manager_a)
    assert client.post(reverse("token_revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_token_form_errors_are_shown_inline(client, manager_a):
    client.force_login(manager_a)
    response = client.post(reverse("token_new"), {"name": "", "scope": "admin"})
    assert response.status_code == 400
    assert "This field is required" in response.content.decode()
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ("username=x", "application/x-www-form-urlencoded", 400),  # a form: no password
        ("username=x&password=y", "text/plain", 415),
        ('{"username": ["a"], "password": 5}', "application/json", 400),
        ('{"username": "' + "x" * 500 + '", "password": "p"}', "application/json", 400),
    ],
)
def test_bad_requests_get_4xx_never_500(api, body, content_type, status):
    response = api.generic("POST", "/api/v1/auth/token/", body, content_type=content_type)
    assert response.status_code == status


@pytest.mark.parametrize("form", ["multipart", "urlencoded"])
def test_the_token_endpoint_takes_a_form_as_well_as_json(api, manager_a, form):
    """curl -d username=… -d password=… (or -F): 415 before (issue #16)."""
    fields = {"username": "manager_a", "password": TEST_PASSWORD, "scope": "read"}
    if form == "multipart":
        response = api.post("/api/v1/auth/token/", fields, format="multipart")
    else:
        response = api.generic(
            "POST",
            "/api/v1/auth/token/",
            urlencode(fields),
            content_type="application/x-www-form-urlencoded",
        )
    assert response.status_code == 201, response.content
    assert response.json()["scope"] == "read"
    token = ApiToken.objects.get()
    assert (token.user, token.scope) == (manager_a, "read")


def test_a_form_with_a_wrong_password_is_refused_like_json(api, manager_a):
    response = api.post(
        "/api/v1/auth/token/", {"username": "manager_a", "password": "nope"}, format="multipart"
    )
    assert response.status_code == 400
    assert api_error(response)["code"] == "invalid_credentials"
    assert not ApiToken.objects.exists()


def test_a_body_neither_json_nor_a_form_is_415_naming_what_is_taken(api):
    response = api.generic("POST", "/api/v1/auth/token/", "username=x", content_type="text/csv")
    assert response.status_code == 415
    body = api_error(response)
    assert body["code"] == "unsupported_media_type"
    assert (
        "application/json, application/x-www-form-urlencoded, multipart/form-data"
        in (body["detail"])
    )


def test_the_token_endpoint_is_throttled_with_retry_after(api, manager_a):
    statuses = [
        api.post(
            "/api/v1/auth/token/", {"username": "nobody", "password": "x"}, format="json"
        ).status_code
        for _ in range(11)
    ]
    assert statuses[-1] == 429
    response = api.post("/api/v1/auth/token/", {"username": "a", "password": "b"}, format="json")
    assert int(response["Retry-After"]) > 0


def test_users_list_is_paginated_with_constant_queries(
    api, manager_a, django_assert_max_num_queries
):
    from tests.factories import UserFactory

    for n in range(30):
        UserFactory(username=f"bulk{n}", teams=[])
    api.force_authenticate(manager_a)
    with django_assert_max_num_queries(4):
        response = api.get("/api/v1/users/?page_size=100")
    body = response.json()
    assert body["count"] == 31
    assert len(body["results"]) == 31


def test_the_openapi_schema_is_valid_and_docs_load(client, manager_a):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
    client.force_login(manager_a)
    assert client.get("/api/schema/").status_code == 200
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert "cdn" not in docs.content.decode().lower()
    # Its one inline style block is allowed by hash, never by 'unsafe-inline'.
    assert "'unsafe-inline'" not in docs["Content-Security-Policy"]
    assert "'sha256-" in docs["Content-Security-Policy"]


# --- The limit of 20 working tokens ------------------------------------------------------


def _fill_to_the_limit(user) -> None:
    for n in range(MAX_ACTIVE_TOKENS):
        token_create(user=user, name=f"t{n}")


@pytest.mark.parametrize(("headers", "status"), [({}, 400), ({"HX-Request": "true"}, 200)])
def test_going_over_the_token_limit_says_why_on_the_profile_page(
    client, manager_a, headers, status
):
    _fill_to_the_limit(manager_a)
    client.force_login(manager_a)
    response = client.post(
        reverse("token_new"), {"name": "One more", "scope": "read"}, headers=headers
    )
    # htmx swaps only 2xx answers: the fragment with the message comes back as 200 there.
    assert response.status_code == status
    assert "You already have 20 active API tokens, the most you can have" in (
        response.content.decode()
    )
    assert not ApiToken.objects.filter(name="One more").exists()


def test_going_over_the_token_limit_on_the_api_answers_the_error_shape(api, manager_a):
    _fill_to_the_limit(manager_a)
    response = api.post(
        "/api/v1/auth/token/",
        {"username": "manager_a", "password": TEST_PASSWORD, "name": "One more"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "too_many_tokens"
    assert "the most you can have" in response.json()["detail"]
    assert ApiToken.objects.filter(user=manager_a).count() == MAX_ACTIVE_TOKENS


def test_expired_and_revoked_tokens_do_not_count_towards_the_limit(client, manager_a):
    _fill_to_the_limit(manager_a)
    tokens = ApiToken.objects.filter(user=manager_a).order_by("pk")
    ApiToken.objects.filter(pk=tokens[0].pk).update(expires_at=timezone.now())
    ApiToken.objects.filter(pk=tokens[1].pk).update(revoked_at=timezone.now())
    client.force_login(manager_a)
    for name in ("Replacement 1", "Replacement 2"):
        response = client.post(reverse("token_new"), {"name": name, "scope": "read"})
        assert response.status_code == 200
    response = client.post(reverse("token_new"), {"name": "One too many", "scope": "read"})
    assert response.status_code == 400
