"""Events for rows written before the services recorded them (and for the demo data, which
is bulk-loaded around the services), so every relationship's timeline starts at its start.

Idempotent: each event's uuid is derived from its source row (uuid5), inserts skip uuids
already present, and a row whose event a service already recorded is skipped too. Run it
as often as you like: ``python manage.py events_backfill``.

Backfilled events are history, not news: they are stored as already consumed, so no webhook
or notification fires for them, and they say ``via = system``.

When: each event takes its row's own timestamp (created_at, the transition's ``at``, the
review's ``completed_at`` …). Interactions and value records carry the day they happened
as well; one entered after that day (a backlog, an import) is placed on that day at noon
instead, so the timeline reads in the order things happened.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Model
from django.utils import timezone

from events.models import Event
from events.vocabulary import VERBS

BATCH = 5000
_FOREVER = datetime.max.replace(tzinfo=UTC)
NAMESPACE = uuid.UUID("5b1d7b8e-3f0c-4f38-9a0e-2f6d0e1c9b40")
# A service-recorded stage change this close to a StageTransition row is that transition.
SAME_MOMENT = timedelta(minutes=2)


def backfill_uuid(verb: str, label: str, pk: int) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{verb}:{label}:{pk}")


def _noon(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(12)))


def _when(created_at: datetime | None, day: date | None) -> datetime:
    """The row's own timestamp, unless it was entered after the day it describes."""
    if day is None:
        return created_at or timezone.now()
    if created_at is None or timezone.localdate(created_at) > day:
        return _noon(day)
    return created_at


def _rows(model: type[Model], fields: list[str], **filters) -> Iterator[list[dict]]:
    """The model's rows as dicts in batches of BATCH, walked by primary key (keyset: each
    batch is one indexed query however large the table)."""
    last = 0
    while True:
        rows = list(
            model.objects.filter(pk__gt=last, **filters)
            .order_by("pk")
            .values("pk", *fields)[:BATCH]
        )
        if not rows:
            return
        yield rows
        last = rows[-1]["pk"]


class _Backfill:
    def __init__(self) -> None:
        from relationships.models import Interaction, Relationship, Stage, ValueRecord

        self.now = timezone.now()
        self.counts: Counter[str] = Counter()
        self.stages = dict(Stage.choices)
        self.channels = dict(Interaction.Channel.choices)
        self.kinds = dict(ValueRecord.Kind.choices)
        self.ended = Stage.ENDED
        # Every relationship's scope and label, read once (tens of thousands of small rows).
        self.relationships: dict[int, dict] = {}
        for rows in _rows(
            Relationship, ["stakeholder_id", "team_id", "stakeholder__name", "type__name"]
        ):
            for row in rows:
                kind = row["type__name"] or "relationship"
                row["label"] = f"{row['stakeholder__name']} ({kind})"
                self.relationships[row["pk"]] = row

    def recorded(self, verb: str, subject_type: str) -> set[int]:
        """Subjects that already have this verb's event (recorded by a service or an earlier
        run): one query per source."""
        return set(
            Event.objects.filter(verb=verb, subject_type=subject_type)
            .exclude(subject_id=None)
            .values_list("subject_id", flat=True)
        )

    def event(
        self,
        *,
        verb: str,
        source: str,
        source_pk: int,
        subject_type: str,
        subject_id: int,
        label: str,
        relationship_id: int,
        occurred_at: datetime,
        actor_id: int | None,
        data: dict,
    ) -> Event | None:
        scope = self.relationships.get(relationship_id)
        if scope is None:  # its relationship went while we read: nothing to show it on
            return None
        assert verb in VERBS
        return Event(
            uuid=backfill_uuid(verb, source, source_pk),
            occurred_at=occurred_at,
            verb=verb,
            actor_id=actor_id,
            via=Event.Via.SYSTEM,
            subject_type=subject_type,
            subject_id=subject_id,
            subject_label=label[:200],
            relationship_id=relationship_id,
            stakeholder_id=scope["stakeholder_id"],
            team_id=scope["team_id"],
            data=data,
            consumed_at=self.now,  # history: no consumer is owed it
        )

    def save(self, events: list[Event | None]) -> None:
        events = [event for event in events if event is not None]
        if events:
            Event.objects.bulk_create(events, batch_size=BATCH, ignore_conflicts=True)
            self.counts.update(event.verb for event in events)

    def source(
        self,
        verb: str,
        model: type[Model],
        fields: list[str],
        build: Callable[[dict], Event | None],
        subject_type: str | None = None,
        **filters,
    ) -> None:
        subject_type = subject_type or model._meta.label_lower
        done = self.recorded(verb, subject_type)
        for rows in _rows(model, fields, **filters):
            self.save([build(row) for row in rows if row["pk"] not in done])

    # --- The sources ---------------------------------------------------------------------

    def relationships_created(self) -> None:
        from relationships.models import Relationship

        def build(row: dict) -> Event | None:
            return self.event(
                verb="relationship.created",
                source="relationships.relationship",
                source_pk=row["pk"],
                subject_type="relationships.relationship",
                subject_id=row["pk"],
                label=self.relationships.get(row["pk"], {}).get("label", ""),
                relationship_id=row["pk"],
                occurred_at=_when(row["created_at"], row["started_on"]),
                actor_id=row["created_by_id"],
                data={"stage": row["stage"], "confidential": row["confidential"]},
            )

        fields = ["created_at", "started_on", "created_by_id", "stage", "confidential"]
        self.source("relationship.created", Relationship, fields, build)

    def transitions(self) -> None:
        """Stage changes: the service records them on the relationship (no transition id),
        so one it recorded (or an earlier run) is recognised by relationship, target stage
        and moment."""
        from relationships.models import StageTransition

        recorded: dict[tuple[int, str], list[datetime]] = defaultdict(list)
        for relationship_id, data, at in Event.objects.filter(
            verb="relationship.stage_changed"
        ).values_list("relationship_id", "data", "occurred_at"):
            if isinstance(data, dict):
                recorded[(relationship_id, str(data.get("to_stage")))].append(at)

        def known(row: dict) -> bool:
            moments = recorded.get((row["relationship_id"], row["to_stage"]), ())
            return any(abs(moment - row["at"]) <= SAME_MOMENT for moment in moments)

        fields = ["relationship_id", "from_stage", "to_stage", "by_id", "at", "note"]
        for rows in _rows(StageTransition, fields):
            events = []
            for row in rows:
                if known(row):
                    continue
                rel = row["relationship_id"]
                moved = {
                    "from_stage": row["from_stage"],
                    "to_stage": row["to_stage"],
                    "note": row["note"],
                }
                verbs = ["relationship.stage_changed"]
                if row["to_stage"] == self.ended:
                    verbs.append("relationship.ended")
                for verb in verbs:
                    events.append(
                        self.event(
                            verb=verb,
                            source="relationships.stagetransition",
                            source_pk=row["pk"],
                            subject_type="relationships.relationship",
                            subject_id=rel,
                            label=self.relationships.get(rel, {}).get("label", ""),
                            relationship_id=rel,
                            occurred_at=row["at"],
                            actor_id=row["by_id"],
                            data=moved,
                        )
                    )
            self.save(events)

    def interactions(self) -> None:
        from relationships.models import Interaction

        def build(row: dict) -> Event | None:
            return self.event(
                verb="interaction.logged",
                source="relationships.interaction",
                source_pk=row["pk"],
                subject_type="relationships.interaction",
                subject_id=row["pk"],
                label=f"{self.channels.get(row['channel'], row['channel'])} on "
                f"{row['occurred_on']}",
                relationship_id=row["relationship_id"],
                occurred_at=_when(row["created_at"], row["occurred_on"]),
                actor_id=row["created_by_id"],
                data={
                    "channel": row["channel"],
                    "occurred_on": row["occurred_on"].isoformat(),
                    "sentiment": row["sentiment"],
                    "summary": row["summary"][:200],
                    "is_key_experience": row["is_key_experience"],
                },
            )

        fields = [
            "relationship_id",
            "occurred_on",
            "channel",
            "summary",
            "sentiment",
            "is_key_experience",
            "created_by_id",
            "created_at",
        ]
        self.source("interaction.logged", Interaction, fields, build)

    def commitments(self) -> None:
        from relationships.models import Commitment

        def build(row: dict) -> Event | None:
            return self.event(
                verb="commitment.created",
                source="relationships.commitment",
                source_pk=row["pk"],
                subject_type="relationships.commitment",
                subject_id=row["pk"],
                label=row["description"][:60],
                relationship_id=row["relationship_id"],
                occurred_at=row["created_at"],
                actor_id=row["created_by_id"],
                data={
                    "direction": row["direction"],
                    "description": row["description"][:200],
                    "due_on": row["due_on"].isoformat() if row["due_on"] else None,
                    "owner": row["owner__username"],
                },
            )

        fields = [
            "relationship_id",
            "direction",
            "description",
            "due_on",
            "owner__username",
            "created_by_id",
            "created_at",
        ]
        self.source("commitment.created", Commitment, fields, build)

    def value_records(self) -> None:
        from relationships.models import ValueRecord

        def build(row: dict) -> Event | None:
            kind = self.kinds.get(row["kind"], row["kind"])
            if row["amount"] is not None:
                label = f"{kind}: {row['amount']} {row['unit']}".strip()
            else:
                label = f"{kind}: {row['note'][:40]}"
            return self.event(
                verb="value_record.created",
                source="relationships.valuerecord",
                source_pk=row["pk"],
                subject_type="relationships.valuerecord",
                subject_id=row["pk"],
                label=label,
                relationship_id=row["relationship_id"],
                occurred_at=_when(row["created_at"], row["recorded_on"]),
                actor_id=row["created_by_id"],
                data={
                    "kind": row["kind"],
                    "amount": str(row["amount"]) if row["amount"] is not None else None,
                    "unit": row["unit"],
                    "note": row["note"][:200],
                },
            )

        fields = [
            "relationship_id",
            "recorded_on",
            "kind",
            "amount",
            "unit",
            "note",
            "created_by_id",
            "created_at",
        ]
        self.source("value_record.created", ValueRecord, fields, build)

    def reviews(self) -> None:
        from reviews.models import RATING_QUESTIONS, Review

        def build(row: dict) -> Event | None:
            rel = row["relationship_id"]
            when = row["completed_at"] or (
                _noon(row["completed_on"]) if row["completed_on"] else row["created_at"]
            )
            return self.event(
                verb="review.completed",
                source="reviews.review",
                source_pk=row["pk"],
                subject_type="reviews.review",
                subject_id=row["pk"],
                label=f"Review of {self.relationships.get(rel, {}).get('label', '')} due "
                f"{row['due_on']:%d %b %Y}",
                relationship_id=rel,
                occurred_at=when,
                actor_id=row["completed_by_id"],
                data={
                    "decision": row["decision"],
                    "applied": row["decision_applied"],
                    "ratings": {name: row[name] for name in RATING_QUESTIONS},
                    "stage_before": row["stage_before"],
                    "stage_after": row["stage_after"],
                },
            )

        fields = [
            "relationship_id",
            "due_on",
            "decision",
            "decision_applied",
            "stage_before",
            "stage_after",
            "completed_on",
            "completed_at",
            "completed_by_id",
            "created_at",
            *RATING_QUESTIONS,
        ]
        self.source("review.completed", Review, fields, build, status=Review.Status.COMPLETED)

    def feedback(self) -> None:
        from reviews.models import FeedbackRequest, FeedbackResponse

        def asked(row: dict) -> Event | None:
            return self.event(
                verb="feedback.requested",
                source="reviews.feedbackrequest",
                source_pk=row["pk"],
                subject_type="reviews.feedbackrequest",
                subject_id=row["pk"],
                label=f"Feedback request to {row['contact__name']} ({row['created_at']:%d %b %Y})",
                relationship_id=row["relationship_id"],
                occurred_at=row["sent_at"] or row["created_at"],
                actor_id=row["sent_by_id"],
                data={"contact": row["contact__name"]},
            )

        fields = ["relationship_id", "contact__name", "sent_by_id", "sent_at", "created_at"]
        self.source("feedback.requested", FeedbackRequest, fields, asked)

        def answered(row: dict) -> Event | None:
            rel = row["relationship_id"]
            return self.event(
                verb="feedback.received",
                source="reviews.feedbackresponse",
                source_pk=row["pk"],
                subject_type="reviews.feedbackresponse",
                subject_id=row["pk"],
                label=f"Feedback {row['satisfaction']}/10 on "
                f"{self.relationships.get(rel, {}).get('label', '')}",
                relationship_id=rel,
                # The request's answered_at, when set, is the moment of the answer too (the
                # demo loads the answers later than it says they came).
                occurred_at=min(row["submitted_at"], row["request__answered_at"] or _FOREVER),
                actor_id=None,  # the stakeholder, through their link
                data={
                    "contact": row["request__contact__name"],
                    "satisfaction": row["satisfaction"],
                },
            )

        fields = [
            "relationship_id",
            "request__contact__name",
            "request__answered_at",
            "satisfaction",
            "submitted_at",
        ]
        self.source("feedback.received", FeedbackResponse, fields, answered)


def events_backfill() -> Counter[str]:
    """Record the events of existing rows that have none; returns how many were written per
    verb (rows already covered are skipped, so a second run writes none)."""
    run = _Backfill()
    run.relationships_created()
    run.transitions()
    run.interactions()
    run.commitments()
    run.value_records()
    run.reviews()
    run.feedback()
    return run.counts
