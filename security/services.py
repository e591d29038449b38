"""Writes of the security app: the security log, and the signed-in sessions of each user.

``security_event_record`` is the one way any app writes to the security log. It is given
what happened in words (``detail``) and never a secret: no password, raw token, one-time
code or session key; a token is named by its prefix.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from importlib import import_module
from typing import TYPE_CHECKING

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from core.proxies import client_address
from security.models import SecurityEvent, UserSession

if TYPE_CHECKING:
    from accounts.models import User

logger = logging.getLogger("rapport.security")

# Kept in the session itself, so the idle and absolute timeouts cost no query to check.
SIGNED_IN_AT = "_rapport_signed_in_at"
SEEN_AT = "_rapport_seen_at"


def _request_user(request: HttpRequest | None):
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def security_event_record(
    *,
    kind: str,
    request: HttpRequest | None = None,
    actor: User | None = None,
    username: str = "",
    detail: str = "",
) -> SecurityEvent:
    """Record one security event (and log one line to ``rapport.security``).

    ``actor`` defaults to the request's signed-in user, ``username`` to the actor's name;
    address, browser and path come from the request when there is one."""
    if kind not in SecurityEvent.Kind.values:
        raise ValueError(f"Unknown security event kind {kind!r}.")
    if actor is None:
        actor = _request_user(request)
    if not username and actor is not None:
        username = actor.get_username()
    ip, user_agent, path = None, "", ""
    if request is not None:
        ip = client_address(request)
        user_agent = request.META.get("HTTP_USER_AGENT", "")[:200]
        path = request.path[:200]
    event = SecurityEvent.objects.create(
        kind=kind,
        actor=actor,
        username=username[:150],
        ip_address=ip,
        user_agent=user_agent,
        path=path,
        detail=detail[:300],
    )
    logger.info(
        "%s user=%r ip=%s path=%s %s", kind, event.username, ip or "-", path or "-", event.detail
    )
    return event


def security_events_prune(*, now: datetime | None = None) -> int:
    """Delete events older than SECURITY_LOG_RETENTION_DAYS; returns how many went."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.SECURITY_LOG_RETENTION_DAYS)
    deleted, _ = SecurityEvent.objects.filter(created_at__lt=cutoff).delete()
    return deleted


# --- Sessions ---------------------------------------------------------------------------


def _session_store_class():
    return import_module(settings.SESSION_ENGINE).SessionStore


def user_session_start(*, request: HttpRequest, user: User) -> UserSession:
    """At sign-in: start the session's clocks and remember it among the user's sessions."""
    session = request.session
    if session.session_key is None:
        # login() flushed a session that belonged to someone else: the new key only exists
        # once saved, and the row below must name it.
        session.save()
    now = timezone.now()
    session[SIGNED_IN_AT] = session[SEEN_AT] = int(now.timestamp())
    tracked, _ = UserSession.objects.update_or_create(
        session_key=session.session_key,
        defaults={
            "user": user,
            "last_seen_at": now,
            "ip_address": client_address(request),
            "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200],
        },
    )
    return tracked


def user_session_touch(*, request: HttpRequest, user: User, now: datetime) -> None:
    """Note activity on the current session (the middleware calls it at most once a
    minute). A signed-in session without a row (started before this app) gets one."""
    session = request.session
    session[SEEN_AT] = int(now.timestamp())
    session.setdefault(SIGNED_IN_AT, session[SEEN_AT])
    fields = {
        "last_seen_at": now,
        "ip_address": client_address(request),
        "user_agent": request.META.get("HTTP_USER_AGENT", "")[:200],
    }
    if not UserSession.objects.filter(session_key=session.session_key).update(**fields):
        UserSession.objects.get_or_create(
            session_key=session.session_key, defaults={"user": user, **fields}
        )


def user_session_forget(*, session_key: str | None) -> None:
    """At sign-out or expiry: the session is gone, so is its row."""
    if session_key:
        UserSession.objects.filter(session_key=session_key).delete()


def user_session_rekeyed(*, old_key: str | None, new_key: str | None) -> None:
    """The current session got a new key (password change cycles it): keep its row."""
    if old_key and new_key and old_key != new_key:
        UserSession.objects.filter(session_key=old_key).update(session_key=new_key)


def user_sessions_end(*, user: User, keep_session_key: str | None = None) -> int:
    """End every signed-in session of ``user`` except ``keep_session_key``; returns how many.

    Deleted from the session store, not left to Django's lazy password-hash check: a stolen
    session must stop working now, also for a deactivated user or after a reset."""
    rows = UserSession.objects.filter(user=user)
    if keep_session_key:
        rows = rows.exclude(session_key=keep_session_key)
    keys = list(rows.values_list("session_key", flat=True))
    store = _session_store_class()()
    for key in keys:
        # The store's own delete: with cached_db it clears the cached copy as well.
        store.delete(key)
    UserSession.objects.filter(session_key__in=keys).delete()
    return len(keys)


def export_detail(
    filename: str, *, request: HttpRequest | None = None, rows: int | None = None
) -> str:
    """“export stakeholders-2026-01-31.csv (312 rows; country=Kenya)”: what an export's log
    entry says. The filters are the request's query string, as the user chose them."""
    notes = []
    if rows is not None:
        notes.append(f"{rows} row{'' if rows == 1 else 's'}")
    if request is not None and request.GET:
        notes.append(request.GET.urlencode())
    return f"export {filename}" + (f" ({'; '.join(notes)})" if notes else "")
