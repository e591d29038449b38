"""The Redis cache fails open: with Redis unreachable, cache calls are quick misses, pages and
API calls keep answering, and rate limits allow rather than refuse (core/cache.py)."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid

import pytest
from django.test import RequestFactory
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.throttling import SimpleRateThrottle

from accounts.tokens import token_create
from core import cache as fail_open
from core.cache import FailOpenRedisCache
from reviews import ratelimit


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def backend(location: str) -> FailOpenRedisCache:
    return FailOpenRedisCache(location, {"KEY_PREFIX": f"t{uuid.uuid4().hex[:8]}"})


@pytest.fixture
def down_cache(settings) -> str:
    location = f"redis://127.0.0.1:{closed_port()}/0"
    settings.CACHES = {
        "default": {"BACKEND": "core.cache.FailOpenRedisCache", "LOCATION": location}
    }
    return location


@pytest.fixture(autouse=True)
def _fresh_warning_clock(monkeypatch):
    monkeypatch.setattr(fail_open, "_last_warning", float("-inf"))


def test_with_redis_unreachable_every_call_is_a_quick_miss():
    cache = backend(f"redis://127.0.0.1:{closed_port()}/0")
    started = time.monotonic()
    assert cache.get("k") is None
    assert cache.get("k", "fallback") == "fallback"
    assert cache.set("k", 1) is None
    assert cache.add("k", 1) is False
    assert cache.get_many(["a", "b"]) == {}
    assert cache.set_many({"a": 1, "b": 2}) == ["a", "b"]  # reported as not stored
    assert cache.has_key("k") is False
    assert cache.delete("k") is False
    assert cache.touch("k") is False
    assert cache.get_or_set("k", 42) == 42
    with pytest.raises(ValueError, match="not found"):
        cache.incr("k")
    with pytest.raises(ValueError):
        cache.decr("k")
    assert time.monotonic() - started < 1.0


def test_it_warns_once_not_on_every_call(caplog):
    cache = backend(f"redis://127.0.0.1:{closed_port()}/0")
    with caplog.at_level(logging.WARNING, logger="core.cache"):
        for _ in range(20):
            cache.get("k")
            cache.add("k", 1)
    warnings = [r for r in caplog.records if r.name == "core.cache"]
    assert len(warnings) == 1
    assert "Cache unavailable" in warnings[0].getMessage()
    assert "rate limits" in warnings[0].getMessage()


def test_other_redis_errors_still_raise(monkeypatch):
    # Only an unreachable Redis is tolerated: a bad command is a bug and must surface.
    from redis.exceptions import ResponseError

    cache = backend(f"redis://127.0.0.1:{closed_port()}/0")

    def wrong_type(*args, **kwargs):
        raise ResponseError("WRONGTYPE Operation against a key holding the wrong kind of value")

    monkeypatch.setattr(type(cache._cache), "get", wrong_type)
    with pytest.raises(ResponseError):
        cache.get("k")


@pytest.mark.django_db
def test_a_throttled_api_answers_200_while_the_cache_is_down(
    client, down_cache, manager_a, monkeypatch
):
    # Throttles count in the cache; with it down they let every call through (fail open)
    # instead of answering 500 or 429.
    monkeypatch.setattr(SimpleRateThrottle, "THROTTLE_RATES", {"user": "2/min", "anon": "2/min"})
    _, raw = token_create(user=manager_a, name="fail-open", scope="read")
    statuses = [
        client.get("/api/v1/relationships/", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code
        for _ in range(5)
    ]
    assert statuses == [200] * 5


@pytest.mark.django_db
def test_the_pages_answer_while_the_cache_is_down(client, down_cache, manager_a):
    client.force_login(manager_a)
    for url in ("/", "/relationships/", "/dashboard/", "/plans/"):
        assert client.get(url).status_code == 200, url


def test_the_survey_rate_limit_allows_requests_while_the_cache_is_down(down_cache, settings):
    settings.FEEDBACK_RATE_LIMIT = 1
    request = RequestFactory().get("/feedback/x/", REMOTE_ADDR="203.0.113.9")
    assert [ratelimit.too_many(request, "survey") for _ in range(5)] == [False] * 5


# --- Against a real Redis that goes away and comes back ---------------------------------


def redis_server_binary() -> str:
    binary = shutil.which("redis-server")
    if binary:
        return binary
    if os.environ.get("CI"):
        pytest.fail("CI must have redis-server installed: the fail-open test starts its own")
    pytest.skip("needs the redis-server binary")


def start_redis(binary: str, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    pytest.fail(f"redis-server did not listen on {port} within 10 s")


def kill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def test_it_caches_again_once_redis_is_back(monkeypatch):
    binary = redis_server_binary()
    monkeypatch.setattr(fail_open, "COOL_DOWN_SECONDS", 0.2)
    port = closed_port()
    cache = backend(f"redis://127.0.0.1:{port}/0")
    process = start_redis(binary, port)
    try:
        cache.set("k", "cached")
        assert cache.get("k") == "cached"
        assert cache.add("n", 1) is True and cache.incr("n") == 2

        kill(process)  # like an OOM kill: no goodbye to the open connections
        assert cache.get("k", "miss") == "miss"
        assert cache.add("n", 1) is False

        process = start_redis(binary, port)  # empty: nothing was saved
        time.sleep(0.3)  # past the cool-down
        assert cache.get("k", "miss") == "miss"
        cache.set("k", "again")
        assert cache.get("k") == "again"
    finally:
        kill(process)


def test_writes_that_failed_while_redis_was_unreachable_are_undone_when_it_answers(
    monkeypatch,
):
    """A partition, not a restart: Redis keeps its data while the site cannot reach it. A
    session deleted at sign-out (cached_db sessions) or a membership forgotten during the
    partition must not come back from the cache afterwards."""
    binary = redis_server_binary()
    monkeypatch.setattr(fail_open, "COOL_DOWN_SECONDS", 0.0)
    port = closed_port()
    process = start_redis(binary, port)
    try:
        cache = backend(f"redis://127.0.0.1:{port}/0")
        cache.set("session:signed-out", "still signed in")
        cache.set("teams:42", [1, 2])
        cache.set_many({"a": 1, "b": 2})
        cache.set("untouched", "kept")

        def unreachable(*args, **kwargs):
            raise RedisConnectionError("partitioned")

        with monkeypatch.context() as partition:
            partition.setattr(cache._cache, "get_client", unreachable)
            assert cache.delete("session:signed-out") is False
            cache.set("teams:42", [1])
            cache.delete_many(["a", "b"])
            assert cache.get("untouched", "miss") == "miss"

        # Reachable again: the first call deletes what went stale before answering.
        assert cache.get("session:signed-out") is None
        assert cache.get("teams:42") is None
        assert cache.get_many(["a", "b"]) == {}
        assert cache.get("untouched") == "kept"
    finally:
        kill(process)
