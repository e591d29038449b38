"""The tallies PostgreSQL keeps (dashboard.models, dashboard.readmodels) always equal a
recount of the raw rows, after any sequence of writes of any kind (services, bulk updates,
deletes, moves between teams), the figures read from them equal the figures read from the
raw tables for every viewer, and ``rebuild_read_models`` restores them if ever in doubt."""

from __future__ import annotations

import random
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from io import StringIO
from unittest import mock

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashboard import readmodels, selectors
from dashboard.forms import DashboardFilterForm
from dashboard.models import (
    NEVER,
    ContactTally,
    InteractionWeekTally,
    MapCellTally,
    RelationshipTally,
    StakeholderReachTally,
    StakeholderReachValueTally,
    StakeholderTally,
    StakeholderValueTally,
)
from relationships.models import Interaction, Relationship, Stage, ValueRecord
from stakeholders.models import Stakeholder
from tests.factories import (
    InteractionFactory,
    RelationshipFactory,
    StakeholderFactory,
    ValueRecordFactory,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL keeps the tallies"),
]


TALLIES = ("rel", "contact", "week", "holder", "value", "reach", "reach value", "cell")


def _slice(team_id, confidential, manager_id) -> tuple:
    return (team_id or 0, confidential, (manager_id or 0) if confidential else 0)


def recount() -> dict[str, Counter]:
    """Every tally, counted in Python from the raw rows (independently of the SQL)."""
    expected = {name: Counter() for name in TALLIES}
    relationships = {r.pk: r for r in Relationship.objects.all()}
    for r in relationships.values():
        active = r.stage != Stage.ENDED
        where = _slice(r.team_id, r.confidential, r.manager_id)
        key = where + (
            r.stage,
            min(r.health_score // 10, 9) if active else -1,
            active and r.is_key,
            active and r.manager_id is not None,
        )
        expected["rel"][key + ("n",)] += 1
        expected["rel"][key + ("health",)] += r.health_score
        if active:
            expected["contact"][where + (r.last_interaction_on or NEVER,)] += 1
            expected["holder"][(r.stakeholder_id, *where, "n")] += 1
            expected["holder"][(r.stakeholder_id, *where, "health")] += r.health_score
    for i in Interaction.objects.all():
        r = relationships[i.relationship_id]
        day = timezone.localtime(i.created_at).date()
        week = day - timedelta(days=day.weekday())
        where = _slice(r.team_id, r.confidential, r.manager_id)
        expected["week"][(week, *where, i.created_by_id or 0)] += 1
    for v in ValueRecord.objects.exclude(kind="qualitative"):
        r = relationships[v.relationship_id]
        if r.stage == Stage.ENDED:
            continue
        key = (r.stakeholder_id, *_slice(r.team_id, r.confidential, r.manager_id), v.unit)
        expected["value"][key + ("amount",)] += v.amount or Decimal(0)
        expected["value"][key + ("n",)] += 1
        for reach in ("all", "open") if not r.confidential else ("all",):
            expected["reach value"][(r.stakeholder_id, reach, v.unit)] += v.amount or Decimal(0)
    # The reach tallies: per stakeholder over all its active relationships, or the open ones;
    # the map's cells count the stakeholders with any, by their power and interest.
    places = {s.pk: (s.power, s.interest) for s in Stakeholder.objects.all()}
    present = {reach: set() for reach in ("all", "open")}
    for r in relationships.values():
        if r.stage == Stage.ENDED:
            continue
        for reach in ("all", "open") if not r.confidential else ("all",):
            expected["reach"][(r.stakeholder_id, reach, "n")] += 1
            expected["reach"][(r.stakeholder_id, reach, "health")] += r.health_score
            power, interest = places[r.stakeholder_id]
            if power is not None and interest is not None:
                cell = (reach, power, interest)
                expected["cell"][cell + ("n",)] += 1
                expected["cell"][cell + ("health",)] += r.health_score
                present[reach].add(r.stakeholder_id)
    for reach, stakeholders in present.items():
        for pk in stakeholders:
            expected["cell"][(reach, *places[pk], "stakeholders")] += 1
    return {name: +counter for name, counter in expected.items()}  # drop zeros


def stored() -> dict[str, Counter]:
    found = {name: Counter() for name in TALLIES}
    for t in RelationshipTally.objects.all():
        key = (t.team_key, t.confidential, t.manager_key, t.stage, t.health_bucket)
        key += (t.is_key, t.managed)
        found["rel"][key + ("n",)] += t.relationships
        found["rel"][key + ("health",)] += t.health_total
    for t in ContactTally.objects.all():
        found["contact"][(t.team_key, t.confidential, t.manager_key, t.last_contact_on)] += (
            t.relationships
        )
    for t in InteractionWeekTally.objects.all():
        key = (t.week, t.team_key, t.confidential, t.manager_key, t.person_key)
        found["week"][key] += t.interactions
    for t in StakeholderTally.objects.all():
        key = (t.stakeholder_id, t.team_key, t.confidential, t.manager_key)
        found["holder"][key + ("n",)] += t.relationships
        found["holder"][key + ("health",)] += t.health_total
    for t in StakeholderValueTally.objects.all():
        key = (t.stakeholder_id, t.team_key, t.confidential, t.manager_key, t.unit)
        found["value"][key + ("amount",)] += t.amount
        found["value"][key + ("n",)] += t.records
    for t in StakeholderReachTally.objects.all():
        found["reach"][(t.stakeholder_id, t.reach, "n")] += t.relationships
        found["reach"][(t.stakeholder_id, t.reach, "health")] += t.health_total
    for t in StakeholderReachValueTally.objects.all():
        found["reach value"][(t.stakeholder_id, t.reach, t.unit)] += t.amount
    for t in MapCellTally.objects.all():
        found["cell"][(t.reach, t.power, t.interest, "n")] += t.relationships
        found["cell"][(t.reach, t.power, t.interest, "health")] += t.health_total
        found["cell"][(t.reach, t.power, t.interest, "stakeholders")] += t.stakeholders
    return {name: +counter for name, counter in found.items()}


class World:
    """The people and places the random writes choose from."""

    def __init__(self, teams, managers, stakeholders):
        self.teams = [*teams, None]
        self.managers = [*managers, None]
        self.stakeholders = stakeholders

    def apply(self, step: int, rng: random.Random) -> None:
        relationships = list(Relationship.objects.order_by("pk"))
        interactions = list(Interaction.objects.order_by("pk"))
        values = list(ValueRecord.objects.order_by("pk"))
        choice = step % 10 if relationships else 0
        if choice == 0:
            RelationshipFactory(
                schedule=False,
                stakeholder=rng.choice(self.stakeholders),
                team=rng.choice(self.teams),
                manager=rng.choice(self.managers),
                confidential=rng.random() < 0.4,
                is_key=rng.random() < 0.5,
                stage=rng.choice(Stage.values),
                health_score=rng.randint(0, 100),
            )
        elif choice == 1:  # a bulk update, as the health refresh and imports do
            target = rng.choice(relationships)
            field, value = rng.choice(
                [
                    ("team", rng.choice(self.teams)),
                    ("manager", rng.choice(self.managers)),
                    ("confidential", not target.confidential),
                    ("stage", rng.choice(Stage.values)),
                    ("health_score", rng.randint(0, 100)),
                    ("is_key", not target.is_key),
                    ("stakeholder", rng.choice(self.stakeholders)),
                    (
                        "last_interaction_on",
                        rng.choice([None, timezone.localdate() - timedelta(rng.randint(0, 99))]),
                    ),
                ]
            )
            Relationship.objects.filter(pk=target.pk).update(**{field: value})
        elif choice == 2:
            target = rng.choice(relationships)
            target.purpose = f"Changed {step}"  # a change no tally counts
            target.stage = rng.choice(Stage.values)
            target.save()
        elif choice in (3, 4):
            interaction = InteractionFactory(
                relationship=rng.choice(relationships), created_by=rng.choice(self.managers)
            )
            if rng.random() < 0.5:  # logged some weeks ago
                moment = timezone.now() - timedelta(days=rng.randint(0, 60))
                Interaction.objects.filter(pk=interaction.pk).update(created_at=moment)
        elif choice == 5 and interactions:
            rng.choice(interactions).delete()
        elif choice == 6:
            kind = rng.choice(["revenue", "volunteer_hours", "qualitative"])
            ValueRecordFactory(
                relationship=rng.choice(relationships),
                kind=kind,
                amount=None if kind == "qualitative" else Decimal(rng.randint(1, 900)),
                unit=rng.choice(["GBP", "hours", ""]),
            )
        elif choice == 7 and values:
            record = rng.choice(values)
            if rng.random() < 0.5:
                record.delete()
            else:
                ValueRecord.objects.filter(pk=record.pk).update(
                    amount=Decimal(rng.randint(1, 900)), unit=rng.choice(["GBP", "EUR"])
                )
        elif choice == 8:
            rng.choice(relationships).delete()
        elif choice == 9:  # reassessed, or not assessed (off the map)
            place = rng.choice([None, 1, 3, 5])
            Stakeholder.objects.filter(pk=rng.choice(self.stakeholders).pk).update(
                power=place, interest=None if place is None else rng.choice([1, 3, 5])
            )


@pytest.fixture
def world(team_a, team_b, manager_a, manager_b):
    return World(
        [team_a, team_b],
        [manager_a, manager_b],
        [
            # Two share a cell; one is not on the map until reassessed.
            StakeholderFactory(power=power, interest=interest)
            for power, interest in [(5, 5), (5, 5), (1, 3), (3, 1), (None, None)]
        ],
    )


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(seed=st.integers(0, 2**32), steps=st.integers(1, 14))
def test_tallies_equal_a_recount_after_any_writes(world, seed, steps):
    rng = random.Random(seed)
    for step in range(steps):
        world.apply(rng.randint(0, 9), rng)
        assert stored() == recount(), f"after step {step} (seed {seed})"


def _filters(**params):
    return DashboardFilterForm(params, today=timezone.localdate()).filters()


def test_figures_from_tallies_equal_figures_from_raw_rows_for_every_viewer(
    world, manager_a, manager_b, contributor_a, executive, team_a
):
    rng = random.Random(15)
    for step in range(60):
        world.apply(step, rng)
    for viewer in (manager_a, manager_b, contributor_a, executive):
        for filters in (_filters(), _filters(team=str(team_a.pk)), _filters(period="last_month")):
            from_tallies = {
                "portfolio": selectors.portfolio(viewer, filters),
                "adoption": selectors.adoption_by_team(viewer, filters),
                "weekly": selectors.interactions_per_week(viewer, filters),
                "map": selectors.stakeholder_map(viewer, filters, "GBP"),
                "top of the map": selectors.stakeholder_map(viewer, filters, "GBP", limit=2),
            }
            with mock.patch.object(selectors, "tallies_serve", lambda filters: False):
                from_raw = {
                    "portfolio": selectors.portfolio(viewer, filters),
                    "adoption": selectors.adoption_by_team(viewer, filters),
                    "weekly": selectors.interactions_per_week(viewer, filters),
                    "map": selectors.stakeholder_map(viewer, filters, "GBP"),
                    "top of the map": selectors.stakeholder_map(viewer, filters, "GBP", limit=2),
                }
            assert from_tallies == from_raw, (viewer.username, filters.params())


def test_a_confidential_relationship_counts_only_for_those_who_may_see_it(
    manager_a, manager_b, contributor_a, executive, team_b
):
    RelationshipFactory(
        schedule=False, team=team_b, manager=manager_b, stage="build", confidential=True
    )
    active = {
        user.username: selectors.portfolio(user, _filters())["active"]
        for user in (manager_a, manager_b, contributor_a, executive)
    }
    assert active == {"manager_a": 0, "manager_b": 1, "contributor_a": 0, "exec": 1}


def test_the_map_shows_a_confidential_stakeholder_only_to_those_who_may_see_it(
    manager_a, manager_b, contributor_a, executive, team_a, team_b
):
    open_only, hidden, both = (StakeholderFactory(power=5, interest=5) for _ in range(3))
    RelationshipFactory(schedule=False, stakeholder=open_only, team=team_a, health_score=80)
    secret = RelationshipFactory(
        schedule=False, stakeholder=hidden, team=team_b, manager=manager_b, confidential=True
    )
    ValueRecordFactory(relationship=secret, kind="revenue", amount=Decimal(500), unit="GBP")
    RelationshipFactory(schedule=False, stakeholder=both, team=team_a, health_score=60)
    RelationshipFactory(
        schedule=False, stakeholder=both, team=team_b, manager=manager_b, confidential=True
    )

    def seen_by(user):
        found = selectors.stakeholder_map(user, _filters(), "GBP")
        (cell,) = found["cells"]
        return cell["stakeholders"], [dot["name"] for dot in found["dots"]][:1]

    assert seen_by(manager_a) == (2, [min(open_only.name, both.name)])
    assert seen_by(contributor_a) == (2, [min(open_only.name, both.name)])
    assert seen_by(manager_b) == (3, [hidden.name])  # the most valuable first
    assert seen_by(executive) == (3, [hidden.name])
    for user in (manager_a, manager_b, contributor_a, executive):
        from_tallies = selectors.stakeholder_map(user, _filters(), "GBP")
        with mock.patch.object(selectors, "tallies_serve", lambda filters: False):
            assert selectors.stakeholder_map(user, _filters(), "GBP") == from_tallies


def test_rebuild_read_models_restores_corrupted_tallies(world):
    rng = random.Random(3)
    for step in range(30):
        world.apply(step, rng)
    RelationshipTally.objects.update(relationships=99)
    InteractionWeekTally.objects.all().delete()
    StakeholderValueTally.objects.update(amount=0)
    assert stored() != recount()
    out = StringIO()
    call_command("rebuild_read_models", "dashboard.tallies", stdout=out)
    assert "dashboard.tallies:" in out.getvalue()
    assert stored() == recount()


def test_rebuild_read_models_names_an_unknown_model():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No such read model: nonsense"):
        call_command("rebuild_read_models", "nonsense")


def test_the_week_follows_the_site_time_zone(manager_a, team_a):
    """An interaction logged late on Sunday evening in London (UTC+1 in summer) belongs to
    that week, not the next."""
    relationship = RelationshipFactory(schedule=False, team=team_a, manager=manager_a)
    interaction = InteractionFactory(relationship=relationship, created_by=manager_a)
    sunday_evening = timezone.make_aware(timezone.datetime(2026, 7, 5, 23, 30))
    Interaction.objects.filter(pk=interaction.pk).update(created_at=sunday_evening)
    assert list(InteractionWeekTally.objects.filter(interactions__gt=0).values("week")) == [
        {"week": timezone.datetime(2026, 6, 29).date()}
    ]
    assert readmodels.maintained()


def test_a_bulk_load_is_counted_once_at_its_end(world):
    rng = random.Random(8)
    with readmodels.bulk_load():
        for step in range(12):
            world.apply(step, rng)
        assert stored() == {name: Counter() for name in recount()}  # paused: nothing yet
    assert stored() == recount()
    world.apply(0, rng)  # and kept again afterwards
    assert stored() == recount()
