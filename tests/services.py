"""Helpers for tests that need real services: a Celery worker process on the real broker."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def require_redis() -> None:
    """Skip without Redis locally; in CI (CI=true) a missing Redis is a failure, not a skip."""
    if settings.REDIS_URL:
        return
    if os.environ.get("CI"):
        pytest.fail("CI must run with REDIS_URL set: the worker tests need real Redis")
    pytest.skip("needs REDIS_URL (real Redis); .ci/run sets it")


@contextlib.contextmanager
def celery_worker(extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Start a real `celery worker` process on its own queue; yield the queue name."""
    queue = f"test-{uuid.uuid4().hex[:10]}"
    env = {**os.environ, **(extra_env or {}), "CELERY_TASK_ALWAYS_EAGER": "False"}
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "--app", "config", "worker",
            "--pool", "solo", "--queues", queue, "--loglevel", "WARNING",
            "--hostname", f"{queue}@%h", "--without-mingle", "--without-gossip",
        ],
        cwd=ROOT,
        env=env,
    )  # fmt: skip
    try:
        yield queue
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s")
