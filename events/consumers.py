"""After-commit consumers of events: webhooks, notifications, read models.

An app registers a consumer in its ``AppConfig.ready``. After the transaction that recorded
events commits, ``dispatch`` hands each consumer the batch of events it subscribed to, once
per batch (never once per row), then marks them consumed. A consumer that fails is logged
and the batch stays unconsumed: ``events_dispatch_pending`` (a periodic task) hands it over
again, so consumers must be idempotent by ``Event.uuid`` (a unique key on what they write).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from events.models import Event
from events.vocabulary import VERBS

logger = logging.getLogger("rapport.events")


@dataclass(frozen=True)
class Consumer:
    name: str
    verbs: frozenset[str]
    handle: Callable[[list[Event]], None]
    # Whether it writes to the database (its writes then commit or roll back together);
    # a consumer that only touches the cache needs no savepoint.
    atomic: bool = True


_consumers: dict[str, Consumer] = {}


def register(
    name: str,
    verbs: Iterable[str],
    handle: Callable[[list[Event]], None],
    *,
    atomic: bool = True,
) -> None:
    verbs = frozenset(verbs)
    unknown = verbs - set(VERBS)
    if unknown:
        raise ValueError(f"Consumer {name!r} subscribes to unknown verbs {sorted(unknown)}")
    _consumers[name] = Consumer(name, verbs, handle, atomic)


def consumers() -> list[Consumer]:
    return list(_consumers.values())


def dispatch(event_ids: list[int]) -> int:
    """Hand these (committed) events to their consumers; returns how many were consumed."""
    if not event_ids:
        return 0
    events = list(
        Event.objects.filter(pk__in=event_ids, consumed_at__isnull=True)
        .select_related("actor", "relationship")
        .order_by("id")
    )
    if not events:
        return 0
    failed = False
    for consumer in consumers():
        batch = [event for event in events if event.verb in consumer.verbs]
        if not batch:
            continue
        try:
            with transaction.atomic() if consumer.atomic else contextlib.nullcontext():
                consumer.handle(batch)
        except Exception:
            failed = True
            logger.exception(
                "event consumer %s failed on %d events; they will be retried",
                consumer.name,
                len(batch),
            )
    if failed:
        return 0
    return Event.objects.filter(pk__in=[e.pk for e in events]).update(consumed_at=timezone.now())
