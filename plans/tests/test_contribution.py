"""The contribution check: work and relationships that contribute to no active objective."""

from __future__ import annotations

import pytest

from plans.models import Initiative, Objective
from plans.selectors import contribution_check, objectives_for_relationship
from plans.tests.factories import InitiativeFactory, ObjectiveFactory, PlanFactory
from tests.factories import RelationshipFactory

pytestmark = pytest.mark.django_db

Status = Objective.Status


def titles(items) -> set[str]:
    return {item.title for item in items}


@pytest.mark.parametrize("status", [Status.DRAFT, Status.DROPPED, Status.ACHIEVED])
def test_it_lists_live_initiatives_on_an_objective_that_is_not_active(manager_a, status):
    InitiativeFactory(title="Orphan", objective=ObjectiveFactory(status=status))
    InitiativeFactory(title="Fine", objective=ObjectiveFactory(status=Status.ACTIVE))
    assert titles(contribution_check(manager_a).initiatives) == {"Orphan"}


def test_it_lists_initiatives_serving_no_objective_but_not_finished_ones(manager_a):
    InitiativeFactory(title="Nothing", objective=None)
    InitiativeFactory(title="Done", objective=None, status=Initiative.Status.DONE)
    InitiativeFactory(title="Cancelled", objective=None, status=Initiative.Status.CANCELLED)
    assert titles(contribution_check(manager_a).initiatives) == {"Nothing"}


def test_it_lists_active_relationships_no_contributing_initiative_works_on(manager_a):
    idle = RelationshipFactory(stage="build")
    worked = RelationshipFactory(stage="pilot")
    on_draft = RelationshipFactory(stage="pilot")
    RelationshipFactory(stage="ended")
    InitiativeFactory(relationships=[worked])
    InitiativeFactory(objective=ObjectiveFactory(status=Status.DRAFT), relationships=[on_draft])
    InitiativeFactory(relationships=[])  # an initiative with no relationship changes nothing
    check = contribution_check(manager_a)
    assert {r.pk for r in check.relationships} == {idle.pk, on_draft.pk}
    assert check.relationship_count == 2


def test_it_counts_every_idle_relationship_beyond_those_it_lists(
    manager_a, django_assert_max_num_queries
):
    RelationshipFactory.create_batch(5, stage="build")
    with django_assert_max_num_queries(6):  # orphans, idle total and page, cascade shape …
        check = contribution_check(manager_a, limit=3)
    assert (len(check.relationships), check.relationship_count) == (3, 5)


def test_it_never_shows_confidential_relationships_of_other_teams(manager_a, team_b):
    RelationshipFactory(stage="build", confidential=True, team=team_b)
    mine = RelationshipFactory(stage="build", confidential=True, team=manager_a.teams.first())
    check = contribution_check(manager_a)
    assert [r.pk for r in check.relationships] == [mine.pk]


def test_it_lists_active_objectives_with_no_live_initiative_in_their_branch(manager_a):
    vision = ObjectiveFactory(title="Vision")
    served = ObjectiveFactory(title="Served", parent=vision)
    ObjectiveFactory(title="Idle", parent=vision)
    ObjectiveFactory(title="Draft", parent=vision, status=Status.DRAFT)
    finished = ObjectiveFactory(title="Only finished work", parent=vision)
    InitiativeFactory(objective=served)
    InitiativeFactory(objective=finished, status=Initiative.Status.DONE)
    # Vision is served through its sub-objective.
    assert titles(contribution_check(manager_a).objectives) == {"Idle", "Only finished work"}


def test_on_a_plan_it_looks_at_its_initiatives_and_the_branches_it_serves(manager_a):
    plan, other = PlanFactory(), PlanFactory()
    vision = ObjectiveFactory(title="Vision")
    ours = ObjectiveFactory(title="Ours", parent=vision)
    ObjectiveFactory(title="Ours idle", parent=ours)
    ObjectiveFactory(title="Elsewhere")
    plan.objectives.add(ours)
    InitiativeFactory(plan=plan, objective=ours)
    InitiativeFactory(plan=other, title="Their orphan", objective=None)
    InitiativeFactory(plan=plan, title="Our orphan", objective=None)
    check = contribution_check(manager_a, plan=plan)
    assert titles(check.objectives) == {"Ours idle"}
    assert titles(check.initiatives) == {"Our orphan"}


def test_a_relationship_knows_the_objectives_and_initiatives_it_serves(
    django_assert_max_num_queries,
):
    vision = ObjectiveFactory(title="Vision")
    strategy = ObjectiveFactory(title="Strategy", parent=vision)
    relationship = RelationshipFactory()
    InitiativeFactory(title="Summit", objective=strategy, relationships=[relationship])
    InitiativeFactory(title="Other")
    with django_assert_max_num_queries(3):
        rows = objectives_for_relationship(relationship)
    assert [(r["initiative"].title, r["objective"].title) for r in rows] == [("Summit", "Strategy")]
    assert [step["title"] for step in rows[0]["path"]] == ["Vision"]
