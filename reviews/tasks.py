"""Celery tasks: take ids, reload, call a service; safe to run twice.

Schedules are declared in config/settings.py CELERY_BEAT_SCHEDULE ("reviews-reminders",
hourly). The reminders are derived from database state, so if the broker or beat was down
the next run sends what is owed (see reviews/reminders.py).
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from reviews import reminders, services

log = logging.getLogger(__name__)

RETRY = {
    "acks_late": True,  # a worker that dies mid-run gets the task redelivered
    "autoretry_for": (OperationalError,),  # database restarts, lock timeouts
    "retry_backoff": True,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 5,
}


@shared_task(**RETRY)
def run_reminders() -> dict[str, int]:
    """Hourly: scan, notify in-app, e-mail escalations, send the day's digests."""
    return reminders.reminders_run()


# Enqueued from web requests and nobody reads its result: with ignore_result the sender
# does not subscribe to the result in Redis, which would retry for ~20 s in an outage.
@shared_task(**RETRY, ignore_result=True)
def send_feedback_request(request_id: int) -> bool:
    return services.feedback_request_deliver(request_id=request_id)


def enqueue(task, *args) -> None:
    """Queue a task after commit without letting a broker outage break the web request: what
    was not queued is picked up by the hourly run (everything is derived from the database)."""
    try:
        task.delay(*args)
    except Exception:  # kombu raises a variety of connection errors
        log.warning("Could not queue %s%r; the hourly run will catch up", task.name, args)
