"""How progress rolls up the cascade (the rule in plans.selectors' docstring)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from plans import rollups, services
from plans.models import Objective, ObjectiveRollup
from plans.selectors import cascade_top_levels, objective_tree
from plans.tests.factories import ObjectiveFactory, level

pytestmark = pytest.mark.django_db

Status = Objective.Status


def progress_of(objective: Objective) -> float:
    """Rolled up in memory from every objective, and as the read model keeps it (the
    factory writes it as the services do): both must say the same."""
    in_memory = objective_tree().by_pk[objective.pk].progress
    assert ObjectiveRollup.objects.get(pk=objective.pk).progress == pytest.approx(in_memory)
    return in_memory


def kpi(baseline, target, current) -> dict:
    return {
        "kpi_name": "Partner revenue",
        "kpi_baseline": None if baseline is None else Decimal(baseline),
        "kpi_target": Decimal(target),
        "kpi_current": None if current is None else Decimal(current),
    }


def test_it_measures_a_kpi_from_baseline_to_target():
    objective = ObjectiveFactory(**kpi(100, 200, 150))
    assert progress_of(objective) == pytest.approx(50)


def test_it_clamps_kpi_progress_between_0_and_100():
    above = ObjectiveFactory(**kpi(0, 10, 25))
    below = ObjectiveFactory(**kpi(50, 100, 10))
    assert progress_of(above) == 100
    assert progress_of(below) == 0


def test_it_handles_a_kpi_that_should_fall():
    churn = ObjectiveFactory(**kpi(20, 10, 15))
    assert progress_of(churn) == pytest.approx(50)


def test_it_reads_no_measurement_as_the_baseline_and_no_baseline_as_zero():
    unmeasured = ObjectiveFactory(**kpi(30, 60, None))
    no_baseline = ObjectiveFactory(**kpi(None, 40, 10))
    assert progress_of(unmeasured) == 0
    assert progress_of(no_baseline) == pytest.approx(25)


def test_it_averages_children_with_equal_weights():
    parent = ObjectiveFactory()
    ObjectiveFactory(parent=parent, **kpi(0, 100, 100))
    ObjectiveFactory(parent=parent, **kpi(0, 100, 20))
    ObjectiveFactory(parent=parent)  # a leaf with no KPI counts as 0
    assert progress_of(parent) == pytest.approx(40)


def test_it_averages_own_kpi_with_the_childrens_average_when_it_has_both():
    parent = ObjectiveFactory(**kpi(0, 100, 40))
    ObjectiveFactory(parent=parent, **kpi(0, 100, 100))
    ObjectiveFactory(parent=parent, **kpi(0, 100, 0))
    # own 40, children (100 + 0) / 2 = 50 → (40 + 50) / 2
    assert progress_of(parent) == pytest.approx(45)


def test_it_rolls_up_through_several_levels():
    vision = ObjectiveFactory()
    strategy = ObjectiveFactory(parent=vision)
    ObjectiveFactory(parent=strategy, **kpi(0, 10, 10))
    ObjectiveFactory(parent=strategy, **kpi(0, 10, 0))
    ObjectiveFactory(parent=vision, status=Status.ACHIEVED)
    # strategy 50, achieved sibling 100 → vision 75
    assert progress_of(vision) == pytest.approx(75)


def test_it_leaves_dropped_children_out():
    parent = ObjectiveFactory()
    ObjectiveFactory(parent=parent, **kpi(0, 10, 10))
    dropped = ObjectiveFactory(parent=parent, status=Status.DROPPED)
    assert progress_of(parent) == 100
    assert progress_of(dropped) == 0  # it still shows its own


def test_an_achieved_objective_is_complete_whatever_its_kpi_and_children():
    achieved = ObjectiveFactory(status=Status.ACHIEVED, **kpi(0, 100, 10))
    ObjectiveFactory(parent=achieved)
    assert progress_of(achieved) == 100


def test_a_leaf_without_kpi_is_at_zero():
    assert progress_of(ObjectiveFactory()) == 0


def test_the_tree_counts_depth_and_descendants():
    root = ObjectiveFactory()
    child = ObjectiveFactory(parent=root)
    ObjectiveFactory(parent=child)
    ObjectiveFactory(parent=child)
    tree = objective_tree()
    assert [node.pk for node in tree.roots] == [root.pk]
    assert tree.by_pk[root.pk].descendant_count == 3
    assert tree.by_pk[child.pk].depth == 1


def test_a_long_chain_does_not_hit_the_recursion_limit():
    parent, step = None, level()
    for _ in range(1100):  # deeper than Python's default recursion limit of 1000
        parent = Objective.objects.create(title="link", level=step, parent=parent)
    tree = objective_tree()
    assert tree.roots[0].descendant_count == 1099
    assert rollups.rebuild() == 1100
    assert ObjectiveRollup.objects.get(pk=tree.roots[0].pk).descendant_count == 1099
    assert rollups.refresh([parent.pk]) == 1100  # the deepest one and every ancestor


def test_the_dashboards_cascade_follows_every_objective_change(manager_a):
    top = ObjectiveFactory(title="Vision", kpi_name="Trust", kpi_baseline=0, kpi_target=10)
    ObjectiveFactory(title="Child", parent=top)
    first = cascade_top_levels()
    assert [row["title"] for row in first["rows"]] == ["Vision", "Child"]
    assert first["rows"][0]["progress"] == 0
    services.kpi_measurement_record(
        objective=top, measured_on=date(2026, 5, 1), value=Decimal(10), by=manager_a
    )  # the KPI reaching its target shows at once, not after an expiry
    assert cascade_top_levels()["rows"][0]["progress"] == 50.0  # half KPI, half the child
    ObjectiveFactory(title="Second vision")
    assert cascade_top_levels()["total"] == 3
