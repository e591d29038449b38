"""The plans API: objectives (with the tree), plans and initiatives, over the same services."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.tokens import token_create
from plans.models import Initiative, Objective, Plan
from plans.tests.factories import InitiativeFactory, ObjectiveFactory, PlanFactory, level
from tests.api.conftest import field_errors
from tests.factories import RelationshipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clear_throttles():
    cache.clear()


@pytest.fixture
def api():
    return APIClient()


def as_user(api, user):
    api.force_authenticate(user)
    return api


@pytest.fixture
def objective():
    return ObjectiveFactory(title="Grow partner revenue")


@pytest.fixture
def plan():
    return PlanFactory(title="Partner plan")


@pytest.fixture
def initiative(plan, objective):
    return InitiativeFactory(plan=plan, objective=objective, title="Roadmap workshop")


def writes(objective, plan, initiative):
    """(method, url, body) of every write, with a valid body."""
    lvl = level()
    return {
        "create objective": ("post", "/api/v1/objectives/", {"level": lvl.pk, "title": "New"}),
        "edit objective": ("patch", f"/api/v1/objectives/{objective.pk}/", {"title": "Renamed"}),
        "move objective": ("post", f"/api/v1/objectives/{objective.pk}/move/", {"parent": None}),
        "delete objective": ("delete", f"/api/v1/objectives/{objective.pk}/", None),
        "create plan": ("post", "/api/v1/plans/", {"title": "P", "period": "FY2028"}),
        "edit plan": ("patch", f"/api/v1/plans/{plan.pk}/", {"title": "Renamed"}),
        "create initiative": ("post", "/api/v1/initiatives/", {"plan": plan.pk, "title": "I"}),
        "edit initiative": (
            "patch",
            f"/api/v1/initiatives/{initiative.pk}/",
            {"title": "Renamed"},
        ),
    }


WRITE_ACTIONS = [
    "create objective",
    "edit objective",
    "move objective",
    "delete objective",
    "create plan",
    "edit plan",
    "create initiative",
    "edit initiative",
]
OK = {"post": {200, 201}, "patch": {200}, "delete": {204}}


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [("manager_a", True), ("admin_user", True), ("contributor_a", False), ("executive", False)],
)
@pytest.mark.parametrize("write", WRITE_ACTIONS)
def test_permission_matrix_for_writes(
    request, api, objective, plan, initiative, persona, allowed, write
):
    user = request.getfixturevalue(persona)
    method, url, body = writes(objective, plan, initiative)[write]
    before = (Objective.objects.count(), Plan.objects.count(), Initiative.objects.count())
    response = getattr(as_user(api, user), method)(url, body, format="json")
    if allowed:
        assert response.status_code in OK[method], response.content
    else:
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
        after = (Objective.objects.count(), Plan.objects.count(), Initiative.objects.count())
        assert after == before
        objective.refresh_from_db()
        assert objective.title == "Grow partner revenue"


@pytest.mark.parametrize("persona", ["manager_a", "contributor_a", "executive", "admin_user"])
@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/objectives/",
        "/api/v1/objectives/tree/",
        "/api/v1/plans/",
        "/api/v1/initiatives/",
        "/api/v1/objective-levels/",
    ],
)
def test_everyone_signed_in_reads(request, api, initiative, persona, url):
    assert as_user(api, request.getfixturevalue(persona)).get(url).status_code == 200


def test_anonymous_callers_get_401(api, objective):
    assert api.get("/api/v1/objectives/").status_code == 401
    assert api.post("/api/v1/objectives/", {}, format="json").status_code == 401


def test_a_read_only_token_cannot_write(api, manager_a):
    _, raw = token_create(user=manager_a, name="reader", scope="read")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert api.get("/api/v1/plans/", **headers).status_code == 200
    response = api.post("/api/v1/plans/", {"title": "P", "period": "X"}, format="json", **headers)
    assert response.status_code == 403
    assert not Plan.objects.exists()


# --- Objectives ----------------------------------------------------------------------


def test_creating_an_objective_records_who_did_it(api, manager_a, objective):
    response = as_user(api, manager_a).post(
        "/api/v1/objectives/",
        {
            "parent": objective.pk,
            "level": level("Commercial plan").pk,
            "title": "  Partner-sourced deals  ",
            "status": "active",
            "kpi_name": "Deals",
            "kpi_target": "20",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["title"] == "Partner-sourced deals"
    assert body["parent"] == objective.pk
    assert body["level_name"] == "Commercial plan"
    assert body["progress"] == 0.0
    created = Objective.objects.get(pk=body["id"])
    assert created.history.first().history_user == manager_a


def test_a_kpi_without_a_target_is_refused_with_its_code(api, manager_a):
    response = as_user(api, manager_a).post(
        "/api/v1/objectives/",
        {"level": level().pk, "title": "Measured", "kpi_name": "Revenue"},
        format="json",
    )
    assert response.status_code == 400
    problem = {
        "code": "kpi_target_required",
        "detail": "A KPI needs a target value.",
        "field": "kpi_target",
    }
    assert response.json() == {**problem, "problems": [problem]}
    assert not Objective.objects.filter(title="Measured").exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x" * 201}, "title"),
        ({"title": 5 * [1]}, "title"),
        ({"title": "T", "status": "finished"}, "status"),
        ({"title": "T", "level": "top"}, "level"),
        ({"title": "T", "level": 999_999}, "level"),
        ({"title": "T", "kpi_target": "lots"}, "kpi_target"),
        ({"title": "T", "kpi_target": "1" * 20}, "kpi_target"),
        ({"title": "T", "target_date": "31/12/2027"}, "target_date"),
        ({"title": "T", "owner": 999_999}, "owner"),
    ],
)
def test_invalid_objective_input_gets_field_errors_and_saves_nothing(api, manager_a, body, field):
    body = {"level": level().pk, **body}
    response = as_user(api, manager_a).post("/api/v1/objectives/", body, format="json")
    assert response.status_code == 400
    assert field in field_errors(response)
    assert not Objective.objects.exists()


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ("title=x", "application/x-www-form-urlencoded", 415),
        ("[1, 2]", "application/json", 400),
        ('"just a string"', "application/json", 400),
    ],
)
def test_malformed_requests_get_4xx_never_500(api, manager_a, raw, content_type, status):
    as_user(api, manager_a)
    for url in ("/api/v1/objectives/", "/api/v1/plans/", "/api/v1/initiatives/"):
        response = api.generic("POST", url, raw, content_type=content_type)
        assert response.status_code == status, url
    assert not Objective.objects.exists()
    assert not Plan.objects.exists()


def test_moving_an_objective_under_its_own_branch_is_a_cycle(api, manager_a):
    vision = ObjectiveFactory(title="Vision")
    strategy = ObjectiveFactory(title="Strategy", parent=vision)
    tactic = ObjectiveFactory(title="Tactic", parent=strategy)
    as_user(api, manager_a)
    for new_parent in (tactic, vision):
        response = api.post(
            f"/api/v1/objectives/{vision.pk}/move/", {"parent": new_parent.pk}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["code"] == "cycle"
        assert response.json()["field"] == "parent"
        assert "loop" in response.json()["detail"] or "itself" in response.json()["detail"]
    vision.refresh_from_db()
    assert vision.parent is None


def test_a_move_through_patch_is_refused_the_same_way(api, manager_a):
    vision = ObjectiveFactory(title="Vision")
    strategy = ObjectiveFactory(title="Strategy", parent=vision)
    response = as_user(api, manager_a).patch(
        f"/api/v1/objectives/{vision.pk}/", {"parent": strategy.pk, "title": "V2"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "cycle"
    vision.refresh_from_db()
    assert (vision.parent, vision.title) == (None, "Vision")


def test_moving_to_the_top_and_under_another(api, manager_a):
    vision = ObjectiveFactory(title="Vision")
    other = ObjectiveFactory(title="Other")
    strategy = ObjectiveFactory(title="Strategy", parent=vision)
    as_user(api, manager_a)
    response = api.post(
        f"/api/v1/objectives/{strategy.pk}/move/", {"parent": other.pk}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["parent"] == other.pk
    response = api.post(f"/api/v1/objectives/{strategy.pk}/move/", {"parent": None}, format="json")
    assert response.json()["parent"] is None
    assert api.post(f"/api/v1/objectives/{strategy.pk}/move/", {}, format="json").status_code == 400


def test_deleting_an_objective_with_children_needs_a_choice(api, manager_a):
    vision = ObjectiveFactory(title="Vision")
    strategy = ObjectiveFactory(title="Strategy", parent=vision)
    tactic = ObjectiveFactory(title="Tactic", parent=strategy)
    as_user(api, manager_a)
    response = api.delete(f"/api/v1/objectives/{strategy.pk}/")
    assert response.status_code == 400
    assert response.json()["code"] == "children_choice_required"
    assert api.delete(f"/api/v1/objectives/{strategy.pk}/?children=maybe").status_code == 400
    assert Objective.objects.count() == 3

    assert api.delete(f"/api/v1/objectives/{strategy.pk}/?children=reattach").status_code == 204
    tactic.refresh_from_db()
    assert tactic.parent == vision

    assert api.delete(f"/api/v1/objectives/{vision.pk}/?children=delete").status_code == 204
    assert not Objective.objects.exists()


def test_a_leaf_objective_deletes_without_a_choice(api, manager_a, objective):
    assert as_user(api, manager_a).delete(f"/api/v1/objectives/{objective.pk}/").status_code == 204
    assert as_user(api, manager_a).delete(f"/api/v1/objectives/{objective.pk}/").status_code == 404


def test_kpi_measurements_move_the_current_value(api, manager_a):
    objective = ObjectiveFactory(kpi_name="Deals", kpi_baseline=0, kpi_target=10)
    response = as_user(api, manager_a).post(
        f"/api/v1/objectives/{objective.pk}/measurements/",
        {"measured_on": "2026-06-30", "value": "4"},
        format="json",
    )
    assert response.status_code == 201
    detail = api.get(f"/api/v1/objectives/{objective.pk}/").json()
    assert Decimal(detail["kpi_current"]) == 4
    assert detail["kpi_progress"] == 40.0
    assert detail["progress"] == 40.0


def test_the_tree_nests_children_and_rolls_up_progress(api, executive):
    vision = ObjectiveFactory(title="Vision")
    ObjectiveFactory(title="Half", parent=vision, kpi_name="K", kpi_target=10, kpi_current=5)
    ObjectiveFactory(title="Done", parent=vision, status=Objective.Status.ACHIEVED)
    ObjectiveFactory(title="Dropped", parent=vision, status=Objective.Status.DROPPED)
    response = as_user(api, executive).get("/api/v1/objectives/tree/")
    assert response.status_code == 200
    [root] = response.json()
    assert root["title"] == "Vision"
    assert root["progress"] == 75.0  # (50 + 100) / 2; the dropped one counts for nothing
    assert root["descendant_count"] == 3
    assert {c["title"]: c["depth"] for c in root["children"]} == {
        "Done": 1,
        "Dropped": 1,
        "Half": 1,
    }
    assert (
        api.get(f"/api/v1/objectives/tree/?root={root['children'][0]['id']}").json()[0]["depth"]
        == 1
    )
    assert api.get("/api/v1/objectives/tree/?root=nope").status_code == 400


def _chain(count: int) -> None:
    parent = None
    for n in range(count):
        # Three-wide, ten-deep branches: enough shape for an N+1 to show.
        parent = ObjectiveFactory(title=f"Node {n}", parent=parent if n % 10 else None)


@pytest.mark.parametrize("count", [30, 60])
def test_the_tree_costs_the_same_queries_at_any_size(
    api, executive, count, django_assert_max_num_queries
):
    _chain(count)
    as_user(api, executive)
    with django_assert_max_num_queries(3):
        response = api.get("/api/v1/objectives/tree/")
    assert sum(1 + node["descendant_count"] for node in response.json()) == count


@pytest.mark.parametrize("count", [30, 60])
def test_the_objective_list_costs_the_same_queries_at_any_size(
    api, executive, count, django_assert_max_num_queries
):
    _chain(count)
    as_user(api, executive)
    with django_assert_max_num_queries(4):
        response = api.get("/api/v1/objectives/?page_size=100")
    assert response.json()["count"] == count


def test_objectives_filter_search_and_order(api, executive):
    vision = ObjectiveFactory(title="Vision", status=Objective.Status.ACTIVE)
    ObjectiveFactory(title="Alpha draft", parent=vision, status=Objective.Status.DRAFT)
    ObjectiveFactory(title="Beta", parent=vision)
    as_user(api, executive)

    def titles(query):
        return [o["title"] for o in api.get(f"/api/v1/objectives/?{query}").json()["results"]]

    assert titles("status=draft") == ["Alpha draft"]
    assert titles("top=true") == ["Vision"]
    assert titles(f"parent={vision.pk}&ordering=-title") == ["Beta", "Alpha draft"]
    assert titles("search=beta") == ["Beta"]
    assert api.get("/api/v1/objectives/?status=unknown").status_code == 400


def test_pages_are_capped(api, executive):
    for n in range(205):
        Objective(title=f"O{n}", level=level()).save()
    body = as_user(api, executive).get("/api/v1/objectives/?page_size=1000").json()
    assert len(body["results"]) == 200
    assert body["next"]


# --- Plans ---------------------------------------------------------------------------


def test_a_plan_shows_its_totals(api, manager_a, plan, objective):
    InitiativeFactory(
        plan=plan, planned_hours=10, spent_hours=4, planned_budget=100, spent_budget=150
    )
    InitiativeFactory(plan=plan, planned_hours=5, planned_budget=50, currency="EUR")
    body = as_user(api, manager_a).get(f"/api/v1/plans/{plan.pk}/").json()
    assert Decimal(body["totals"]["hours"]["planned"]) == 15
    assert Decimal(body["totals"]["hours"]["spent"]) == 4
    budgets = {b["currency"]: b for b in body["totals"]["budgets"]}
    assert budgets["GBP"]["over"] is True
    assert budgets["EUR"]["over"] is False
    assert body["totals"]["people_count"] == 2
    assert body["initiative_count"] == 2


def test_creating_and_editing_a_plan(api, manager_a, objective):
    as_user(api, manager_a)
    response = api.post(
        "/api/v1/plans/",
        {
            "title": "FY plan",
            "period": "FY2027",
            "currency": "eur",
            "objectives": [objective.pk],
            "start_on": "2026-07-01",
            "end_on": "2027-06-30",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["currency"] == "EUR"
    assert body["objectives"] == [objective.pk]
    assert "totals" in body
    response = api.patch(f"/api/v1/plans/{body['id']}/", {"end_on": "2026-01-01"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "end_before_start"
    assert Plan.objects.get().end_on.isoformat() == "2027-06-30"
    response = api.patch(f"/api/v1/plans/{body['id']}/", {"objectives": []}, format="json")
    assert response.json()["objectives"] == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"currency": "POUNDS"}, "currency"),
        ({"period": ""}, "period"),
        ({"start_on": "yesterday"}, "start_on"),
        ({"objectives": [999_999]}, "objectives"),
        ({"objectives": "1"}, "objectives"),
    ],
)
def test_invalid_plan_input_gets_field_errors(api, manager_a, body, field):
    response = as_user(api, manager_a).post(
        "/api/v1/plans/", {"title": "P", "period": "FY", **body}, format="json"
    )
    assert response.status_code == 400
    assert field in field_errors(response)
    assert not Plan.objects.exists()


def test_plans_cannot_be_deleted_or_replaced(api, manager_a, plan):
    as_user(api, manager_a)
    assert api.delete(f"/api/v1/plans/{plan.pk}/").status_code == 405
    assert api.put(f"/api/v1/plans/{plan.pk}/", {}, format="json").status_code == 405


@pytest.mark.parametrize("count", [30, 60])
def test_the_plan_list_costs_the_same_queries_at_any_size(
    api, executive, count, django_assert_max_num_queries
):
    objective = ObjectiveFactory()
    for n in range(count):
        PlanFactory(title=f"Plan {n}").objectives.add(objective)
    as_user(api, executive)
    with django_assert_max_num_queries(4):
        response = api.get("/api/v1/plans/?page_size=100")
    assert response.json()["count"] == count


# --- Initiatives and the relationships they work on -----------------------------------


@pytest.fixture
def secret_relationship(team_a, manager_a):
    """Team A's confidential relationship: invisible to Team B."""
    return RelationshipFactory(team=team_a, manager=manager_a, confidential=True, stage="build")


def test_an_initiative_may_only_name_relationships_the_caller_can_see(
    api, manager_b, plan, secret_relationship
):
    open_relationship = RelationshipFactory(stage="build")
    response = as_user(api, manager_b).post(
        "/api/v1/initiatives/",
        {"plan": plan.pk, "title": "Joint work", "relationships": [secret_relationship.pk]},
        format="json",
    )
    assert response.status_code == 400
    assert "does not exist" in field_errors(response)["relationships"][0]
    assert not Initiative.objects.exists()
    response = api.post(
        "/api/v1/initiatives/",
        {"plan": plan.pk, "title": "Joint work", "relationships": [open_relationship.pk]},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["relationships"] == [open_relationship.pk]
    assert response.json()["currency"] == "GBP"  # the plan's


def test_confidential_links_are_invisible_to_other_teams_and_kept_on_their_edits(
    api, manager_a, manager_b, plan, secret_relationship
):
    visible = RelationshipFactory(stage="build")
    initiative = InitiativeFactory(plan=plan, relationships=[secret_relationship, visible])
    url = f"/api/v1/initiatives/{initiative.pk}/"
    assert set(as_user(api, manager_a).get(url).json()["relationships"]) == {
        secret_relationship.pk,
        visible.pk,
    }
    assert as_user(api, manager_b).get(url).json()["relationships"] == [visible.pk]
    # Filtering by the hidden relationship answers exactly like an id that does not exist.
    hidden = api.get(f"/api/v1/initiatives/?relationships={secret_relationship.pk}")
    unknown = api.get("/api/v1/initiatives/?relationships=999999")
    assert hidden.status_code == unknown.status_code == 400
    assert field_errors(hidden)["relationships"][0].replace(
        str(secret_relationship.pk), "ID"
    ) == field_errors(unknown)["relationships"][0].replace("999999", "ID")
    # Manager B replaces the links they can see; the hidden one stays.
    response = api.patch(url, {"relationships": []}, format="json")
    assert response.status_code == 200
    assert response.json()["relationships"] == []
    assert list(initiative.relationships.values_list("pk", flat=True)) == [secret_relationship.pk]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"planned_budget": "-1"}, "planned_budget"),
        ({"planned_hours": "1234567890"}, "planned_hours"),
        ({"status": "someday"}, "status"),
        ({"currency": "12"}, "currency"),
        ({"people": [999_999]}, "people"),
        ({"plan": None}, "plan"),
        ({"start_on": "2026-05-01", "end_on": "2026-04-01"}, "end_on"),
    ],
)
def test_invalid_initiative_input_is_refused(api, manager_a, plan, body, field):
    response = as_user(api, manager_a).post(
        "/api/v1/initiatives/", {"plan": plan.pk, "title": "I", **body}, format="json"
    )
    assert response.status_code == 400
    data = response.json()
    assert field in data or data.get("field") == field
    assert not Initiative.objects.exists()


def test_an_initiative_stays_in_its_plan(api, manager_a, initiative):
    other = PlanFactory(title="Other")
    response = as_user(api, manager_a).patch(
        f"/api/v1/initiatives/{initiative.pk}/",
        {"plan": other.pk, "spent_hours": "3.5"},
        format="json",
    )
    assert response.status_code == 200
    initiative.refresh_from_db()
    assert initiative.plan_id != other.pk
    assert initiative.spent_hours == Decimal("3.5")
    assert initiative.history.first().history_user == manager_a


@pytest.mark.parametrize("count", [30, 60])
def test_the_initiative_list_costs_the_same_queries_at_any_size(
    api, manager_b, plan, count, django_assert_max_num_queries
):
    relationships = [RelationshipFactory(stage="build") for _ in range(3)]
    for n in range(count):
        InitiativeFactory(plan=plan, title=f"I{n}", relationships=relationships, people=[manager_b])
    as_user(api, manager_b)
    # count, page, people, relationships, the caller's teams, the plan filter's lookup
    with django_assert_max_num_queries(6):
        response = api.get(f"/api/v1/initiatives/?plan={plan.pk}&page_size=100")
    assert response.json()["count"] == count
    assert len(response.json()["results"][0]["relationships"]) == 3
