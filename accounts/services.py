from __future__ import annotations

import logging
from typing import NamedTuple

from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from accounts.tokens import token_revoke_all
from accounts.twofactor import two_factor_enabled, two_factor_verify
from core.errors import RuleViolation
from core.links import absolute_url
from security.lockout import password_reset_allowed
from security.models import SecurityEvent
from security.services import security_event_record, user_sessions_end

logger = logging.getLogger(__name__)


def user_update_profile(
    *,
    user: User,
    first_name: str,
    last_name: str,
    email: str,
    password: str = "",
    code: str = "",
    request: HttpRequest | None = None,
) -> User:
    """A user edits their own name and e-mail; role and teams stay with the admins.

    Password resets go to the e-mail address, so a new one takes the current password, and
    a current code when two-factor is on: a stolen session alone can't redirect them. The
    old address is told of the change (nothing changes if that mail can't be sent) and the
    security log records it."""
    email = email.strip()
    # The stored address, not user.email: a bound ModelForm has already put the new one there.
    stored_email = User.objects.values_list("email", flat=True).get(pk=user.pk)
    if email != stored_email:
        # Before the transaction: a wrong code's log entry and back-off must not roll back.
        _identity_confirm(user=user, password=password, code=code, request=request)
    with transaction.atomic():
        # Locked: of two tabs changing the address at once, the second sees the first's.
        old_email = User.objects.select_for_update().values_list("email", flat=True).get(pk=user.pk)
        if old_email != stored_email:
            raise RuleViolation(
                "email_changed_meanwhile",
                "Your e-mail address was changed meanwhile: reload the page and try again.",
                "email",
            )
        user.first_name = first_name.strip()
        user.last_name = last_name.strip()
        user.email = email
        user.save(update_fields=["first_name", "last_name", "email"])
        if email != old_email:
            security_event_record(
                kind=SecurityEvent.Kind.EMAIL_CHANGED,
                request=request,
                actor=user,
                detail=f"e-mail {old_email or '(none)'} → {email or '(none)'}",
            )
            if old_email:
                _email_change_notice_send(user=user, old_email=old_email, new_email=email)
    return user


def _identity_confirm(*, user: User, password: str, code: str, request: HttpRequest | None) -> None:
    """The current password, and a code when two-factor is on; RuleViolation otherwise."""
    if not password:
        raise RuleViolation(
            "password_required",
            "Enter your current password to change your e-mail address.",
            "current_password",
        )
    if not user.check_password(password):
        raise RuleViolation("wrong_password", "That is not your password.", "current_password")
    if two_factor_enabled(user):
        two_factor_verify(user=user, code=code, request=request)  # RuleViolation on "code"


def _email_change_notice_send(*, user: User, old_email: str, new_email: str) -> None:
    """Tell the old address, inside the change's transaction: if the mail can't go, the
    change rolls back, so an address is never replaced without its owner hearing of it."""
    context = {
        "user": user,
        "new_email": new_email,
        "changed_at": timezone.localtime(),
        "password_change_url": absolute_url(reverse("password_change")),
    }
    try:
        send_mail(
            subject="Your Rapport e-mail address was changed",
            message=render_to_string("accounts/email/email_changed.txt", context),
            from_email=None,
            recipient_list=[old_email],
        )
    except OSError as error:  # smtplib's errors included
        logger.warning("E-mail change notice to user %s not sent: %s", user.pk, error)
        raise RuleViolation(
            "notice_not_sent",
            "We could not e-mail your current address about the change, so nothing was "
            "changed. Try again in a few minutes.",
            "email",
        ) from error


# --- Roles, deactivation and passwords: each recorded in the security log ---------------


@transaction.atomic
def user_set_role(*, user: User, role: str, by: User, request: HttpRequest | None = None) -> User:
    """Give ``user`` another role (the is_staff/is_superuser flags follow in User.save)."""
    if role not in Role.values:
        raise RuleViolation("invalid_role", f"“{role}” is not a role.", "role")
    # Locked: two admins changing the role at once each log the transition they really made.
    before = User.objects.select_for_update().only("role").get(pk=user.pk).role
    user.role = role
    if before == role:
        return user
    user.save(update_fields=["role", "is_staff", "is_superuser"])
    security_event_record(
        kind=SecurityEvent.Kind.ROLE_CHANGED,
        request=request,
        actor=by,
        username=user.get_username(),
        detail=f"role {before} → {role}",
    )
    return user


@transaction.atomic
def user_deactivate(*, user: User, by: User, request: HttpRequest | None = None) -> User:
    """Stop ``user`` signing in: their sessions end now. Their API tokens are left as they
    are (not revoked) but refused while the account is inactive, so reactivating restores
    the integrations."""
    was_active = User.objects.select_for_update().only("is_active").get(pk=user.pk).is_active
    user.is_active = False
    if not was_active:
        return user
    user.save(update_fields=["is_active"])
    ended = user_sessions_end(user=user)
    security_event_record(
        kind=SecurityEvent.Kind.USER_DEACTIVATED,
        request=request,
        actor=by,
        username=user.get_username(),
        detail=f"{ended} session{'' if ended == 1 else 's'} ended; API tokens refused",
    )
    return user


@transaction.atomic
def user_reactivate(*, user: User, by: User, request: HttpRequest | None = None) -> User:
    was_active = User.objects.select_for_update().only("is_active").get(pk=user.pk).is_active
    user.is_active = True
    if was_active:
        return user
    user.save(update_fields=["is_active"])
    security_event_record(
        kind=SecurityEvent.Kind.USER_REACTIVATED,
        request=request,
        actor=by,
        username=user.get_username(),
    )
    return user


class PasswordChanged(NamedTuple):
    sessions_ended: int
    tokens_revoked: int


def user_password_changed(
    *,
    user: User,
    by: User,
    request: HttpRequest | None = None,
    keep_session_key: str | None = None,
    reset: bool = False,
    revoke_tokens: bool = False,
) -> PasswordChanged:
    """After a new password was saved (changed, reset by e-mail link, or set by an admin):
    end the user's sessions but ``keep_session_key``, revoke their API tokens if asked
    (whoever knew the old password could have made some), and log it.

    Django would only refuse those sessions lazily, when next used; ending them now also
    covers a session store that outlives the password hash check."""
    ended = user_sessions_end(user=user, keep_session_key=keep_session_key)
    how = "reset by e-mail link" if reset else "changed"
    if by.pk != user.pk:
        how = f"set by {by.get_username()}"
    security_event_record(
        kind=SecurityEvent.Kind.PASSWORD_CHANGED,
        request=request,
        actor=by,
        username=user.get_username(),
        detail=f"password {how}; {ended} other session{'' if ended == 1 else 's'} ended",
    )
    revoked = 0
    if revoke_tokens:
        revoked = token_revoke_all(user=user, by=by, reason=f"password {how}", request=request)
    return PasswordChanged(sessions_ended=ended, tokens_revoked=revoked)


def user_password_reset_requested(*, email: str, request: HttpRequest) -> bool:
    """Count and log a password reset request for ``email`` from this client. False when
    refused: more than AXES_FAILURE_LIMIT requests in the cool-off window (then no e-mail
    may be sent, and the refusal is logged as a lockout)."""
    if not password_reset_allowed(request, email):
        security_event_record(
            kind=SecurityEvent.Kind.LOCKOUT,
            request=request,
            username=email,
            detail="password reset refused: too many requests for this address; no e-mail sent",
        )
        return False
    security_event_record(
        kind=SecurityEvent.Kind.PASSWORD_RESET_REQUESTED, request=request, username=email
    )
    return True
