"""Counters on the Django cache (Redis in production): fixed windows behind the survey
page's rate limit, the password-reset limit and the sign-in limits, and the exponential
back-off between two-factor codes.

Counters fail open: with the cache unreachable ``hit`` answers 0 and ``count`` 0, because
refusing every sign-in or password reset during a cache outage would lock everyone out.
Keys are hashed, so the cache never holds a username, an e-mail address or an IP address.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time

from django.core.cache import cache

logger = logging.getLogger("rapport.ratelimit")


def counter_key(scope: str, *parts: object) -> str:
    subject = "|".join(str(part) for part in parts)
    return f"ratelimit:{scope}:" + hashlib.sha256(subject.encode()).hexdigest()[:40]


def hit(key: str, *, window_seconds: int) -> int:
    """Count one event under ``key``; returns how many there were in the window so far
    (the window starts at the first event and lasts ``window_seconds``)."""
    try:
        # add() is atomic: only the first event of a window creates the counter.
        if cache.add(key, 1, timeout=window_seconds):
            return 1
        try:
            return cache.incr(key)
        except ValueError:  # expired between add() and incr(): a new window starts
            cache.set(key, 1, timeout=window_seconds)
            return 1
    except Exception:  # the cache backend is down: fail open (see above)
        logger.warning("rate limit %s: cache unavailable, not counted", key.split(":")[1])
        return 0


def count(key: str) -> int:
    """How many events the window under ``key`` holds now (0 when none, or cache down)."""
    try:
        return int(cache.get(key) or 0)
    except Exception:
        logger.warning("rate limit %s: cache unavailable, read as 0", key.split(":")[1])
        return 0


def clear(key: str) -> None:
    try:
        cache.delete(key)
    except Exception:
        logger.warning("rate limit %s: cache unavailable, not cleared", key.split(":")[1])


# --- Exponential back-off: after n failures, wait base × 2^(n-1) seconds -----------------


def backoff_wait(key: str, *, now: float | None = None) -> int:
    """Seconds still to wait before the next attempt under ``key`` (0: go ahead)."""
    try:
        state = cache.get(key)
    except Exception:
        logger.warning("back-off %s: cache unavailable, not applied", key.split(":")[1])
        return 0
    if not state:
        return 0
    remaining = state["until"] - (time.time() if now is None else now)
    return max(0, math.ceil(remaining))


def backoff_failed(
    key: str, *, base_seconds: float = 1, max_seconds: int = 300, forget_after: int = 3600
) -> None:
    """Note one failure: the next attempt must wait twice as long as after the last one."""
    try:
        state = cache.get(key) or {"failures": 0}
        failures = state["failures"] + 1
        delay = min(base_seconds * 2 ** (failures - 1), max_seconds)
        cache.set(key, {"failures": failures, "until": time.time() + delay}, forget_after)
    except Exception:
        logger.warning("back-off %s: cache unavailable, not counted", key.split(":")[1])
