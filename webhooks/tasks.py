"""Celery tasks of the webhooks app: take ids, reload, call a service; safe to run twice.

The stalled-delivery sweep belongs in CELERY_BEAT_SCHEDULE ("webhooks-retry-stalled").
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import OperationalError

from webhooks import services

log = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    # Enqueued from web requests; the outcome is on the delivery row. Without a result the
    # sender does not subscribe to one in Redis, which would retry for ~20 s in an outage.
    ignore_result=True,
    # Retries of the HTTP request are counted by the delivery row (WEBHOOK_MAX_ATTEMPTS);
    # these cover database hiccups while claiming or recording.
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=None,
)
def deliver(self, delivery_id: int, attempt: int = 1) -> str:
    """Attempt ``attempt`` of one delivery; a failure schedules the next with backoff."""
    result = services.delivery_attempt(delivery_id=delivery_id, attempt=attempt)
    if result.outcome == "retry":
        raise self.retry(args=(delivery_id, attempt + 1), kwargs={}, countdown=result.retry_in)
    return result.outcome


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def retry_stalled() -> int:
    """Every few minutes: deliveries whose task was lost (broker outage, dead worker)."""
    return services.deliveries_retry_stalled()


def enqueue(task, *args) -> None:
    """Queue after commit without letting a broker outage break the request that caused the
    event: the sweep sends what was not queued."""
    try:
        task.delay(*args)
    except Exception:  # kombu raises a variety of connection errors
        log.warning("Could not queue %s%r; the sweep will catch up", task.name, args)
