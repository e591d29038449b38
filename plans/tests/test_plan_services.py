"""Plans and initiatives: validation, resource totals, per-person load, over budget, late."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from core.errors import PermissionRefused, RuleViolation
from plans import selectors, services
from plans.models import Initiative, Plan
from plans.tests.factories import InitiativeFactory, ObjectiveFactory, PlanFactory
from tests.factories import RelationshipFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 1)


def test_it_creates_a_plan_serving_objectives(manager_a):
    objective = ObjectiveFactory()
    plan = services.plan_create(
        by=manager_a,
        title="RM plan",
        period="FY2027",
        owner=manager_a,
        start_on=date(2026, 7, 1),
        end_on=date(2027, 6, 30),
        currency="eur",
        objectives=[objective],
    )
    assert plan.currency == "EUR"
    assert list(plan.objectives.all()) == [objective]
    assert plan.history.first().history_user == manager_a


def test_a_plan_cannot_end_before_it_starts(manager_a):
    with pytest.raises(RuleViolation) as error:
        services.plan_create(
            by=manager_a,
            title="P",
            period="FY27",
            start_on=date(2027, 1, 1),
            end_on=date(2026, 1, 1),
        )
    assert error.value.field == "end_on"
    assert not Plan.objects.exists()


def initiative_fields(**overrides) -> dict:
    return {
        "title": "Partner summit",
        "objective": ObjectiveFactory(),
        "planned_hours": Decimal(40),
        "planned_budget": Decimal(5000),
        "start_on": date(2026, 9, 1),
        "end_on": date(2026, 10, 1),
        **overrides,
    }


def test_it_creates_an_initiative_with_people_and_relationships(manager_a, contributor_a):
    plan = PlanFactory(currency="EUR")
    relationship = RelationshipFactory()
    initiative = services.initiative_create(
        plan=plan,
        by=manager_a,
        people=[contributor_a],
        relationships=[relationship],
        owner=manager_a,
        **initiative_fields(currency=""),
    )
    assert initiative.currency == "EUR"  # the plan's, by default
    assert list(initiative.people.all()) == [contributor_a]
    assert list(initiative.relationships.all()) == [relationship]
    assert initiative.history.first().history_user == manager_a


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"planned_hours": Decimal(-1)}, "planned_hours"),
        ({"spent_hours": Decimal("-0.5")}, "spent_hours"),
        ({"planned_budget": Decimal(-10)}, "planned_budget"),
        ({"spent_budget": Decimal(-10)}, "spent_budget"),
        ({"start_on": date(2026, 9, 2), "end_on": date(2026, 9, 1)}, "end_on"),
        ({"currency": "EURO"}, "currency"),
        ({"currency": "e1r"}, "currency"),
    ],
)
def test_it_refuses_invalid_initiatives_with_a_field_error(manager_a, overrides, field):
    with pytest.raises(RuleViolation) as error:
        services.initiative_create(
            plan=PlanFactory(), by=manager_a, **initiative_fields(**overrides)
        )
    assert error.value.field == field
    assert not Initiative.objects.exists()


def test_readers_cannot_create_initiatives(contributor_a):
    with pytest.raises(PermissionRefused):
        services.initiative_create(plan=PlanFactory(), by=contributor_a, **initiative_fields())


def test_it_refuses_a_relationship_the_editor_cannot_see(manager_a, team_b):
    hidden = RelationshipFactory(confidential=True, team=team_b)
    with pytest.raises(RuleViolation) as error:
        services.initiative_create(
            plan=PlanFactory(), by=manager_a, relationships=[hidden], **initiative_fields()
        )
    assert error.value.field == "relationships"


def test_an_edit_keeps_links_to_relationships_the_editor_cannot_see(manager_a, team_b):
    hidden = RelationshipFactory(confidential=True, team=team_b)
    visible = RelationshipFactory()
    initiative = InitiativeFactory(relationships=[hidden, visible])
    services.initiative_update(initiative=initiative, by=manager_a, relationships=[])
    assert list(initiative.relationships.all()) == [hidden]


def test_totals_add_up_planned_and_spent_per_currency(manager_a):
    plan = PlanFactory()
    person = UserFactory()
    InitiativeFactory(
        plan=plan,
        planned_hours=10,
        spent_hours=4,
        planned_budget=1000,
        spent_budget=200,
        owner=manager_a,
        people=[person],
    )
    InitiativeFactory(
        plan=plan,
        planned_hours=30,
        spent_hours=6,
        planned_budget=500,
        spent_budget=600,
        owner=manager_a,
    )
    InitiativeFactory(
        plan=plan, planned_hours=5, planned_budget=100, currency="EUR", owner=None, people=[]
    )
    InitiativeFactory(planned_hours=999)  # another plan's
    overview = selectors.plan_overview(plan, manager_a, TODAY)
    assert overview.hours == {"planned": Decimal(45), "spent": Decimal(10)}
    budgets = {b["currency"]: (b["planned"], b["spent"], b["over"]) for b in overview.budgets}
    assert budgets == {
        "EUR": (Decimal(100), Decimal(0), False),
        "GBP": (Decimal(1500), Decimal(800), False),
    }
    assert overview.people_count == 2


def test_per_person_load_splits_hours_evenly_among_people_and_owner(manager_a, contributor_a):
    plan = PlanFactory()
    helper = UserFactory(username="helper")
    InitiativeFactory(
        plan=plan, planned_hours=30, spent_hours=3, owner=manager_a, people=[contributor_a, helper]
    )
    InitiativeFactory(plan=plan, planned_hours=10, owner=manager_a, people=[manager_a])
    load = {
        row.person.username: row for row in selectors.plan_overview(plan, manager_a, TODAY).load
    }
    assert load["manager_a"].planned_hours == Decimal(20)  # 30/3 + 10 (owner counted once)
    assert load["manager_a"].initiatives == 2
    assert load["contributor_a"].planned_hours == Decimal(10)
    assert load["contributor_a"].spent_hours == Decimal(1)
    assert load["helper"].planned_hours == Decimal(10)


def test_it_lists_what_is_over_budget_and_late(manager_a):
    plan = PlanFactory()
    over_money = InitiativeFactory(plan=plan, planned_budget=100, spent_budget=101)
    over_hours = InitiativeFactory(plan=plan, planned_hours=1, spent_hours=2)
    late = InitiativeFactory(plan=plan, end_on=TODAY - timedelta(days=1))
    InitiativeFactory(plan=plan, end_on=TODAY - timedelta(days=1), status="done")
    InitiativeFactory(plan=plan, end_on=TODAY - timedelta(days=1), status="cancelled")
    InitiativeFactory(plan=plan, end_on=TODAY)
    overview = selectors.plan_overview(plan, manager_a, TODAY)
    assert {i.pk for i in overview.over_budget} == {over_money.pk, over_hours.pk}
    assert [i.pk for i in overview.late] == [late.pk]


def test_initiatives_are_grouped_by_objective(manager_a):
    plan = PlanFactory()
    first, second = ObjectiveFactory(title="A"), ObjectiveFactory(title="B")
    InitiativeFactory(plan=plan, objective=second)
    InitiativeFactory(plan=plan, objective=first)
    InitiativeFactory(plan=plan, objective=first)
    InitiativeFactory(plan=plan, objective=None)
    groups = selectors.plan_overview(plan, manager_a, TODAY).groups
    assert [(g.objective and g.objective.title, len(g.initiatives)) for g in groups] == [
        ("A", 2),
        ("B", 1),
        (None, 1),
    ]
