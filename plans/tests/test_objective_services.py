"""Writes to the cascade: create, edit, move (no cycles), delete (children), KPI values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.errors import PermissionRefused, RuleViolation
from plans import services
from plans.models import Initiative, KpiMeasurement, Objective
from plans.tests.factories import InitiativeFactory, ObjectiveFactory, level

pytestmark = pytest.mark.django_db


@pytest.fixture
def branch():
    """vision → strategy → (plan_a → initiative_obj, plan_b)"""
    vision = ObjectiveFactory(title="Vision")
    strategy = ObjectiveFactory(title="Strategy", parent=vision)
    plan_a = ObjectiveFactory(title="Plan A", parent=strategy)
    plan_b = ObjectiveFactory(title="Plan B", parent=strategy)
    leaf = ObjectiveFactory(title="Leaf", parent=plan_a)
    return vision, strategy, plan_a, plan_b, leaf


def test_it_creates_an_objective_and_records_who(manager_a):
    objective = services.objective_create(
        by=manager_a, title=" Grow partnerships ", level=level(), status="active"
    )
    assert objective.title == "Grow partnerships"
    assert objective.created_by == manager_a
    assert objective.history.first().history_user == manager_a


def test_it_refuses_a_kpi_without_target(manager_a):
    with pytest.raises(RuleViolation) as error:
        services.objective_create(by=manager_a, title="X", level=level(), kpi_name="Revenue")
    assert error.value.field == "kpi_target"
    assert not Objective.objects.exists()


def test_it_refuses_a_kpi_target_equal_to_its_baseline(manager_a):
    with pytest.raises(RuleViolation) as error:
        services.objective_create(
            by=manager_a,
            title="X",
            level=level(),
            kpi_name="NPS",
            kpi_baseline=Decimal(5),
            kpi_target=Decimal(5),
        )
    assert error.value.code == "kpi_target_is_baseline"


@pytest.mark.parametrize("role_fixture", ["contributor_a", "executive"])
def test_readers_cannot_write_the_cascade(request, role_fixture):
    user = request.getfixturevalue(role_fixture)
    objective = ObjectiveFactory()
    with pytest.raises(PermissionRefused):
        services.objective_create(by=user, title="X", level=level())
    with pytest.raises(PermissionRefused):
        services.objective_delete(objective=objective, by=user)
    assert Objective.objects.count() == 1


def test_it_refuses_to_move_an_objective_under_itself(branch, manager_a):
    _, strategy, *_ = branch
    with pytest.raises(RuleViolation) as error:
        services.objective_move(objective=strategy, new_parent=strategy, by=manager_a)
    assert error.value.code == "cycle"
    assert "Strategy" in error.value.message


def test_it_refuses_to_move_an_objective_under_its_descendant(branch, manager_a):
    vision, strategy, _, _, leaf = branch
    with pytest.raises(RuleViolation) as error:
        services.objective_move(objective=strategy, new_parent=leaf, by=manager_a)
    assert error.value.code == "cycle"
    assert "“Strategy”" in error.value.message and "“Leaf”" in error.value.message
    strategy.refresh_from_db()
    assert strategy.parent == vision


def test_it_moves_an_objective_with_its_branch(branch, manager_a):
    _, _, plan_a, plan_b, leaf = branch
    services.objective_move(objective=plan_a, new_parent=plan_b, by=manager_a)
    plan_a.refresh_from_db()
    leaf.refresh_from_db()
    assert plan_a.parent == plan_b
    assert leaf.parent == plan_a
    assert plan_a.history.first().history_user == manager_a


def test_it_moves_an_objective_to_the_top(branch, manager_a):
    _, strategy, *_ = branch
    services.objective_move(objective=strategy, new_parent=None, by=manager_a)
    strategy.refresh_from_db()
    assert strategy.parent is None


def test_editing_the_parent_goes_through_the_cycle_check(branch, manager_a):
    vision, strategy, _, _, leaf = branch
    with pytest.raises(RuleViolation) as error:
        services.objective_update(objective=vision, by=manager_a, parent=leaf, title="V2")
    assert error.value.code == "cycle"
    vision.refresh_from_db()
    assert vision.title == "Vision" and vision.parent is None


def test_deleting_with_reattach_moves_children_up(branch, manager_a):
    vision, strategy, plan_a, plan_b, leaf = branch
    deleted = services.objective_delete(objective=strategy, by=manager_a, children="reattach")
    assert deleted == 1
    assert not Objective.objects.filter(pk=strategy.pk).exists()
    assert set(vision.children.all()) == {plan_a, plan_b}
    assert Objective.objects.get(pk=leaf.pk).parent == plan_a


def test_deleting_a_branch_deletes_every_descendant(branch, manager_a):
    vision, strategy, *_ = branch
    initiative = InitiativeFactory(objective=Objective.objects.get(title="Leaf"))
    deleted = services.objective_delete(objective=strategy, by=manager_a, children="delete")
    assert deleted == 4
    assert list(Objective.objects.values_list("title", flat=True)) == ["Vision"]
    # The work is kept, serving nothing: the contribution check will show it.
    assert Initiative.objects.get(pk=initiative.pk).objective is None
    assert Objective.history.filter(history_type="-").first().history_user == manager_a


def test_recording_a_measurement_updates_the_current_value_to_the_latest(manager_a):
    objective = ObjectiveFactory(kpi_name="Revenue", kpi_target=Decimal(100))
    services.kpi_measurement_record(
        objective=objective, measured_on=date(2026, 3, 1), value=Decimal(40), by=manager_a
    )
    services.kpi_measurement_record(
        objective=objective, measured_on=date(2026, 1, 1), value=Decimal(10), by=manager_a
    )
    objective.refresh_from_db()
    assert objective.kpi_current == Decimal(40)  # the older value recorded later does not win
    assert KpiMeasurement.objects.filter(objective=objective).count() == 2
    assert KpiMeasurement.objects.first().by == manager_a


def test_a_measurement_needs_a_kpi(manager_a):
    with pytest.raises(RuleViolation) as error:
        services.kpi_measurement_record(
            objective=ObjectiveFactory(), measured_on=date(2026, 1, 1), value=1, by=manager_a
        )
    assert error.value.code == "no_kpi"
