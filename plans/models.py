"""The cascade of objectives and the relationship-management plan.

Every relationship and every resource must contribute to a business objective: objectives
form a tree (vision → strategic objectives → … → initiatives' objectives), a Plan for a
period allocates time, people and money to Initiatives, and each initiative names the
objective it serves and the relationships it works on.

How progress rolls up is documented in plans.selectors (``ROLL_UP_RULE``).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.urls import reverse
from simple_history.models import HistoricalRecords

from relationships.models import Relationship

currency_validator = RegexValidator(
    r"^[A-Z]{3}\Z", "Use a three-letter currency code in capitals, e.g. GBP, EUR, USD."
)
NOT_NEGATIVE = [MinValueValidator(Decimal("0"))]


class ObjectiveLevel(models.Model):
    """A step of the pyramid (networking vision, strategic objective …): admin-editable,
    because levels differ between organisations."""

    name = models.CharField(max_length=80, unique=True)
    position = models.PositiveSmallIntegerField(
        default=0, help_text="Order in the cascade: lower is closer to the vision."
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Objective(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ACTIVE = "active", "Active"
        ACHIEVED = "achieved", "Achieved"
        DROPPED = "dropped", "Dropped"

    parent = models.ForeignKey(
        "self",
        # Never cascade silently: plans.services.objective_delete asks what to do with them.
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
    )
    level = models.ForeignKey(ObjectiveLevel, on_delete=models.PROTECT, related_name="objectives")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_objectives",
    )
    period = models.CharField(max_length=40, blank=True, help_text="e.g. FY2027, 2026–2028.")
    target_date = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)

    # The optional KPI: measured values live in KpiMeasurement; kpi_current is the latest.
    kpi_name = models.CharField("KPI", max_length=120, blank=True)
    kpi_unit = models.CharField("KPI unit", max_length=30, blank=True)
    kpi_baseline = models.DecimalField(
        "KPI baseline", max_digits=14, decimal_places=2, null=True, blank=True
    )
    kpi_target = models.DecimalField(
        "KPI target", max_digits=14, decimal_places=2, null=True, blank=True
    )
    kpi_current = models.DecimalField(
        "KPI current value", max_digits=14, decimal_places=2, null=True, blank=True
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["level__position", "title", "id"]
        indexes = [models.Index(fields=["status"], name="objective_status_idx")]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("plans:objective_detail", args=[self.pk])

    @property
    def has_kpi(self) -> bool:
        return bool(self.kpi_name) and self.kpi_target is not None

    @property
    def kpi_progress(self) -> float | None:
        """0–100 toward the KPI target from the baseline, or None without a KPI."""
        return kpi_progress(self.kpi_name, self.kpi_baseline, self.kpi_target, self.kpi_current)


def kpi_progress(
    name: str, baseline: Decimal | None, target: Decimal | None, current: Decimal | None
) -> float | None:
    """0–100 toward the KPI target from the baseline, or None without a KPI.

    clamp((current − baseline) / (target − baseline)) × 100, so a KPI that should go down
    (costs, churn) works too. A missing baseline counts as 0; no measured value yet counts as
    the baseline (0 %). A target equal to its baseline is not measurable.

    A function of the four values (not only a property) so that the roll-up read model can
    compute it from plain rows, in a migration too.
    """
    if not name or target is None:
        return None
    baseline = baseline if baseline is not None else Decimal(0)
    current = current if current is not None else baseline
    span = target - baseline
    if span == 0:
        return None
    return max(0.0, min(1.0, float((current - baseline) / span))) * 100


class ObjectiveRollup(models.Model):
    """Read model "plans.objective_rollups": what an objective's branch adds up to, so that
    the tree page and the dashboard read a few rows instead of building the whole cascade.

    Kept by plans.rollups.refresh, which the services writing objectives call for the
    objective they changed and its ancestors (the only rows whose figures can change), and
    recomputed from the objectives by plans.rollups.rebuild (``rebuild_read_models``).
    """

    objective = models.OneToOneField(
        Objective, on_delete=models.CASCADE, primary_key=True, related_name="rollup"
    )
    # Rolled up as documented in plans.selectors (ROLL_UP_RULE), unrounded.
    progress = models.FloatField(default=0.0)
    descendant_count = models.PositiveIntegerField(default=0)
    # How many objectives sit 1, 2, 3 … levels below (children first), for the first
    # plans.rollups.LEVELS_KEPT levels, trailing zeros left out: the tree page picks how many
    # levels fit its budget from the roots' rows alone.
    level_sizes = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"Roll-up of objective {self.objective_id}"

    @property
    def child_count(self) -> int:
        return self.level_sizes[0] if self.level_sizes else 0


class KpiMeasurement(models.Model):
    objective = models.ForeignKey(Objective, on_delete=models.CASCADE, related_name="measurements")
    measured_on = models.DateField()
    value = models.DecimalField(max_digits=14, decimal_places=2)
    note = models.CharField(max_length=200, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-measured_on", "-id"]

    def __str__(self) -> str:
        return f"{self.value} on {self.measured_on}"


class Plan(models.Model):
    """The relationship-management plan for a period: what we will do and who will do it."""

    title = models.CharField(max_length=200)
    period = models.CharField(max_length=40, help_text="e.g. FY2027.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_plans",
    )
    start_on = models.DateField(null=True, blank=True)
    end_on = models.DateField(null=True, blank=True)
    objectives = models.ManyToManyField(
        Objective, related_name="plans", blank=True, help_text="The objectives this plan serves."
    )
    currency = models.CharField(max_length=3, default="GBP", validators=[currency_validator])
    description = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["-start_on", "title", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_on__isnull=True)
                | models.Q(start_on__isnull=True)
                | models.Q(end_on__gte=models.F("start_on")),
                name="plan_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.period})" if self.period else self.title

    def get_absolute_url(self) -> str:
        return reverse("plans:plan_detail", args=[self.pk])


class Initiative(models.Model):
    class Status(models.TextChoices):
        PLANNED = "planned", "Planned"
        ACTIVE = "active", "Active"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    # Work still to do or under way: what the contribution check looks at.
    LIVE = (Status.PLANNED, Status.ACTIVE)

    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="initiatives")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    objective = models.ForeignKey(
        Objective,
        # Deleting an objective leaves its initiatives serving nothing, and the contribution
        # check then shows them, rather than deleting work silently.
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="initiatives",
        help_text="The objective this initiative serves.",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_initiatives",
    )
    people = models.ManyToManyField(
        settings.AUTH_USER_MODEL, related_name="plan_initiatives", blank=True
    )
    planned_hours = models.DecimalField(
        max_digits=9, decimal_places=2, default=0, validators=NOT_NEGATIVE
    )
    spent_hours = models.DecimalField(
        max_digits=9, decimal_places=2, default=0, validators=NOT_NEGATIVE
    )
    planned_budget = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, validators=NOT_NEGATIVE
    )
    spent_budget = models.DecimalField(
        max_digits=14, decimal_places=2, default=0, validators=NOT_NEGATIVE
    )
    currency = models.CharField(max_length=3, validators=[currency_validator])
    start_on = models.DateField(null=True, blank=True)
    end_on = models.DateField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNED)
    relationships = models.ManyToManyField(Relationship, related_name="initiatives", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords(excluded_fields=["updated_at"])

    class Meta:
        ordering = ["start_on", "title", "id"]
        indexes = [models.Index(fields=["plan", "status"], name="initiative_plan_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(planned_hours__gte=0)
                & models.Q(spent_hours__gte=0)
                & models.Q(planned_budget__gte=0)
                & models.Q(spent_budget__gte=0),
                name="initiative_resources_not_negative",
            ),
            models.CheckConstraint(
                condition=models.Q(end_on__isnull=True)
                | models.Q(start_on__isnull=True)
                | models.Q(end_on__gte=models.F("start_on")),
                name="initiative_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return f"{self.plan.get_absolute_url()}#initiative-{self.pk}"

    @property
    def is_live(self) -> bool:
        return self.status in self.LIVE

    def is_late(self, today: date) -> bool:
        """Not done nor cancelled, and its end date has passed."""
        return self.is_live and self.end_on is not None and self.end_on < today

    @property
    def is_over_budget(self) -> bool:
        return self.spent_budget > self.planned_budget

    @property
    def is_over_hours(self) -> bool:
        return self.spent_hours > self.planned_hours
