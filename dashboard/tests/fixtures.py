"""A small portfolio whose every dashboard figure is computed by hand in the comments.

Today is frozen at Friday 15 May 2026; the period under test is 1 Jan – 31 Mar 2026
(90 days), so the previous period is 3 Oct – 31 Dec 2025.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from django.utils import timezone

from relationships.models import Relationship
from reviews.models import FeedbackRequest, FeedbackResponse, Review
from tests.factories import (
    CategoryFactory,
    ContactFactory,
    InteractionFactory,
    RelationshipFactory,
    RelationshipTypeFactory,
    StakeholderFactory,
    ValueRecordFactory,
)

NOW = datetime(2026, 5, 15, 11, 0, tzinfo=UTC)
TODAY = date(2026, 5, 15)
PERIOD = {"period": "custom", "from": "2026-01-01", "to": "2026-03-31"}


def at(day: date, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


def build_portfolio(manager_a, contributor_a, team_a, team_b) -> dict[str, Relationship]:
    partner = CategoryFactory(name="Partner")
    supplier = CategoryFactory(name="Supplier")
    strategic = RelationshipTypeFactory(name="Strategic partner")
    donor = RelationshipTypeFactory(name="Donor")

    def rel(name, stage, *, power=None, interest=None, category=partner, **fields):
        stakeholder = StakeholderFactory(
            name=name, category=category, power=power, interest=interest
        )
        fields.setdefault("team", team_a)
        fields.setdefault("manager", manager_a)
        fields.setdefault("type", strategic)
        return RelationshipFactory(stakeholder=stakeholder, stage=stage, **fields)

    r = {
        # Active at start and still active: retained. Contacted 5 days ago.
        "r1": rel(
            "Alder Trust",
            "pilot",
            started_on=date(2025, 6, 1),
            health_score=80,
            last_interaction_on=date(2026, 5, 10),
            is_key=True,
            power=5,
            interest=4,
        ),
        # Started on the period's first day: active at start. Last contact exactly 60 days
        # ago: not yet quiet. Confidential (team A only).
        "r2": rel(
            "Birch Housing",
            "build",
            started_on=date(2026, 1, 1),
            health_score=50,
            last_interaction_on=date(2026, 3, 16),
            is_key=True,
            confidential=True,
            power=5,
            interest=4,
        ),
        # Ended on the period's last day: in the denominator, lost.
        "r3": rel(
            "Cedar Foods",
            "ended",
            started_on=date(2025, 1, 1),
            ended_on=date(2026, 3, 31),
            end_reason="Values no longer aligned",
            health_score=20,
        ),
        # Ended before the period: not in the denominator.
        "r4": rel(
            "Damson Bank",
            "ended",
            started_on=date(2024, 1, 1),
            ended_on=date(2025, 12, 15),
            health_score=10,
        ),
        # Started during the period: not in the denominator. Never contacted: quiet.
        "r5": rel(
            "Elm College",
            "identify",
            started_on=date(2026, 2, 10),
            health_score=35,
        ),
        # No start date but created before the period: active at start. Contact exactly
        # 30 days ago counts in the 30-day window.
        "r6": rel(
            "Fir Council",
            "review",
            health_score=95,
            last_interaction_on=date(2026, 4, 15),
            power=1,
            interest=1,
        ),
        # Ended inside the period.
        "r7": rel(
            "Gorse Energy",
            "ended",
            started_on=date(2025, 3, 1),
            ended_on=date(2026, 2, 1),
            end_reason="Pilot failed",
            health_score=30,
        ),
        # Team B, no manager, a supplier, a donor relationship; last contact 61 days ago.
        "r8": rel(
            "Hazel Water",
            "build",
            team=team_b,
            manager=None,
            category=supplier,
            type=donor,
            started_on=date(2025, 1, 1),
            health_score=70,
            last_interaction_on=date(2026, 3, 15),
        ),
    }
    Relationship.objects.filter(pk=r["r6"].pk).update(created_at=at(date(2025, 12, 1)))
    for item in r.values():
        item.refresh_from_db()

    # Open reviews: r1 and r8 overdue; r6 due today and r2 later this month; r5 next month.
    due = {"r1": date(2026, 5, 1), "r2": date(2026, 5, 20), "r5": date(2026, 6, 10)}
    due |= {"r6": TODAY, "r8": date(2026, 4, 1)}
    for key, due_on in due.items():
        Review.objects.filter(relationship=r[key], status=Review.Status.SCHEDULED).update(
            due_on=due_on
        )
    # A completed review in the period, overall 4 of 5.
    Review.objects.create(
        relationship=r["r1"],
        status=Review.Status.COMPLETED,
        due_on=date(2026, 3, 1),
        completed_on=date(2026, 3, 1),
        completed_at=at(date(2026, 3, 1)),
        overall=4,
    )
    # Feedback in the period: 8 and 10 (average 9, one promoter, no detractor).
    for score in (8, 10):
        request = FeedbackRequest.objects.create(
            relationship=r["r1"],
            contact=ContactFactory(stakeholder=r["r1"].stakeholder),
            expires_at=NOW + timedelta(days=14),
        )
        answer = FeedbackResponse.objects.create(
            request=request,
            relationship=r["r1"],
            satisfaction=score,
            responsiveness=4,
            communication=4,
            value=4,
        )
        FeedbackResponse.objects.filter(pk=answer.pk).update(submitted_at=at(date(2026, 2, 10)))

    # Value: GBP 1000 + 500 this period (the last day counts), 700 on the previous
    # period's last day; 10 hours this period; one qualitative record in each period; a
    # record after the period that must not count.
    for day, kind, amount, unit in [
        (date(2026, 1, 15), "revenue", 1000, "GBP"),
        (date(2026, 3, 31), "cost_saving", 500, "GBP"),
        (date(2025, 12, 31), "revenue", 700, "GBP"),
        (date(2026, 2, 1), "volunteer_hours", 10, "hours"),
        (date(2026, 2, 2), "qualitative", None, ""),
        (date(2025, 11, 1), "qualitative", None, ""),
    ]:
        ValueRecordFactory(
            relationship=r["r1"], recorded_on=day, kind=kind, amount=amount, unit=unit
        )
    ValueRecordFactory(relationship=r["r3"], recorded_on=date(2026, 4, 1), amount=300)

    # Interactions logged: the 12 weeks ending 31 Mar 2026 run from Monday 12 Jan.
    for day, who in [
        (date(2026, 3, 31), manager_a),
        (date(2026, 3, 25), manager_a),
        (date(2026, 3, 24), manager_a),
        (date(2026, 1, 12), contributor_a),  # the first day of the window
        (date(2026, 1, 11), contributor_a),  # the day before: not counted
    ]:
        interaction = InteractionFactory(relationship=r["r1"], created_by=who, occurred_on=day)
        type(interaction).objects.filter(pk=interaction.pk).update(created_at=at(day))
    return r
