"""Every write to the cascade and the plans records one event in its own transaction; a
refused write records none."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.errors import PermissionRefused, RuleViolation
from events.models import Event
from plans import services
from plans.tests.factories import InitiativeFactory, ObjectiveFactory, PlanFactory, level

pytestmark = pytest.mark.django_db


def verbs() -> list[str]:
    return list(Event.objects.order_by("id").values_list("verb", flat=True))


def test_objectives_record_creation_edits_moves_and_deletion(manager_a):
    vision = ObjectiveFactory(title="Vision")
    other = ObjectiveFactory(title="Other")
    objective = services.objective_create(
        by=manager_a, title="Grow", level=level(), parent=vision, status="draft"
    )
    created = Event.objects.get()
    assert (created.verb, created.actor, created.subject_type, created.subject_id) == (
        "objective.created",
        manager_a,
        "plans.objective",
        objective.pk,
    )
    assert created.data == {
        "level": "Strategic objective",
        "parent": "Vision",
        "status": "draft",
        "kpi": None,
    }

    # An edit that also moves is one event saying both.
    services.objective_update(objective=objective, by=manager_a, parent=other, status="active")
    updated = Event.objects.get(verb="objective.updated")
    assert updated.data == {
        "changes": {"parent": ["Vision", "Other"], "status": ["draft", "active"]}
    }

    services.objective_move(objective=objective, new_parent=None, by=manager_a)
    moved = Event.objects.get(verb="objective.moved")
    assert moved.data == {"from": "Other", "to": None}

    pk = objective.pk
    services.objective_delete(objective=objective, by=manager_a)
    deleted = Event.objects.get(verb="objective.deleted")
    assert (deleted.subject_id, deleted.data["deleted"]) == (pk, 1)
    assert verbs() == [
        "objective.created",
        "objective.updated",
        "objective.moved",
        "objective.deleted",
    ]


def test_a_refused_move_or_edit_records_nothing(manager_a, contributor_a):
    parent = ObjectiveFactory(title="Parent")
    child = ObjectiveFactory(title="Child", parent=parent)
    with pytest.raises(RuleViolation) as error:
        services.objective_move(objective=parent, new_parent=child, by=manager_a)
    assert error.value.code == "cycle"
    with pytest.raises(RuleViolation):
        services.objective_update(objective=parent, by=manager_a, parent=child, title="Loop")
    with pytest.raises(PermissionRefused):
        services.objective_update(objective=parent, by=contributor_a, title="Mine")
    assert not Event.objects.exists()


def test_a_kpi_measurement_is_recorded_on_its_objective(manager_a):
    objective = ObjectiveFactory(kpi_name="Partners", kpi_target=Decimal(10))
    measurement = services.kpi_measurement_record(
        objective=objective, measured_on=date(2026, 11, 1), value=Decimal(4), by=manager_a
    )
    event = Event.objects.get()
    assert (event.verb, event.actor, event.subject_id) == ("kpi.measured", manager_a, objective.pk)
    assert event.data == {
        "measurement_id": measurement.pk,
        "kpi": "Partners",
        "measured_on": "2026-11-01",
        "value": "4.00",
        "current": "4.00",
    }
    no_kpi = ObjectiveFactory()
    with pytest.raises(RuleViolation):
        services.kpi_measurement_record(
            objective=no_kpi, measured_on=date(2026, 11, 1), value=Decimal(1), by=manager_a
        )
    assert Event.objects.count() == 1


def test_plans_and_initiatives_record_creation_and_edits(manager_a):
    goal = ObjectiveFactory(title="Goal")
    plan = services.plan_create(
        by=manager_a, title="Plan", period="FY2027", currency="gbp", objectives=[goal]
    )
    assert Event.objects.get().data["objectives"] == ["Goal"]
    services.plan_update(plan=plan, by=manager_a, period="FY2028")
    assert Event.objects.get(verb="plan.updated").data == {
        "changes": {"period": ["FY2027", "FY2028"]}
    }

    initiative = services.initiative_create(
        plan=plan, by=manager_a, title="Pilot", objective=goal, people=[manager_a]
    )
    created = Event.objects.get(verb="initiative.created")
    assert (created.actor, created.subject_id) == (manager_a, initiative.pk)
    assert created.data["people"] == [str(manager_a)]
    services.initiative_update(initiative=initiative, by=manager_a, status="done")
    updated = Event.objects.get(verb="initiative.updated")
    assert updated.data == {"changes": {"status": ["planned", "done"]}}
    assert verbs() == ["plan.created", "plan.updated", "initiative.created", "initiative.updated"]


def test_refused_plan_and_initiative_writes_record_nothing(manager_a):
    plan = PlanFactory()
    initiative = InitiativeFactory(plan=plan)
    with pytest.raises(RuleViolation):
        services.plan_update(plan=plan, by=manager_a, end_on=date(2020, 1, 1))
    with pytest.raises(RuleViolation):
        services.initiative_update(initiative=initiative, by=manager_a, spent_hours=Decimal(-1))
    assert not Event.objects.exists()
