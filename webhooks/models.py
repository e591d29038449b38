"""Webhooks: endpoints that admins register, and one delivery row per (endpoint, event).

An event (relationship.created, review.completed …) becomes one WebhookDelivery per active
endpoint subscribed to it, created in the transaction that caused the event; a Celery task
posts it after commit (webhooks.services.delivery_attempt). The unique (endpoint, event_id)
key makes publishing the same event twice harmless.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.urls import reverse

from events.vocabulary import WEBHOOK_VERBS
from webhooks.addresses import validate_webhook_url

# What integrations can subscribe to: the webhook subset of the event vocabulary.
EventType = models.TextChoices(
    "EventType",
    [(verb.upper().replace(".", "_"), (verb, label)) for verb, label in WEBHOOK_VERBS.items()],
)


# Only plain web URLs: no file:, ftp: or gopher: through urllib's openers.
webhook_url_validator = URLValidator(schemes=["http", "https"])


def validate_event_types(value) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("Choose at least one event type.")
    unknown = [v for v in value if v not in EventType.values]
    if unknown:
        raise ValidationError(f"Unknown event types: {', '.join(map(str, unknown))}.")
    if len(set(value)) != len(value):
        raise ValidationError("Each event type only once.")


class WebhookEndpoint(models.Model):
    # Public addresses only, unless WEBHOOK_ALLOWED_INTERNAL_HOSTS allows an internal one
    # (webhooks.addresses); checked again after DNS at every delivery.
    url = models.URLField(
        "URL", max_length=500, validators=[webhook_url_validator, validate_webhook_url]
    )
    description = models.CharField(max_length=200, blank=True)
    # Kept in clear: signing needs it. Shown to admins once, on creation and on rotation.
    secret = models.CharField(max_length=100, editable=False)
    event_types = models.JSONField(default=list, validators=[validate_event_types])
    active = models.BooleanField(default=True)
    include_confidential = models.BooleanField(
        "include confidential relationships",
        default=False,
        help_text="Off: events about confidential relationships are not sent to this URL.",
    )
    consecutive_failures = models.PositiveIntegerField(default=0)
    disabled_at = models.DateTimeField(
        null=True, blank=True, help_text="Set when repeated failures switched it off."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["url", "id"]
        indexes = [models.Index(fields=["active"], name="webhook_endpoint_active_idx")]

    def __str__(self) -> str:
        return self.url

    def get_absolute_url(self) -> str:
        return reverse("webhooks:detail", args=[self.pk])

    @property
    def secret_hint(self) -> str:
        """Enough to tell secrets apart, not enough to sign with."""
        return f"{self.secret[:10]}…" if self.secret else ""

    def subscribes_to(self, event_type: str) -> bool:
        return event_type in (self.event_types or [])


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event_id = models.UUIDField(default=uuid.uuid4)
    event_type = models.CharField(max_length=40, choices=EventType.choices)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_log_idx"),
            # The sweep for deliveries whose task was lost (broker down when enqueued).
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(status="pending"),
                name="webhook_delivery_pending_idx",
            ),
        ]
        constraints = [
            # Publishing the same event twice (a retried task, a second signal) adds nothing.
            models.UniqueConstraint(fields=["endpoint", "event_id"], name="webhook_delivery_once"),
        ]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event_type} → {self.endpoint_id} ({self.status})"
