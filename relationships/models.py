from __future__ import annotations

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from accounts.models import Team
from stakeholders.models import Contact, Stakeholder


class Stage(models.TextChoices):
    IDENTIFY = "identify", "Identify"
    PRESENT = "present", "Present"
    PILOT = "pilot", "Pilot"
    BUILD = "build", "Build"
    REVIEW = "review", "Review"
    ENDED = "ended", "Ended"


# The lifecycle in order; "ended" sits outside it.
LIFECYCLE = [Stage.IDENTIFY, Stage.PRESENT, Stage.PILOT, Stage.BUILD, Stage.REVIEW]
ACTIVE_STAGES = [stage.value for stage in LIFECYCLE]


class RelationshipType(models.Model):
    """Forms a relationship can take (strategic supplier, partner, donor …): admin-editable."""

    name = models.CharField(max_length=80, unique=True)
    default_review_cadence_days = models.PositiveSmallIntegerField(
        default=90, validators=[MinValueValidator(7), MaxValueValidator(730)]
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Relationship(models.Model):
    stakeholder = models.ForeignKey(
        Stakeholder, on_delete=models.PROTECT, related_name="relationships"
    )
    type = models.ForeignKey(
        RelationshipType,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="relationships",
    )
    stage = models.CharField(max_length=12, choices=Stage.choices, default=Stage.IDENTIFY)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="managed_relationships",
        help_text="The relationship manager.",
    )
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="relationships"
    )
    confidential = models.BooleanField(
        default=False,
        help_text="Visible only to its team, its manager, executives and admins.",
    )
    is_key = models.BooleanField("key relationship", default=False)
    purpose = models.TextField(blank=True)
    started_on = models.DateField(null=True, blank=True)
    ended_on = models.DateField(null=True, blank=True)
    end_reason = models.TextField(blank=True)
    review_cadence_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(7), MaxValueValidator(730)],
        help_text="Days between reviews; empty uses the relationship type's default.",
    )
    next_review_on = models.DateField(null=True, blank=True, db_index=True)
    # The partnering work session can be recorded here when it was not logged as an interaction.
    partnering_session_on = models.DateField(null=True, blank=True)
    partnering_session_notes = models.TextField(blank=True)

    # Denormalised, kept current by relationships.services.relationship_refresh_health so
    # lists sort and filter by health without per-row queries.
    health_score = models.PositiveSmallIntegerField(default=0, db_index=True)
    health_reasons = models.JSONField(default=list, blank=True)  # what pulls it down
    health_lifts = models.JSONField(default=list, blank=True)  # what lifts it
    last_interaction_on = models.DateField(null=True, blank=True, db_index=True)

    manager_rating = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    manager_rating_note = models.TextField(blank=True)
    manager_rating_on = models.DateField(null=True, blank=True)

    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(
        excluded_fields=[
            "health_score",
            "health_reasons",
            "health_lifts",
            "last_interaction_on",
            "updated_at",
        ]
    )

    class Meta:
        ordering = ["stakeholder__name", "id"]
        indexes = [
            # The board and the list's counts read only this index (index-only scans):
            # cards by stage and health, then every column the visibility rule and the
            # board's filters test (relationships.selectors.relationships_by_stage). Key
            # columns rather than INCLUDE, which SQLite (development) lacks.
            models.Index(
                fields=[
                    "stage",
                    "-health_score",
                    "id",
                    "confidential",
                    "team",
                    "manager",
                    "type",
                    "stakeholder",
                ],
                name="rel_board_idx",
            ),
            models.Index(fields=["team", "stage"], name="rel_team_stage_idx"),
            models.Index(fields=["manager", "stage"], name="rel_manager_stage_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(health_score__lte=100), name="relationship_health_0_100"
            ),
        ]

    def __str__(self) -> str:
        kind = self.type.name if self.type_id else "relationship"
        return f"{self.stakeholder} ({kind})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("relationships:detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.stage != Stage.ENDED

    @property
    def effective_review_cadence_days(self) -> int:
        if self.review_cadence_days:
            return self.review_cadence_days
        return self.type.default_review_cadence_days if self.type_id else 90

    @property
    def health_band(self) -> str:
        return health_band(self.health_score)


HEALTH_BANDS = {"good": (70, 100), "fair": (40, 69), "poor": (0, 39)}


def health_band(score: int) -> str:
    for band, (low, high) in HEALTH_BANDS.items():
        if low <= score <= high:
            return band
    return "poor"


class StageTransition(models.Model):
    relationship = models.ForeignKey(
        Relationship, on_delete=models.CASCADE, related_name="transitions"
    )
    from_stage = models.CharField(max_length=12, choices=Stage.choices)
    to_stage = models.CharField(max_length=12, choices=Stage.choices)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True, db_index=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.relationship}: {self.from_stage} → {self.to_stage}"


class Interaction(models.Model):
    class Channel(models.TextChoices):
        MEETING = "meeting", "Meeting"
        CALL = "call", "Call"
        EMAIL = "email", "E-mail"
        EVENT = "event", "Event"
        SITE_VISIT = "site_visit", "Site visit"
        PARTNERING_SESSION = "partnering_session", "Partnering session"
        OTHER = "other", "Other"

    class Outcome(models.TextChoices):
        SUCCESS = "success", "Success"
        LEARNING = "learning", "Learning"
        DISAPPOINTMENT = "disappointment", "Disappointment"

    relationship = models.ForeignKey(
        Relationship, on_delete=models.CASCADE, related_name="interactions"
    )
    occurred_on = models.DateField(db_index=True)
    channel = models.CharField(max_length=20, choices=Channel.choices, default=Channel.MEETING)
    summary = models.TextField()
    sentiment = models.SmallIntegerField(
        default=0, validators=[MinValueValidator(-2), MaxValueValidator(2)]
    )
    participant_users = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="interactions"
    )
    participant_contacts = models.ManyToManyField(Contact, blank=True, related_name="interactions")
    is_key_experience = models.BooleanField("pilot key experience", default=False)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords(m2m_fields=[])

    class Meta:
        ordering = ["-occurred_on", "-id"]
        indexes = [
            models.Index(fields=["relationship", "-occurred_on"], name="interaction_rel_date_idx"),
            # The newest-first feed (API cursor pages): occurred_on alone leaves a whole day's
            # interactions to sort before the first page can be cut.
            models.Index(fields=["-occurred_on", "-id"], name="interaction_newest_idx"),
            # Adoption figures: interactions logged per user per week.
            models.Index(fields=["created_at", "created_by"], name="interaction_created_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(sentiment__gte=-2, sentiment__lte=2),
                name="interaction_sentiment_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} on {self.occurred_on}"


class Commitment(models.Model):
    class Direction(models.TextChoices):
        OURS = "ours", "We promised"
        THEIRS = "theirs", "They promised"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        KEPT = "kept", "Kept"
        BROKEN = "broken", "Broken"
        DROPPED = "dropped", "Dropped"

    relationship = models.ForeignKey(
        Relationship, on_delete=models.CASCADE, related_name="commitments"
    )
    direction = models.CharField(max_length=10, choices=Direction.choices, default=Direction.OURS)
    description = models.TextField()
    due_on = models.DateField(null=True, blank=True, db_index=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="commitments",
        help_text="Who on our side sees it through (or chases it, for theirs).",
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    source_interaction = models.ForeignKey(
        Interaction, on_delete=models.SET_NULL, null=True, blank=True, related_name="follow_ups"
    )
    closed_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["status", "due_on"], name="commitment_status_due_idx"),
            models.Index(fields=["owner", "status"], name="commitment_owner_status_idx"),
        ]

    def __str__(self) -> str:
        return self.description[:60]

    def is_overdue(self, today) -> bool:
        return self.status == self.Status.OPEN and self.due_on is not None and self.due_on < today


class ValueRecord(models.Model):
    class Kind(models.TextChoices):
        REVENUE = "revenue", "Revenue"
        COST_SAVING = "cost_saving", "Cost saving"
        REFERRAL = "referral", "Referral"
        IN_KIND = "in_kind", "In-kind"
        VOLUNTEER_HOURS = "volunteer_hours", "Volunteer hours"
        QUALITATIVE = "qualitative", "Qualitative"

    relationship = models.ForeignKey(
        Relationship, on_delete=models.CASCADE, related_name="value_records"
    )
    recorded_on = models.DateField(db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    unit = models.CharField(
        max_length=20, blank=True, help_text="Currency code (GBP, EUR …), hours, referrals …"
    )
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-recorded_on", "-id"]

    def __str__(self) -> str:
        if self.amount is not None:
            return f"{self.get_kind_display()}: {self.amount} {self.unit}".strip()
        return f"{self.get_kind_display()}: {self.note[:40]}"

    @property
    def is_quantitative(self) -> bool:
        return self.kind != self.Kind.QUALITATIVE
