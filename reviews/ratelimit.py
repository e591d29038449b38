"""The public feedback page's rate limit: enough to stop someone hammering it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from core import ratelimit
from core.proxies import client_address


def too_many(request: HttpRequest, scope: str) -> bool:
    """Count this request; True once the client passed FEEDBACK_RATE_LIMIT in the window."""
    key = ratelimit.counter_key(f"feedback-{scope}", client_address(request) or "-")
    hits = ratelimit.hit(key, window_seconds=settings.FEEDBACK_RATE_WINDOW_SECONDS)
    return hits > settings.FEEDBACK_RATE_LIMIT
