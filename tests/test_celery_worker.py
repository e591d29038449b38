"""A task goes through the real broker to a real worker process and comes back."""

from __future__ import annotations

import pytest

from core.tasks import ping
from tests.services import celery_worker, require_redis

pytestmark = pytest.mark.services


def test_a_task_round_trips_through_redis_and_a_worker(settings):
    require_redis()
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from config.celery import app

    app.conf.task_always_eager = False
    try:
        with celery_worker() as queue:
            result = ping.apply_async(queue=queue)
            assert result.get(timeout=60) == "pong"
            assert result.successful()
    finally:
        app.conf.task_always_eager = True
