"""With Redis (broker, results, cache) unreachable, the web side stays quick: enqueuing after a
write gives up within about a second and logs it, and the cache is a miss, never an error.

Run in a fresh process with the production-style settings (REDIS_URL set to a port nobody
listens on), so it exercises the real publish retry policy and cache backend."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import json, logging, time
import django
django.setup()
from django.conf import settings
from django.core.cache import cache
from reviews.tasks import enqueue as reviews_enqueue, send_feedback_request
from webhooks.tasks import deliver, enqueue as webhooks_enqueue

records = []
class Keep(logging.Handler):
    def emit(self, record):
        records.append(record.getMessage())
logging.getLogger().addHandler(Keep())

timings = {}
started = time.monotonic()
reviews_enqueue(send_feedback_request, 1)
timings["feedback_enqueue"] = time.monotonic() - started
started = time.monotonic()
webhooks_enqueue(deliver, 2, 1)
timings["webhook_enqueue"] = time.monotonic() - started
started = time.monotonic()
value = cache.get("anything", "miss")
timings["cache_get"] = time.monotonic() - started
print(json.dumps({
    "backend": settings.CACHES["default"]["BACKEND"],
    "cache_value": value,
    "timings": timings,
    "log": records,
}))
"""


def test_enqueue_and_cache_fail_fast_and_soft_with_redis_down():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "DATABASE_URL": "sqlite:///:memory:",
            "CELERY_TASK_ALWAYS_EAGER": "False",
            "LOG_LEVEL": "WARNING",
        }
    )
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["backend"] == "core.cache.FailOpenRedisCache"
    assert report["cache_value"] == "miss"
    # Without the publish retry policy and ignore_result each of these took ~20 s.
    assert report["timings"]["feedback_enqueue"] < 1.5, report
    assert report["timings"]["webhook_enqueue"] < 1.5, report
    assert report["timings"]["cache_get"] < 0.5, report
    assert any(
        "Could not queue reviews.tasks.send_feedback_request(1,)" in m for m in report["log"]
    )
    assert any("Could not queue webhooks.tasks.deliver(2, 1)" in m for m in report["log"])


def test_nothing_sent_by_beat_or_a_web_request_waits_on_a_result(settings):
    # With the Redis result backend a sender that keeps the result subscribes to it first,
    # retrying for ~20 s while Redis is down; nobody reads these results.
    from reviews.tasks import send_feedback_request
    from webhooks.tasks import deliver

    assert all(
        entry.get("options", {}).get("ignore_result") is True
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
    )
    assert deliver.ignore_result and send_feedback_request.ignore_result
