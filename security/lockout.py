"""Lockouts beyond the sign-in form, on the same terms (django-axes' settings).

- The sign-in page and ``POST /api/v1/auth/token/`` share axes' counter of failures per
  username and address: ``AXES_FAILURE_LIMIT`` failures lock that pair for
  ``AXES_COOLOFF_TIME``. ``lockout_response`` is axes' AXES_LOCKOUT_CALLABLE: the page for
  people, the project's JSON error for the API.
- Password reset requests are counted per e-mail address and client address in the cache:
  more than ``AXES_FAILURE_LIMIT`` within ``AXES_COOLOFF_TIME`` are refused.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from security.models import SecurityEvent
from security.services import client_ip, security_event_record

logger = logging.getLogger("rapport.security")

LOCKED_OUT_CODE = "locked_out"


def is_api_request(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


def _cooloff() -> timedelta:
    return settings.AXES_COOLOFF_TIME


def cooloff_words(delta: timedelta | None = None) -> str:
    """“15 minutes”, “2 hours”: how long a lock lasts, for messages."""
    minutes = round((delta or _cooloff()).total_seconds() / 60)
    if minutes >= 120 and minutes % 60 == 0:
        return f"{minutes // 60} hours"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def sign_in_lockout_message() -> str:
    return (
        "Too many failed sign-ins for this account from your address; "
        f"try again in {cooloff_words()}."
    )


def password_reset_lockout_message() -> str:
    return (
        "Too many password reset requests for this address; "
        f"try again in {cooloff_words()}. No e-mail was sent."
    )


def api_lockout_response() -> JsonResponse:
    response = JsonResponse(
        {"code": LOCKED_OUT_CODE, "detail": sign_in_lockout_message()}, status=429
    )
    response["Retry-After"] = str(int(_cooloff().total_seconds()))
    return response


def lockout_response(
    request: HttpRequest, original_response: HttpResponse | None = None, credentials=None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: what a locked-out sign-in attempt answers."""
    if is_api_request(request):
        return api_lockout_response()
    response = render(
        request,
        "registration/locked_out.html",
        {"cooloff": cooloff_words(), "message": sign_in_lockout_message()},
        status=429,
    )
    response["Retry-After"] = str(int(_cooloff().total_seconds()))
    return response


def sign_in_locked(request: HttpRequest, username: str) -> bool:
    """Whether axes currently locks this username from this client (no password checked)."""
    return not AxesProxyHandler.is_allowed(request, {"username": username})


def password_reset_allowed(request: HttpRequest, email: str) -> bool:
    """Count one reset request for ``email`` from this client; False once there were more
    than AXES_FAILURE_LIMIT of them in the cool-off window (a fixed window from the first).

    Fails open: with the cache unreachable every request is allowed, because refusing all
    password resets during a cache outage would lock people out of their accounts."""
    limit = settings.AXES_FAILURE_LIMIT
    window = int(_cooloff().total_seconds())
    subject = f"{email.strip().lower()}|{client_ip(request) or '-'}"
    # Hashed: the cache holds no e-mail addresses.
    key = "security:password-reset:" + hashlib.sha256(subject.encode()).hexdigest()
    try:
        cache.add(key, 0, timeout=window)
        try:
            count = cache.incr(key)
        except ValueError:  # expired between add() and incr(): a new window starts
            cache.set(key, 1, timeout=window)
            count = 1
    except Exception:  # the cache backend is down: allow (see above)
        logger.warning("password reset limiter: cache unavailable, request allowed")
        return True
    return count <= limit


def token_request_lockout(request: HttpRequest, username: str) -> HttpResponse | None:
    """For ``POST /api/v1/auth/token/``: the refusal to send, before any password is
    checked, while this username is locked from this address; None when it is not."""
    if not sign_in_locked(request, username):
        return None
    security_event_record(
        kind=SecurityEvent.Kind.LOCKOUT,
        request=request,
        username=username,
        detail="API token request refused: sign-in locked",
    )
    return api_lockout_response()
