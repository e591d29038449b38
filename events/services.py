"""Recording events: ``event_record`` is called by every service that changes domain data,
inside that service's transaction, so an event exists exactly when its write committed.

After the outermost transaction commits, the events it recorded are handed to the
consumers in one batch (``events.consumers.dispatch``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.core.exceptions import FieldDoesNotExist
from django.db import models, transaction

from events import consumers
from events.context import current_source
from events.models import Event
from events.vocabulary import VERBS

if TYPE_CHECKING:
    from accounts.models import User


def _scope_of(subject: models.Model) -> dict[str, int | None]:
    """relationship, stakeholder and team ids an event about ``subject`` belongs to, read
    from ids already on the objects (no query)."""
    label = subject._meta.label_lower
    if label == "relationships.relationship":
        relationship = subject
    elif _has(subject, "relationship"):
        relationship = subject.relationship  # the caller's object: already loaded
    else:
        relationship = None
    if relationship is not None:
        return {
            "relationship_id": relationship.pk,
            "stakeholder_id": relationship.stakeholder_id,
            "team_id": relationship.team_id,
        }
    if label == "stakeholders.stakeholder":
        return {"relationship_id": None, "stakeholder_id": subject.pk, "team_id": None}
    return {
        "relationship_id": None,
        "stakeholder_id": getattr(subject, "stakeholder_id", None),
        "team_id": getattr(subject, "team_id", None),
    }


def _has(subject: models.Model, name: str) -> bool:
    try:
        subject._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return True


@dataclass
class EventSpec:
    """One event to record; ``event_record`` and ``events_record`` take these."""

    verb: str
    subject: models.Model
    actor: User | None = None
    data: dict[str, Any] = field(default_factory=dict)
    uuid: uuid.UUID | None = None
    occurred_at: datetime | None = None


def _build(spec: EventSpec) -> Event:
    if spec.verb not in VERBS:
        raise ValueError(f"Unknown event verb {spec.verb!r}: add it to events/vocabulary.py")
    source = current_source()
    event = Event(
        verb=spec.verb,
        actor=spec.actor if spec.actor is not None and spec.actor.pk else None,
        via=source.via,
        token_id=source.token_id,
        subject_type=spec.subject._meta.label_lower,
        subject_id=spec.subject.pk,
        subject_label=str(spec.subject)[:200],
        data=spec.data,
        **_scope_of(spec.subject),
    )
    if spec.uuid is not None:
        event.uuid = spec.uuid
    if spec.occurred_at is not None:
        event.occurred_at = spec.occurred_at
    return event


def event_record(
    *,
    verb: str,
    subject: models.Model,
    actor: User | None,
    data: dict[str, Any] | None = None,
    event_uuid: uuid.UUID | None = None,
) -> Event:
    """Record that ``actor`` (None: the system) did ``verb`` to ``subject``; ``data`` is a
    small JSON of what changed. Call inside the service's transaction."""
    event = _build(EventSpec(verb, subject, actor, data or {}, event_uuid))
    event.save()
    _dispatch_after_commit([event.pk])
    return event


def events_record(specs: Iterable[EventSpec]) -> list[Event]:
    """Record many events in one INSERT (a batch job: the reminder run; a service that did
    several things). Events whose uuid was recorded before are skipped, so a job run twice
    records each event once."""
    specs = list(specs)
    events = [_build(spec) for spec in specs]
    if not events:
        return []
    if all(spec.uuid is None for spec in specs):
        # Fresh uuids cannot have been recorded before: no conflict to ignore, and
        # PostgreSQL returns the new ids with the INSERT.
        Event.objects.bulk_create(events, batch_size=1000)
        _dispatch_after_commit([event.pk for event in events])
        return events
    uuids = [event.uuid for event in events]
    Event.objects.bulk_create(events, ignore_conflicts=True, batch_size=1000)
    # ignore_conflicts leaves pk unset: read back which of them exist now.
    ids = list(Event.objects.filter(uuid__in=uuids).values_list("pk", flat=True))
    _dispatch_after_commit(ids)
    return events


# --- After commit: one dispatch per transaction ---------------------------------------------


def _pending(connection) -> list[int]:
    pending = getattr(connection, "_rapport_pending_events", None)
    if pending is None:
        pending = connection._rapport_pending_events = []
    return pending


def _flush() -> None:
    connection = transaction.get_connection()
    pending = _pending(connection)
    ids, pending[:] = list(pending), []
    consumers.dispatch(ids)


def _dispatch_after_commit(ids: list[int]) -> None:
    connection = transaction.get_connection()
    _pending(connection).extend(ids)
    if not connection.in_atomic_block:
        _flush()
        return
    # One flush per transaction, not one per event. A registration made earlier in this
    # transaction still covers this event: Django drops it only when a savepoint it was
    # made under rolls back, and every savepoint still open then encloses this event too,
    # so the two would go together. (Ids of rolled-back events left in the list are
    # harmless: dispatch reads the rows, and theirs do not exist.)
    if any(callback is _flush for _savepoints, callback, _robust in connection.run_on_commit):
        return
    transaction.on_commit(_flush)
