from __future__ import annotations

from django.db import transaction
from django.http import HttpRequest

from accounts.models import Role, User
from core.errors import RuleViolation
from security.lockout import password_reset_allowed
from security.models import SecurityEvent
from security.services import security_event_record, user_sessions_end


@transaction.atomic
def user_update_profile(*, user: User, first_name: str, last_name: str, email: str) -> User:
    """A user edits their own name and e-mail; role and teams stay with the admins."""
    user.first_name = first_name.strip()
    user.last_name = last_name.strip()
    user.email = email.strip()
    user.save(update_fields=["first_name", "last_name", "email"])
    return user


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


def user_password_changed(
    *,
    user: User,
    by: User,
    request: HttpRequest | None = None,
    keep_session_key: str | None = None,
    reset: bool = False,
) -> int:
    """After a new password was saved (changed, reset by e-mail link, or set by an admin):
    end the user's sessions but ``keep_session_key`` and log it. Returns sessions ended.

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
    return ended


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
