"""Two-factor authentication: an authenticator app (TOTP) plus one-time recovery codes.

django-otp holds the devices. A *confirmed* ``TOTPDevice`` is what "two-factor is on" means.
A ``StaticDevice`` (otp_static) stands for the user's set of recovery codes, so a sign-in
with a recovery code is recorded in the session by ``django_otp.login`` and throttled like
one with the app. The plugin's own ``StaticToken`` keeps codes in plain text in a
16-character column, too short for a hash, so our codes live in ``RecoveryCode`` rows as
SHA-256 hashes instead and the device's plain-text token set stays empty (the plugin's own
verification can therefore never match anything). The codes are random with ~59 bits of
entropy, so a fast hash is enough, as for API tokens; the user id salts it so one
precomputed table can't serve every account.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets

import django_otp
import qrcode
import qrcode.image.svg
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils import timezone
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import RecoveryCode, SecurityPolicy, User
from core import ratelimit
from core.errors import RuleViolation
from core.proxies import client_address

RECOVERY_CODE_COUNT = 10
# No 0/o or 1/l/i: the codes get written on paper and typed back in.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_CODE_LENGTH = 12  # 31**12 ≈ 2**59
TOTP_PATTERN = re.compile(r"\d{6}")
DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"

# The sign-in waiting for its second step (see accounts/views_twofactor.py).
PENDING_SESSION_KEY = "two_factor_pending"
PENDING_SECONDS = 5 * 60
MAX_CODE_ATTEMPTS = 5
# Set at sign-in for an admin/executive the policy obliges to set up two-factor first.
SETUP_REQUIRED_SESSION_KEY = "two_factor_setup_required"

OTP_REQUIRED_MESSAGE = "This account uses two-factor authentication; send the current code."
WRONG_CODE_MESSAGE = (
    "That code is wrong or was already used. Enter the current 6-digit code from your "
    "authenticator app (check that the phone's clock is right), or an unused recovery code."
)


# --- Reads --------------------------------------------------------------------------------


def totp_device_for(user: User, *, confirmed: bool = True) -> TOTPDevice | None:
    return (
        TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("-pk").first()
        if user.is_authenticated
        else None
    )


def two_factor_enabled(user: User) -> bool:
    """Only a confirmed authenticator app counts: an abandoned set-up turns nothing on."""
    return user.is_authenticated and TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def two_factor_required(user: User) -> bool:
    """Whether the security policy obliges this user to use two-factor authentication."""
    if not (user.is_authenticated and (user.is_admin or user.is_executive)):
        return False
    return SecurityPolicy.load().require_two_factor_for_privileged


def recovery_codes_remaining(user: User) -> int:
    return RecoveryCode.objects.filter(
        device__user=user, device__confirmed=True, used_at__isnull=True
    ).count()


def two_factor_status(user: User) -> dict:
    """What the profile page shows about the user's two-factor authentication."""
    enabled = two_factor_enabled(user)
    return {
        "enabled": enabled,
        "recovery_codes_left": recovery_codes_remaining(user) if enabled else 0,
        "required": two_factor_required(user),
    }


def normalise_code(code: str) -> str:
    """Codes are accepted however they were copied: any case, spaces and dashes ignored."""
    return re.sub(r"[\s-]", "", code or "").lower()


def totp_secret_text(device: TOTPDevice) -> str:
    """The secret in base32, in groups of four, for typing into an app by hand."""
    secret = base64.b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def totp_qr_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// QR code as an SVG data URI: an <img> that the CSP allows (img-src
    data:), where inline SVG markup would need style attributes."""
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage)
    return "data:image/svg+xml;base64," + base64.b64encode(image.to_string()).decode()


# --- Writes -------------------------------------------------------------------------------


def _hash_code(user_id: int, code: str) -> str:
    return hashlib.sha256(f"{user_id}:{normalise_code(code)}".encode()).hexdigest()


def _security_event(
    kind: str, *, request: HttpRequest | None, user: User, detail: str = ""
) -> None:
    # Imported here: the security app is loaded after accounts.
    from security.services import security_event_record

    security_event_record(
        kind=kind,
        request=request,
        # The actor is known only once signed in; a failed second step names the username.
        actor=user if getattr(request, "user", None) == user else None,
        username=user.get_username(),
        detail=detail,
    )


def record_failed_sign_in(*, request: HttpRequest, username: str) -> None:
    """Count a failed second step like a wrong password: django-axes (and anything else
    listening) sees a failed sign-in for this username from this address."""
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)


def _replace_recovery_codes(user: User) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(
        user=user, defaults={"name": RECOVERY_DEVICE_NAME}
    )
    device.recovery_codes.all().delete()
    codes = [
        "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    RecoveryCode.objects.bulk_create(
        RecoveryCode(device=device, code_hash=_hash_code(user.pk, code)) for code in codes
    )
    return [f"{code[:4]}-{code[4:8]}-{code[8:]}" for code in codes]


def _backoff_key(user: User, request: HttpRequest | None) -> str:
    # Per user *and* address: someone who knows the password can slow their own guessing
    # down, never the real user's sign-in from elsewhere (django-otp's own throttle, kept
    # on the device row, is off: OTP_*_THROTTLE_FACTOR = 0).
    address = client_address(request) if request is not None else "-"
    return ratelimit.counter_key("two-factor", user.pk, address or "-")


def _check_throttle(user: User, request: HttpRequest | None) -> None:
    wait = ratelimit.backoff_wait(_backoff_key(user, request))
    if wait:
        raise RuleViolation(
            "too_many_attempts",
            f"Too many wrong codes: wait {wait} second{'' if wait == 1 else 's'}, then enter "
            "the current code.",
            "code",
        )


def two_factor_setup_start(*, user: User) -> TOTPDevice:
    """The unconfirmed device whose QR code the set-up page shows. Reloading the page (or a
    second tab) reuses it, so the code the user scanned stays the one we check."""
    if two_factor_enabled(user):
        raise RuleViolation("already_enabled", "Two-factor authentication is already on.")
    device = totp_device_for(user, confirmed=False)
    return device or TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)


def two_factor_confirm(
    *, user: User, code: str, request: HttpRequest | None = None
) -> tuple[TOTPDevice, list[str]]:
    """Turn two-factor on once the user proves their app shows the right codes; return the
    device and the recovery codes (in plain text this once, never stored)."""
    device = totp_device_for(user, confirmed=False)
    if device is None:
        raise RuleViolation(
            "setup_not_started", "Open the set-up page again to get a new QR code.", "code"
        )
    _check_throttle(user, request)
    # django_otp.verify_token locks the device row, so the same code can't confirm twice.
    if django_otp.verify_token(user, device.persistent_id, normalise_code(code)) is None:
        ratelimit.backoff_failed(_backoff_key(user, request))
        raise RuleViolation(
            "wrong_code",
            "That code does not match. Enter the 6-digit code the app shows now, and check "
            "that the phone's clock is right.",
            "code",
        )
    with transaction.atomic():
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        codes = _replace_recovery_codes(user)
    _security_event("two_factor_enabled", request=request, user=user)
    return device, codes


def two_factor_verify(*, user: User, code: str, request: HttpRequest | None = None) -> Device:
    """The device that accepts ``code`` for ``user`` (a TOTP code or a recovery code), which
    the code is then spent on; RuleViolation when none does."""
    normalised = normalise_code(code)
    if not normalised:
        raise RuleViolation(
            "code_required", "Enter the 6-digit code from your authenticator app.", "code"
        )
    if TOTP_PATTERN.fullmatch(normalised):
        device = totp_device_for(user)
        if device is not None:
            _check_throttle(user, request)
            # Locks the device row; TOTPDevice refuses any time step at or before last_t,
            # so a code (or an earlier one) that signed in once is never accepted again.
            if django_otp.verify_token(user, device.persistent_id, normalised) is not None:
                ratelimit.clear(_backoff_key(user, request))
                return device
    else:
        device = StaticDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None:
            _check_throttle(user, request)
            # One conditional UPDATE: of two sign-ins racing with the same code, one wins.
            spent = RecoveryCode.objects.filter(
                device=device, code_hash=_hash_code(user.pk, normalised), used_at__isnull=True
            ).update(used_at=timezone.now())
            if spent:
                ratelimit.clear(_backoff_key(user, request))
                device.set_last_used_timestamp(commit=False)
                device.save()
                left = recovery_codes_remaining(user)
                _security_event(
                    "recovery_code_used", request=request, user=user, detail=f"{left} left"
                )
                return device
    if device is not None:
        ratelimit.backoff_failed(_backoff_key(user, request))
    _security_event("two_factor_failed", request=request, user=user)
    raise RuleViolation("wrong_code", WRONG_CODE_MESSAGE, "code")


def recovery_codes_regenerate(
    *, user: User, code: str, request: HttpRequest | None = None
) -> list[str]:
    """New recovery codes for a current code; the old ones stop working."""
    if not two_factor_enabled(user):
        raise RuleViolation("not_enabled", "Two-factor authentication is off.")
    two_factor_verify(user=user, code=code, request=request)
    with transaction.atomic():
        return _replace_recovery_codes(user)


def two_factor_disable(
    *, user: User, password: str, code: str, request: HttpRequest | None = None
) -> None:
    """Turn two-factor off: the password *and* a current or recovery code, so neither a
    stolen session nor a stolen password alone can remove the second factor."""
    if not two_factor_enabled(user):
        raise RuleViolation("not_enabled", "Two-factor authentication is already off.")
    if two_factor_required(user):
        raise RuleViolation(
            "required_by_policy",
            "Your role requires two-factor authentication, so it can't be turned off.",
        )
    if not user.check_password(password or ""):
        raise RuleViolation("wrong_password", "That is not your password.", "password")
    two_factor_verify(user=user, code=code, request=request)
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()  # and its recovery codes
    _security_event("two_factor_disabled", request=request, user=user)


def two_factor_check_for_token(*, user: User, otp: str, request: HttpRequest) -> None:
    """What POST /api/v1/auth/token/ asks beyond the password. A wrong code counts as a
    failed sign-in; a missing one doesn't (the client just didn't know to send it)."""
    if two_factor_enabled(user):
        if not normalise_code(otp):
            raise RuleViolation("otp_required", OTP_REQUIRED_MESSAGE, "otp")
        try:
            two_factor_verify(user=user, code=otp, request=request)
        except RuleViolation as error:
            if error.code == "wrong_code":
                record_failed_sign_in(request=request, username=user.get_username())
            raise RuleViolation(error.code, error.message, "otp") from None
    elif two_factor_required(user):
        # Otherwise the API would be a way round the policy for a password alone.
        raise RuleViolation(
            "two_factor_setup_required",
            "Your role requires two-factor authentication: turn it on from your profile page "
            "in Rapport, then ask for a token with the current code.",
            "otp",
        )


@receiver(user_logged_in, dispatch_uid="accounts.twofactor.flag_setup_required")
def flag_setup_required(sender, request: HttpRequest | None, user: User, **kwargs) -> None:
    """At every sign-in, remember in the session whether the policy obliges this user to set
    up two-factor first; TwoFactorPolicyMiddleware then confines them to the set-up page.
    Deciding here keeps the check off every other request."""
    if request is None or not hasattr(request, "session"):
        return
    if two_factor_required(user) and not two_factor_enabled(user):
        request.session[SETUP_REQUIRED_SESSION_KEY] = True
    else:
        request.session.pop(SETUP_REQUIRED_SESSION_KEY, None)
