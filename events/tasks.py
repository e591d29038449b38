from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from events.consumers import dispatch
from events.models import Event


@shared_task(name="events.dispatch_pending")
def events_dispatch_pending(grace_seconds: int = 60, batch_size: int = 1000) -> int:
    """Hand over events whose after-commit dispatch never ran or failed (the process died
    between commit and dispatch, a consumer raised). Safe to run twice: consumers are
    idempotent by event uuid."""
    cutoff = timezone.now() - timedelta(seconds=grace_seconds)
    consumed = 0
    while True:
        ids = list(
            Event.objects.filter(consumed_at__isnull=True, occurred_at__lt=cutoff)
            .order_by("id")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not ids:
            return consumed
        done = dispatch(ids)
        consumed += done
        if done < len(ids):  # a consumer is failing: try again on the next run
            return consumed
