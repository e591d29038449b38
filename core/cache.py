"""A Redis cache that fails open: when Redis is unreachable the site keeps working uncached.

Everything Rapport keeps in the cache can be recomputed or skipped: page fragments and
rolled-up figures are recomputed from the database, and the rate-limit counters (API
throttles, the public survey page) simply stop counting, so requests are *allowed* rather
than refused while Redis is down. Django's own RedisCache raises on every call instead,
turning a cache outage into 500 pages; this backend turns connection errors into misses:

- ``get``/``get_many``/``has_key`` answer "not cached" (the default, ``{}``, ``False``);
- ``set``/``set_many``/``delete``/``touch``/``clear`` do nothing (``False`` where a result
  is expected; ``set_many`` names every key as not stored);
- ``add`` answers ``False`` and ``incr`` raises ``ValueError`` as for a missing key, which is
  what callers already handle (``reviews.ratelimit`` then allows the request; DRF's
  throttles read an empty history and allow it).

One WARNING per process at most every 30 seconds says the cache is down. After a failure
the backend does not touch the network for a short cool-down, so a Redis that hangs rather
than refuses costs one socket timeout, not one per cache call. Short socket timeouts come
from OPTIONS (see CACHES in config/settings.py); commands are not retried by redis-py.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger(__name__)

# What "Redis is unreachable" looks like: refused or reset connections, timeouts, a server
# still loading its data set (BusyLoadingError is a ConnectionError). Other Redis errors
# (a wrong type, a bad command) are programming errors and still raise.
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)
WARN_EVERY_SECONDS = 30.0
# After a failure, answer "miss" without trying for this long: bounded stall per outage.
COOL_DOWN_SECONDS = 1.0
DEFAULT_OPTIONS = {"socket_connect_timeout": 0.25, "socket_timeout": 0.5}
# Failed writes remembered for deletion on recovery, at most (per process).
MAX_STALE_KEYS = 10_000


class CacheUnavailable(Exception):
    """Raised inside the backend during the cool-down; never escapes it."""


def _fail_open(fallback: Callable[..., Any], stale: Callable[..., list] | None = None):
    """Run the Redis call; on an outage log (rate-limited) and return ``fallback(*args)``.

    ``stale(*args)`` names the keys a failed write leaves stale: they are deleted as soon as
    Redis answers again (see ``FailOpenRedisCache._replay``).
    """

    def decorate(method):
        @functools.wraps(method)
        def wrapper(self: FailOpenRedisCache, *args, **kwargs):
            try:
                self._check_cool_down()
                self._replay()
                result = method(self, *args, **kwargs)
            except (*UNAVAILABLE, CacheUnavailable) as exc:
                self._unavailable(exc)
                if stale is not None:
                    self._remember_stale(stale(*args, **kwargs))
                return fallback(*args, **kwargs)
            self._down_until = 0.0
            return result

        return wrapper

    return decorate


# Which keys a failed write names, by the write's signature (Django's cache API).
def _set_key(key, value=None, timeout=DEFAULT_TIMEOUT, version=None) -> list:
    return [(key, version)]


def _delete_key(key, version=None) -> list:
    return [(key, version)]


def _set_many_keys(data, timeout=DEFAULT_TIMEOUT, version=None) -> list:
    return [(key, version) for key in data]


def _delete_many_keys(keys, version=None) -> list:
    return [(key, version) for key in keys]


def _default(key, default=None, version=None):
    return default


def _false(*args, **kwargs) -> bool:
    return False


def _none(*args, **kwargs) -> None:
    return None


def _missing(key, delta=1, version=None):
    # As if the key were not there: callers (rate limits) already treat this as "start over".
    raise ValueError(f"Key {key!r} not found (the cache is unavailable).")


def _nothing_stored(data, timeout=DEFAULT_TIMEOUT, version=None) -> list:
    return list(data)


class FailOpenRedisCache(RedisCache):
    """django.core.cache.backends.redis.RedisCache whose outages are cache misses."""

    def __init__(self, server, params):
        params = dict(params)
        params["OPTIONS"] = {**DEFAULT_OPTIONS, **params.get("OPTIONS", {})}
        super().__init__(server, params)
        self._down_until = 0.0
        self._last_error: Exception | None = None
        self._stale: set[tuple] = set()
        self._stale_lock = threading.Lock()

    def _remember_stale(self, keys: list[tuple]) -> None:
        """A delete or an overwrite that failed leaves the old value in a Redis that was
        only unreachable (not restarted): a signed-out session (cached_db sessions), a team
        membership, a reference table. Remember the keys, to delete them once it answers."""
        with self._stale_lock:
            if len(self._stale) + len(keys) > MAX_STALE_KEYS:
                log.error(
                    "Cache unavailable for long: more than %d keys may be stale after it "
                    "comes back (they expire on their own timeouts)",
                    MAX_STALE_KEYS,
                )
                return
            self._stale.update(keys)

    def _replay(self) -> None:
        """Delete what went stale during the last outage, before anything else is read."""
        if not self._stale:
            return
        with self._stale_lock:
            pending, self._stale = self._stale, set()
        by_version: dict[Any, list] = {}
        for key, version in pending:
            by_version.setdefault(version, []).append(key)
        try:
            for version, keys in by_version.items():
                RedisCache.delete_many(self, keys, version=version)
        except UNAVAILABLE:
            with self._stale_lock:
                self._stale |= pending
            raise
        log.info("Cache is back: deleted %d keys that went stale while it was down", len(pending))

    def _check_cool_down(self) -> None:
        if self._down_until and time.monotonic() < self._down_until:
            raise CacheUnavailable("cooling down after a failure")

    def _unavailable(self, exc: Exception) -> None:
        now = time.monotonic()
        if isinstance(exc, CacheUnavailable):
            exc = self._last_error or exc  # say why it is down, not that we are waiting
        else:
            self._down_until = now + COOL_DOWN_SECONDS
            self._last_error = exc
        _warn(exc, now)

    def is_unavailable(self) -> bool:
        """Whether the last call found Redis unreachable (it is cooling down): for callers
        that must not take an outage for a miss (core.dbrouting's record of who just
        wrote, whose absence would send that user's reads to a lagging replica)."""
        return time.monotonic() < self._down_until

    add = _fail_open(_false)(RedisCache.add)
    get = _fail_open(_default)(RedisCache.get)
    set = _fail_open(_none, stale=_set_key)(RedisCache.set)
    touch = _fail_open(_false)(RedisCache.touch)
    delete = _fail_open(_false, stale=_delete_key)(RedisCache.delete)
    get_many = _fail_open(lambda keys, version=None: {})(RedisCache.get_many)
    has_key = _fail_open(_false)(RedisCache.has_key)
    incr = _fail_open(_missing)(RedisCache.incr)
    set_many = _fail_open(_nothing_stored, stale=_set_many_keys)(RedisCache.set_many)
    delete_many = _fail_open(_none, stale=_delete_many_keys)(RedisCache.delete_many)
    clear = _fail_open(_false)(RedisCache.clear)


_warn_lock = threading.Lock()
_last_warning = float("-inf")


def _warn(exc: Exception, now: float) -> None:
    global _last_warning
    with _warn_lock:
        if now - _last_warning < WARN_EVERY_SECONDS:
            return
        _last_warning = now
    log.warning(
        "Cache unavailable (%s: %s): serving uncached and not enforcing rate limits until "
        "Redis is back (this warning repeats at most every %.0f s)",
        exc.__class__.__name__,
        exc,
        WARN_EVERY_SECONDS,
    )
