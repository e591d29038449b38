"""One rule for the client's address (TRUSTED_PROXIES), used by lockouts, API throttles,
the survey rate limit and the security log; forwarded headers only from trusted proxies."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory
from rest_framework.test import APIClient

from core.proxies import TrustedProxyMiddleware, client_address
from reviews import ratelimit
from security.models import SecurityEvent
from tests.factories import TEST_PASSWORD

TOKEN_URL = "/api/v1/auth/token/"


def ask_token(api: APIClient, password: str, username: str = "manager_a", **extra):
    return api.post(TOKEN_URL, {"username": username, "password": password}, format="json", **extra)


@pytest.mark.parametrize(
    ("trusted", "remote", "forwarded", "expected"),
    [
        ([], "10.0.0.9", "198.51.100.1", "10.0.0.9"),  # no proxy trusted: header ignored
        (["10.0.0.9"], "10.0.0.9", "198.51.100.1", "198.51.100.1"),
        # The client's own entries (left of what the proxy appended) are never believed.
        (["10.0.0.9"], "10.0.0.9", "6.6.6.6, 198.51.100.1", "198.51.100.1"),
        # Two proxies: walk past every trusted hop from the right.
        (["10.0.0.0/8"], "10.0.0.9", "6.6.6.6, 198.51.100.1, 10.0.0.3", "198.51.100.1"),
        # A request that did not come through the proxy: its header is the client's own.
        (["10.0.0.9"], "203.0.113.50", "198.51.100.1", "203.0.113.50"),
        (["10.0.0.9"], "10.0.0.9", "not-an-address", "10.0.0.9"),
        (["10.0.0.9"], "10.0.0.9", "", "10.0.0.9"),
        (["10.0.0.9"], "10.0.0.9", "198.51.100.1:51234", "198.51.100.1"),
        (["::1"], "::1", "[2001:db8::7]:443", "2001:db8::7"),
        ([], "::ffff:198.51.100.4", "", "198.51.100.4"),
    ],
)
def test_the_client_address_believes_only_trusted_proxies(
    settings, trusted, remote, forwarded, expected
):
    settings.TRUSTED_PROXIES = trusted
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


@pytest.mark.parametrize("trusted", [[], ["10.0.0.9"]])
def test_forwarded_headers_from_anyone_but_a_trusted_proxy_are_dropped(settings, trusted):
    settings.TRUSTED_PROXIES = trusted
    seen = {}

    def view(request):
        seen.update(request.META)
        seen["secure"] = request.is_secure()
        return HttpResponse()

    headers = {
        "HTTP_X_FORWARDED_FOR": "198.51.100.1",
        "HTTP_X_FORWARDED_PROTO": "https",
        "HTTP_X_FORWARDED_HOST": "evil.example",
        "HTTP_FORWARDED": "for=198.51.100.1;proto=https",
    }
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.50", **headers)
    TrustedProxyMiddleware(view)(request)
    # A client talking to us directly can't claim HTTPS or another address.
    assert seen["secure"] is False
    assert not {"HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO", "HTTP_FORWARDED"} & set(seen)

    seen.clear()
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.9", **headers)
    TrustedProxyMiddleware(view)(request)
    assert seen["secure"] is bool(trusted)


pytestmark = pytest.mark.django_db


def test_a_rotating_forged_forwarded_for_does_not_escape_the_token_throttle(settings, monkeypatch):
    # The attack: a new X-Forwarded-For on each request; DRF's own get_ident believed it.
    from accounts.api import TokenLoginThrottle

    monkeypatch.setattr(TokenLoginThrottle, "rate", "3/min")
    api = APIClient()
    statuses = [
        ask_token(api, "wrong", username="x", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
        for n in range(5)
    ]
    assert statuses[-1] == 429
    assert statuses.count(429) == 2


def test_behind_a_proxy_one_client_locked_out_does_not_lock_the_others(settings, manager_a):
    settings.TRUSTED_PROXIES = ["10.0.0.9"]
    api = APIClient()
    proxy = {"REMOTE_ADDR": "10.0.0.9"}
    for _ in range(5):
        ask_token(api, "wrong", HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy)
    locked = ask_token(api, TEST_PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.1", **proxy)
    assert locked.status_code == 429
    other = ask_token(api, TEST_PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.2", **proxy)
    assert other.status_code == 201
    event = SecurityEvent.objects.filter(kind="lockout").first()
    assert event.ip_address == "198.51.100.1"


def test_the_survey_rate_limit_counts_the_real_client_not_the_forged_header(settings):
    settings.FEEDBACK_RATE_LIMIT = 2
    answers = [
        ratelimit.too_many(
            RequestFactory().get(
                "/feedback/x/", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR=f"6.6.6.{n}"
            ),
            "survey",
        )
        for n in range(4)
    ]
    assert answers == [False, False, True, True]


def test_the_security_log_records_the_address_the_proxy_saw(client, settings, manager_a):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    client.post(
        "/accounts/login/",
        {"username": "manager_a", "password": "wrong"},
        REMOTE_ADDR="10.1.2.3",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 198.51.100.23",
    )
    assert SecurityEvent.objects.get(kind="login_failed").ip_address == "198.51.100.23"


def test_gunicorn_believes_forwarded_headers_only_from_the_trusted_proxies(monkeypatch):
    import importlib

    import config.gunicorn as gunicorn_settings

    monkeypatch.delenv("TRUSTED_PROXIES", raising=False)
    assert importlib.reload(gunicorn_settings).forwarded_allow_ips == ""
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.5, 10.1.0.0/16")
    assert importlib.reload(gunicorn_settings).forwarded_allow_ips == "10.0.0.5,10.1.0.0/16"
