"""The event log: one row per thing that happened, written by the service that did it.

``relationship``, ``stakeholder`` and ``team`` say what an event belongs to, for feeds and
for scoping: an event on a confidential relationship is shown only to those who may see
that relationship *now* (the join decides, not a copy). They are foreign keys without a
database constraint: the log is append-only history and outlives a deleted record, and an
event whose relationship is gone stays hidden from everyone who does not read everything.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


def _history_link(to: str) -> models.ForeignKey:
    return models.ForeignKey(
        to,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )


class Event(models.Model):
    class Via(models.TextChoices):
        WEB = "web", "the web app"
        API = "api", "the API"
        ADMIN = "admin", "the admin"
        TASK = "task", "a background task"
        SYSTEM = "system", "the system"

    id = models.BigAutoField(primary_key=True)
    # The public id: webhooks send it, consumers are idempotent by it, and an event that may
    # be reported more than once (review.overdue) has a deterministic one.
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    occurred_at = models.DateTimeField(default=timezone.now)
    verb = models.CharField(max_length=40)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    via = models.CharField(max_length=10, choices=Via.choices, default=Via.SYSTEM)
    token = models.ForeignKey(
        "accounts.ApiToken", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject_type = models.CharField(max_length=60)  # model label, e.g. relationships.interaction
    subject_id = models.BigIntegerField(null=True, blank=True)
    subject_label = models.CharField(max_length=200, blank=True)
    relationship = _history_link("relationships.Relationship")
    stakeholder = _history_link("stakeholders.Stakeholder")
    team = _history_link("accounts.Team")
    data = models.JSONField(default=dict, blank=True)
    # Set once every after-commit consumer has handled the event; the sweep retries the rest.
    consumed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["relationship", "-id"], name="event_relationship_idx"),
            models.Index(fields=["stakeholder", "-id"], name="event_stakeholder_idx"),
            models.Index(fields=["actor", "-id"], name="event_actor_idx"),
            models.Index(fields=["verb", "-id"], name="event_verb_idx"),
            # The feeds and /api/v1/events/ filtered by verb, newest first by time.
            models.Index(fields=["verb", "-occurred_at", "-id"], name="event_verb_time_idx"),
            models.Index(fields=["occurred_at"], name="event_occurred_idx"),
            models.Index(
                fields=["id"],
                condition=models.Q(consumed_at__isnull=True),
                name="event_unconsumed_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.verb} {self.subject_label}".strip()
