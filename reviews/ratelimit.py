"""A small fixed-window rate limit on the Django cache (Redis in production, locmem in
development): enough to stop someone hammering the public feedback page."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    # Behind the proxy (PROXY_COUNT) the last hop it appended is the client; otherwise the
    # socket address. A client cannot spoof the proxy-appended entry.
    proxies = int(getattr(settings, "AXES_IPWARE_PROXY_COUNT", 0) or 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if len(hops) >= proxies:
            return hops[-proxies]
    return request.META.get("REMOTE_ADDR", "unknown")


def too_many(request: HttpRequest, scope: str) -> bool:
    """Count this request; True once the client passed FEEDBACK_RATE_LIMIT in the window."""
    limit = int(getattr(settings, "FEEDBACK_RATE_LIMIT", 30))
    window = int(getattr(settings, "FEEDBACK_RATE_WINDOW_SECONDS", 600))
    bucket = int(time.time() // window)
    key = f"ratelimit:{scope}:{client_ip(request)}:{bucket}"
    # add() is atomic: the first request in the window creates the counter.
    if cache.add(key, 1, timeout=window):
        return False
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.add(key, 1, timeout=window)
        return False
    return count > limit
