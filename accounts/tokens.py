"""Personal API tokens: creation, hashing, revocation and lookup."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import ApiToken, User
from core.errors import PermissionRefused, RuleViolation
from security.models import SecurityEvent
from security.services import security_event_record

TOKEN_PREFIX = "rpt_"
MAX_ACTIVE_TOKENS = 20


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def tokens_usable(user: User) -> QuerySet[ApiToken]:
    """The user's tokens that still work: neither revoked nor expired. (An expired token
    can't be revoked from the profile page, so it must not count towards the limit.)"""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    )


@transaction.atomic
def token_create(
    *,
    user: User,
    name: str,
    scope: str = ApiToken.Scope.WRITE,
    expires_at: datetime | None = None,
    request: HttpRequest | None = None,
) -> tuple[ApiToken, str]:
    """Create a token and return it with its one-time plain text (never stored, nor
    logged: the security log names it by its prefix)."""
    name = name.strip()
    if not name:
        raise RuleViolation("name_required", "Give the token a name you will recognise.", "name")
    if len(name) > 80:
        raise RuleViolation("name_too_long", "The name can be at most 80 characters.", "name")
    if scope not in ApiToken.Scope.values:
        raise RuleViolation("invalid_scope", f"“{scope}” is not a token scope.", "scope")
    if expires_at is not None and expires_at <= timezone.now():
        raise RuleViolation("expiry_in_past", "The expiry must be in the future.", "expires_at")
    # Race: two requests creating the user's 20th token at once would both see 19.
    User.objects.select_for_update().values_list("pk", flat=True).get(pk=user.pk)
    active = tokens_usable(user).count()
    if active >= MAX_ACTIVE_TOKENS:
        raise RuleViolation(
            "too_many_tokens",
            f"You already have {active} active API tokens, the most you can have. Revoke one "
            "you no longer use, then create the new one.",
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        token_hash=hash_token(raw),
        scope=scope,
        expires_at=expires_at,
    )
    security_event_record(
        kind=SecurityEvent.Kind.TOKEN_CREATED,
        request=request,
        actor=user,
        detail=f"token {token.prefix}… “{token.name}” scope {token.scope}",
    )
    return token, raw


@transaction.atomic
def token_revoke(*, token: ApiToken, by: User, request: HttpRequest | None = None) -> ApiToken:
    if token.user_id != by.pk and not by.is_admin:
        raise PermissionRefused("You can only revoke your own tokens.")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        owner = "" if token.user_id == by.pk else f" of {token.user.get_username()}"
        security_event_record(
            kind=SecurityEvent.Kind.TOKEN_REVOKED,
            request=request,
            actor=by,
            detail=f"token {token.prefix}… “{token.name}”{owner}",
        )
    return token


@transaction.atomic
def token_revoke_all(
    *, user: User, by: User, reason: str, request: HttpRequest | None = None
) -> int:
    """Revoke every token of ``user`` that still works (after a password change or reset:
    whoever knew the old password may have made some); returns how many."""
    revoked = tokens_usable(user).update(revoked_at=timezone.now())
    if revoked:
        security_event_record(
            kind=SecurityEvent.Kind.TOKEN_REVOKED,
            request=request,
            actor=by,
            username=user.get_username(),
            detail=f"all {revoked} API token{'' if revoked == 1 else 's'} revoked: {reason}",
        )
    return revoked


def token_lookup(raw: str) -> ApiToken | None:
    """The usable token for this plain text, or None (unknown, revoked, expired, inactive)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 100:
        return None
    token = ApiToken.objects.select_related("user").filter(token_hash=hash_token(raw)).first()
    now = timezone.now()
    if token is None or not token.is_usable(now) or not token.user.is_active:
        return None
    # Touch at most once a minute so busy integrations don't write on every request.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
