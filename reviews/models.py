"""Reviews of relationships, the reminders they and commitments produce, stakeholder feedback.

A review's stored status is scheduled, completed or cancelled. "Due" and "overdue" are not
stored: they follow from ``due_on`` and today's date (``Review.state`` and
``selectors.with_state``), so they are always current without a job flipping them.
"""

from __future__ import annotations

import hashlib
from datetime import date

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from relationships.models import Commitment, Relationship
from stakeholders.models import Contact

ONE_TO_FIVE = [MinValueValidator(1), MaxValueValidator(5)]

# The questions of the review form: field name → label.
RATING_QUESTIONS = {
    "trust": "Trust",
    "communication": "Communication",
    "value_to_us": "Value delivered to us",
    "value_to_them": "Value delivered to them",
    "overall": "Overall satisfaction",
}


def _rating_checks(prefix: str, names) -> list[models.CheckConstraint]:
    return [
        models.CheckConstraint(
            condition=models.Q(**{f"{name}__isnull": True})
            | models.Q(**{f"{name}__gte": 1, f"{name}__lte": 5}),
            name=f"{prefix}_{name}_1_5",
        )
        for name in names
    ]


class Review(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        COMPLETED = "completed", "Completed"
        CANCELLED = "cancelled", "Cancelled"

    class Decision(models.TextChoices):
        GROW = "grow", "Grow: continue along the current pattern"
        CHANGE = "change", "Change: reflect an emerging realisation"
        END = "end", "End: it has not worked"

    relationship = models.ForeignKey(Relationship, on_delete=models.CASCADE, related_name="reviews")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    due_on = models.DateField()
    # True when someone asked for it now ("start review", entering the review stage): its
    # date then stays put instead of following the cadence.
    on_demand = models.BooleanField(default=False)
    reviewers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="asked_reviews",
        help_text="Executives asked to take part; they may complete the review.",
    )
    trust = models.PositiveSmallIntegerField(null=True, blank=True, validators=ONE_TO_FIVE)
    communication = models.PositiveSmallIntegerField(null=True, blank=True, validators=ONE_TO_FIVE)
    value_to_us = models.PositiveSmallIntegerField(null=True, blank=True, validators=ONE_TO_FIVE)
    value_to_them = models.PositiveSmallIntegerField(null=True, blank=True, validators=ONE_TO_FIVE)
    overall = models.PositiveSmallIntegerField(
        "overall satisfaction", null=True, blank=True, validators=ONE_TO_FIVE
    )
    went_well = models.TextField("what went well", blank=True)
    went_badly = models.TextField("what did not go well", blank=True)
    decision = models.CharField(max_length=10, choices=Decision.choices, blank=True)
    decision_note = models.TextField(
        blank=True, help_text="Why it ends, or what changes. Required for both."
    )
    decision_applied = models.BooleanField(default=False)
    stage_before = models.CharField(max_length=12, blank=True)
    stage_after = models.CharField(max_length=12, blank=True)
    completed_on = models.DateField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(m2m_fields=[])

    class Meta:
        ordering = ["-due_on", "-id"]
        indexes = [
            # The reminder scan and the reviews page: open reviews by date.
            models.Index(fields=["status", "due_on"], name="review_status_due_idx"),
            models.Index(
                fields=["relationship", "status", "-completed_on"], name="review_rel_history_idx"
            ),
        ]
        constraints = [
            # Only one open review per relationship: opening twice at once cannot make two.
            models.UniqueConstraint(
                fields=["relationship"],
                condition=models.Q(status="scheduled"),
                name="review_one_open_per_relationship",
            ),
            *_rating_checks("review", RATING_QUESTIONS),
        ]

    def __str__(self) -> str:
        return f"Review of {self.relationship} due {self.due_on:%d %b %Y}"

    def get_absolute_url(self) -> str:
        from reviews.links import review_path

        return review_path(self.pk)

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.SCHEDULED

    def state(self, today: date) -> str:
        """scheduled / due / overdue / completed / cancelled, as of ``today``."""
        if self.status != self.Status.SCHEDULED:
            return self.status
        if self.due_on < today:
            return "overdue"
        if self.due_on == today:
            return "due"
        return "scheduled"

    @property
    def decision_label(self) -> str:
        """ "Grow", "Change" or "End" (the choice label without its explanation)."""
        return self.get_decision_display().split(":")[0] if self.decision else ""

    def ratings(self) -> dict[str, int | None]:
        return {name: getattr(self, name) for name in RATING_QUESTIONS}


class Reminder(models.Model):
    """One reminder owed to one person. The unique constraints make delivery exactly-once:
    every scan inserts what is owed today with ``ignore_conflicts``, and only rows whose
    ``notified_at``/``emailed_at`` are still empty are claimed (row-locked) and sent.

    ``for_date`` is the scan day for due/overdue/commitment reminders (one per day: a scan
    after downtime owes today's only, not one per missed day) and the review's due date for
    "upcoming" and "escalated" (one per review cycle).
    """

    class Kind(models.TextChoices):
        REVIEW_UPCOMING = "review_upcoming", "Review coming up"
        REVIEW_DUE = "review_due", "Review due today"
        REVIEW_OVERDUE = "review_overdue", "Review overdue"
        REVIEW_ESCALATED = "review_escalated", "Review overdue: escalated"
        COMMITMENT_OVERDUE = "commitment_overdue", "Commitment past due"

    kind = models.CharField(max_length=20, choices=Kind.choices)
    review = models.ForeignKey(
        Review, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders"
    )
    commitment = models.ForeignKey(
        Commitment, on_delete=models.CASCADE, null=True, blank=True, related_name="reminders"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminders"
    )
    for_date = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    # Not e-mailed on purpose: the user turned e-mail off, or a newer reminder superseded it.
    email_skipped = models.BooleanField(default=False)

    class Meta:
        ordering = ["for_date", "id"]
        indexes = [
            models.Index(
                fields=["notified_at"],
                condition=models.Q(notified_at__isnull=True),
                name="reminder_to_notify_idx",
            ),
            models.Index(
                fields=["recipient", "for_date"],
                condition=models.Q(emailed_at__isnull=True, email_skipped=False),
                name="reminder_to_email_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(
                    models.Q(review__isnull=False, commitment__isnull=True)
                    | models.Q(review__isnull=True, commitment__isnull=False)
                ),
                name="reminder_one_subject",
            ),
            # Exactly once: a (kind, subject, recipient, day) can only be inserted once.
            models.UniqueConstraint(
                fields=["kind", "review", "recipient", "for_date"],
                condition=models.Q(review__isnull=False),
                name="reminder_once_per_review_day",
            ),
            models.UniqueConstraint(
                fields=["kind", "commitment", "recipient", "for_date"],
                condition=models.Q(commitment__isnull=False),
                name="reminder_once_per_commitment_day",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.recipient} on {self.for_date}"

    @property
    def subject_key(self) -> str:
        if self.review_id:
            return f"review:{self.review_id}"
        return f"commitment:{self.commitment_id}"


class Digest(models.Model):
    """The one daily digest e-mail of one user: the unique key makes it one a day even when
    two runs overlap or beat catches up after downtime."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    for_date = models.DateField()
    items = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["recipient", "for_date"], name="digest_once_a_day")
        ]

    def __str__(self) -> str:
        return f"Digest for {self.recipient} on {self.for_date}"


def hash_nonce(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


class FeedbackRequest(models.Model):
    """A survey sent to one contact. The link carries a signed (request id, nonce) pair; only
    the nonce's hash is stored, so the database alone cannot forge a working link.

    There are two such links to one survey, each with its own nonce: the one e-mailed to the
    contact (minted when the e-mail goes out) and the one shown once to whoever sent the
    request, to share themselves (minted with the request). Either answers it, once."""

    relationship = models.ForeignKey(
        Relationship, on_delete=models.CASCADE, related_name="feedback_requests"
    )
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="+")
    message = models.TextField(
        blank=True, help_text="A short personal note shown above the questions."
    )
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    nonce_hash = models.CharField(max_length=64, blank=True)
    copy_nonce_hash = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(excluded_fields=["nonce_hash", "copy_nonce_hash"])

    # The sender's link, set on the object feedback_request_create returns: never stored.
    copy_link = ""

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["created_at"],
                condition=models.Q(sent_at__isnull=True),
                name="feedback_unsent_idx",
            )
        ]

    def __str__(self) -> str:
        return f"Feedback request to {self.contact} ({self.created_at:%d %b %Y})"


class FeedbackResponse(models.Model):
    request = models.OneToOneField(
        FeedbackRequest, on_delete=models.CASCADE, related_name="response"
    )
    # Denormalised from the request so relationship lists and dashboards need no join.
    relationship = models.ForeignKey(
        Relationship, on_delete=models.CASCADE, related_name="feedback_responses"
    )
    satisfaction = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    responsiveness = models.PositiveSmallIntegerField(validators=ONE_TO_FIVE)
    communication = models.PositiveSmallIntegerField(validators=ONE_TO_FIVE)
    value = models.PositiveSmallIntegerField(validators=ONE_TO_FIVE)
    comment = models.TextField(blank=True)
    submitted_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["relationship", "-submitted_at"], name="feedback_rel_latest_idx")
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(satisfaction__gte=0, satisfaction__lte=10),
                name="feedback_satisfaction_0_10",
            ),
            *_rating_checks("feedback", ["responsiveness", "communication", "value"]),
        ]

    def __str__(self) -> str:
        return f"Feedback {self.satisfaction}/10 on {self.relationship}"

    @property
    def satisfaction_on_five(self) -> float:
        """0–10 mapped onto the review's 1–5 scale (0 → 1, 10 → 5)."""
        return round(1 + self.satisfaction * 0.4, 1)
