"""Demo objectives, plans and initiatives for core.demo (bulk inserts, reproducible)."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction

from accounts.models import Role, User
from plans import rollups
from plans.models import Initiative, Objective, ObjectiveLevel, Plan
from relationships.models import Relationship, Stage

# Objectives per level, top of the cascade first (the levels' default order).
LEVEL_COUNTS = {
    "small": [1, 3, 4, 4, 4, 4, 0],
    "large": [1, 5, 15, 40, 120, 400, 1419],
    "xlarge": [1, 5, 20, 80, 400, 2000, 17494],
}
INITIATIVE_KINDS = ["Partner day", "Joint pilot", "Site visits", "Co-marketing", "Feedback round"]
PLAN_COUNTS = {"small": (2, 8), "large": (50, 1000), "xlarge": (500, 10_000)}
THEMES = [
    "regional partnerships", "supplier resilience", "donor retention", "community trust",
    "investor confidence", "public-sector access", "customer loyalty", "volunteer growth",
]  # fmt: skip


@transaction.atomic
def seed(scale: str, today: date) -> bool:
    if Objective.objects.exists():
        return False
    rng = random.Random(99)
    levels = list(ObjectiveLevel.objects.order_by("position"))
    owners = list(User.objects.filter(role__in=[Role.MANAGER, Role.EXECUTIVE]))
    people = list(User.objects.filter(role__in=[Role.MANAGER, Role.CONTRIBUTOR]))
    statuses = ["active"] * 7 + ["draft", "achieved", "dropped"]

    previous: list[Objective] = []
    leaves: list[Objective] = []
    for level, count in zip(levels, LEVEL_COUNTS[scale], strict=False):
        batch = []
        for n in range(count):
            theme = rng.choice(THEMES)
            has_kpi = rng.random() < 0.35
            baseline = Decimal(rng.randint(0, 50))
            batch.append(
                Objective(
                    parent=previous[n % len(previous)] if previous else None,
                    level=level,
                    title=f"{level.name}: {theme} #{n + 1}"
                    if previous
                    else "Be the partner of choice in our region",
                    owner=rng.choice(owners),
                    period="FY2027",
                    target_date=today + timedelta(days=rng.randint(60, 720)),
                    status="active" if not previous else rng.choice(statuses),
                    kpi_name=f"{theme.capitalize()} index" if has_kpi else "",
                    kpi_unit="points" if has_kpi else "",
                    kpi_baseline=baseline if has_kpi else None,
                    kpi_target=baseline + 50 if has_kpi else None,
                    kpi_current=baseline + rng.randint(0, 60) if has_kpi else None,
                )
            )
        if batch:
            # Saved one level at a time so that children can point at their parents' ids.
            previous = Objective.objects.bulk_create(batch, batch_size=1000)
            leaves = previous

    plan_count, initiative_count = PLAN_COUNTS[scale]
    plans = Plan.objects.bulk_create(
        [
            Plan(
                title=f"{rng.choice(THEMES).capitalize()} plan {n + 1}",
                period="FY2027",
                owner=rng.choice(owners),
                start_on=date(today.year, 1, 1),
                end_on=date(today.year, 12, 31),
                currency="GBP",
            )
            for n in range(plan_count)
        ]
    )
    served = [o for o in leaves if o.status == "active"] or leaves
    through = Plan.objectives.through
    through.objects.bulk_create(
        [through(plan_id=p.pk, objective_id=rng.choice(served).pk) for p in plans]
    )
    engaged = list(
        Relationship.objects.exclude(stage__in=[Stage.IDENTIFY, Stage.ENDED]).values_list(
            "pk", flat=True
        )
    )
    initiatives = []
    for n in range(initiative_count):
        planned = Decimal(rng.randint(10, 200))
        budget = Decimal(rng.randint(1, 50) * 500)
        start = today - timedelta(days=rng.randint(0, 200))
        initiatives.append(
            Initiative(
                plan=plans[n % len(plans)],
                title=f"{rng.choice(INITIATIVE_KINDS)} {n + 1}",
                objective=rng.choice(served),
                owner=rng.choice(people),
                planned_hours=planned,
                spent_hours=(planned * Decimal(rng.randint(0, 130)) / 100).quantize(Decimal("1")),
                planned_budget=budget,
                spent_budget=(budget * Decimal(rng.randint(0, 125)) / 100).quantize(Decimal("1")),
                currency="GBP",
                start_on=start,
                end_on=start + timedelta(days=rng.randint(30, 300)),
                status=rng.choice(["planned", "active", "active", "done", "cancelled"]),
            )
        )
    initiatives = Initiative.objects.bulk_create(initiatives, batch_size=1000)
    people_through = Initiative.people.through
    rel_through = Initiative.relationships.through
    people_rows, rel_rows = [], []
    for initiative in initiatives:
        for user in rng.sample(people, min(len(people), rng.randint(1, 3))):
            people_rows.append(people_through(initiative_id=initiative.pk, user_id=user.pk))
        for rel_id in rng.sample(engaged, min(len(engaged), rng.randint(1, 4))):
            rel_rows.append(rel_through(initiative_id=initiative.pk, relationship_id=rel_id))
    people_through.objects.bulk_create(people_rows, batch_size=5000)
    rel_through.objects.bulk_create(rel_rows, batch_size=5000)
    # bulk_create goes around the services that keep the roll-up read model: compute it.
    rollups.rebuild()
    return True
