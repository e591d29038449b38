"""Lockouts beyond the sign-in form, on the same terms (django-axes' settings).

- The sign-in page and ``POST /api/v1/auth/token/`` share axes' counter of failures per
  username and address: ``AXES_FAILURE_LIMIT`` failures lock that pair for
  ``AXES_COOLOFF_TIME``. ``lockout_response`` is axes' AXES_LOCKOUT_CALLABLE: the page for
  people, the project's JSON error for the API.
- Password spraying: every failed sign-in (form, token endpoint, abandoned two-factor step)
  also counts against the client address across all usernames and against the account
  across all addresses (``sign_in_failure_counted``). ``sign_in_refusal`` is asked before
  any password is checked: an address past ``SIGN_IN_ADDRESS_FAILURE_LIMIT`` is refused for
  every username; an account past ``SIGN_IN_ACCOUNT_FAILURE_LIMIT`` is refused except from
  an address it signed in from successfully in the last ``SIGN_IN_KNOWN_ADDRESS_DAYS``, so
  an attacker can't lock the real user out of their usual place.
- Password reset requests are counted per e-mail address and client address in the cache:
  more than ``AXES_FAILURE_LIMIT`` within ``AXES_COOLOFF_TIME`` are refused.
- Usernames that name no account are recorded (axes' attempts, the security log) only as
  a keyed hash: people type their password into the username field.
"""

from __future__ import annotations

import hmac
import logging
from datetime import timedelta

from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone

from core import ratelimit
from core.errors import error_body
from core.proxies import client_address
from security.models import SecurityEvent
from security.services import security_event_record

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


def address_lockout_message() -> str:
    return f"Too many failed sign-ins from your network address; try again in {cooloff_words()}."


def account_lockout_message() -> str:
    return (
        "Too many failed sign-ins for this account from several addresses; it is locked for "
        f"{cooloff_words()}, except from an address you signed in from recently."
    )


def api_lockout_response(message: str | None = None) -> JsonResponse:
    response = JsonResponse(
        error_body(LOCKED_OUT_CODE, message or sign_in_lockout_message()), status=429
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
        {"cooloff": cooloff_words()},
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
    Fails open (see core/ratelimit.py): refusing every reset during a cache outage would
    lock people out of their accounts."""
    key = ratelimit.counter_key(
        "password-reset", email.strip().lower(), client_address(request) or "-"
    )
    hits = ratelimit.hit(key, window_seconds=int(_cooloff().total_seconds()))
    return hits <= settings.AXES_FAILURE_LIMIT


# --- Unknown usernames ----------------------------------------------------------------------


def username_for_records(request: HttpRequest | None, credentials: dict | None) -> str:
    """The username as axes and the security log keep it: as typed when an account has it,
    otherwise ``unknown user #1a2b3c4d`` (HMAC with the secret key), which still groups
    repeated attempts but can't give back a password typed into the wrong field.
    (AXES_USERNAME_CALLABLE.)"""
    typed = str((credentials or {}).get("username") or "")
    if not typed:
        return ""
    # axes asks several times per sign-in attempt: one lookup per request and name.
    known = getattr(request, "_rapport_usernames", None) if request is not None else None
    if known is None:
        known = {}
        if request is not None:
            request._rapport_usernames = known
    if typed not in known:
        if get_user_model()._default_manager.filter(username=typed).exists():
            known[typed] = typed
        else:
            digest = hmac.new(settings.SECRET_KEY.encode(), typed.encode(), "sha256")
            known[typed] = f"unknown user #{digest.hexdigest()[:8]}"
    return known[typed]


# --- Password spraying: limits per address and per account ----------------------------------


def _address_key(request: HttpRequest) -> str:
    return ratelimit.counter_key("sign-in-address", client_address(request) or "-")


def _account_key(username: str) -> str:
    return ratelimit.counter_key("sign-in-account", username)


def sign_in_failure_counted(*, request: HttpRequest, username: str) -> None:
    """One failed sign-in (any of the three doors): count it for the address and the
    account, and log the moment either limit is reached."""
    window = int(_cooloff().total_seconds())
    from_address = ratelimit.hit(_address_key(request), window_seconds=window)
    if from_address == settings.SIGN_IN_ADDRESS_FAILURE_LIMIT:
        security_event_record(
            kind=SecurityEvent.Kind.LOCKOUT,
            request=request,
            username=username,
            detail=f"address locked for {cooloff_words()}: {from_address} failed sign-ins "
            "from it across accounts",
        )
    if not username:
        return
    for_account = ratelimit.hit(_account_key(username), window_seconds=window)
    if for_account == settings.SIGN_IN_ACCOUNT_FAILURE_LIMIT:
        security_event_record(
            kind=SecurityEvent.Kind.LOCKOUT,
            request=request,
            username=username,
            detail=f"account locked for {cooloff_words()} except from known addresses: "
            f"{for_account} failed sign-ins from several addresses",
        )


def _known_address(request: HttpRequest, username: str) -> bool:
    since = timezone.now() - timedelta(days=settings.SIGN_IN_KNOWN_ADDRESS_DAYS)
    address = client_address(request)
    return (
        bool(address)
        and SecurityEvent.objects.filter(
            kind=SecurityEvent.Kind.LOGIN,
            username=username,
            ip_address=address,
            created_at__gte=since,
        ).exists()
    )


def sign_in_refusal(request: HttpRequest, username: str) -> str | None:
    """Why this sign-in attempt is refused before its password is checked, or None.
    ``username`` is as ``username_for_records`` gives it."""
    if ratelimit.count(_address_key(request)) >= settings.SIGN_IN_ADDRESS_FAILURE_LIMIT:
        return address_lockout_message()
    if (
        username
        and ratelimit.count(_account_key(username)) >= settings.SIGN_IN_ACCOUNT_FAILURE_LIMIT
        and not _known_address(request, username)
    ):
        return account_lockout_message()
    return None


def sign_in_refused_response(request: HttpRequest, message: str) -> HttpResponse:
    """What a refused attempt answers: the API's JSON error or the lockout page (429)."""
    if is_api_request(request):
        return api_lockout_response(message)
    response = render(
        request,
        "registration/locked_out.html",
        {"cooloff": cooloff_words(), "message": message},
        status=429,
    )
    response["Retry-After"] = str(int(_cooloff().total_seconds()))
    return response


def token_request_lockout(request: HttpRequest, username: str) -> HttpResponse | None:
    """For ``POST /api/v1/auth/token/``: the refusal to send, before any password is
    checked, while this username is locked from this address, the address is locked, or
    the account is; None when none is."""
    if refusal := sign_in_refusal(request, username_for_records(request, {"username": username})):
        return api_lockout_response(refusal)
    if not sign_in_locked(request, username):
        return None
    security_event_record(
        kind=SecurityEvent.Kind.LOCKOUT,
        request=request,
        username=username,
        detail="API token request refused: sign-in locked",
    )
    return api_lockout_response()
