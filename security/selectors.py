"""Reads of the security app: the filtered log and a user's signed-in sessions."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from security.models import SecurityEvent, UserSession

if TYPE_CHECKING:
    from accounts.models import User


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def security_events_filtered(
    *,
    kind: str = "",
    user: str = "",
    date_from: date | None = None,
    date_to: date | None = None,
) -> QuerySet[SecurityEvent]:
    """The log, newest first. ``user`` matches the acting user or the name typed (any
    case); the dates are whole days in the organisation's time zone, both included."""
    events = SecurityEvent.objects.select_related("actor")
    if kind:
        events = events.filter(kind=kind)
    if user:
        events = events.filter(Q(username__iexact=user) | Q(actor__username__iexact=user))
    # A range on the indexed column rather than a __date lookup, which could not use it.
    if date_from:
        events = events.filter(created_at__gte=_start_of(date_from))
    if date_to:
        events = events.filter(created_at__lt=_start_of(date_to + timedelta(days=1)))
    return events.order_by("-created_at", "-id")


def _idle_limit() -> timedelta:
    return timedelta(minutes=settings.SESSION_IDLE_TIMEOUT_MINUTES)


def _absolute_limit() -> timedelta:
    return timedelta(hours=settings.SESSION_ABSOLUTE_TIMEOUT_HOURS)


def user_sessions_active(user: User, *, current_key: str | None = None) -> list[UserSession]:
    """The user's sessions that have not timed out, most recently used first; the one
    making the request is marked ``is_current``."""
    now = timezone.now()
    sessions = list(
        UserSession.objects.filter(
            user=user,
            last_seen_at__gte=now - _idle_limit(),
            created_at__gte=now - _absolute_limit(),
        ).order_by("-last_seen_at", "-id")
    )
    for session in sessions:
        session.is_current = bool(current_key) and session.session_key == current_key
    return sessions


def user_sessions_timed_out() -> QuerySet[UserSession]:
    """Rows of sessions the timeouts have already ended (the middleware signs them out
    on their next request): safe to forget."""
    now = timezone.now()
    return UserSession.objects.filter(
        Q(last_seen_at__lt=now - _idle_limit()) | Q(created_at__lt=now - _absolute_limit())
    )
