"""The pages: permissions, forms with inline errors, HTMX fragments, CSV, query counts."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.urls import reverse

from plans import rollups
from plans.models import Initiative, Objective, Plan
from plans.selectors import objectives_for_relationship
from plans.tests.factories import InitiativeFactory, ObjectiveFactory, PlanFactory, level
from tests.factories import RelationshipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    objective = ObjectiveFactory(title="Grow partnerships")
    child = ObjectiveFactory(title="Partner summit programme", parent=objective)
    initiative = InitiativeFactory(title="Summit 2027", objective=child)
    return {
        "objective": objective,
        "child": child,
        "plan": initiative.plan,
        "initiative": initiative,
    }


def url_for(name: str, world: dict) -> str:
    args = {
        "objective_detail": [world["objective"].pk],
        "objective_edit": [world["objective"].pk],
        "objective_move": [world["child"].pk],
        "objective_delete": [world["child"].pk],
        "measurement_create": [world["objective"].pk],
        "plan_detail": [world["plan"].pk],
        "plan_edit": [world["plan"].pk],
        "plan_export": [world["plan"].pk],
        "initiative_create": [world["plan"].pk],
        "initiative_edit": [world["initiative"].pk],
    }.get(name, [])
    return reverse(f"plans:{name}", args=args)


READ_PAGES = [
    "index",
    "objective_detail",
    "plan_list",
    "plan_detail",
    "plan_export",
    "contribution",
]
WRITE_PAGES = [
    "objective_create",
    "objective_edit",
    "objective_move",
    "objective_delete",
    "plan_create",
    "plan_edit",
    "initiative_create",
    "initiative_edit",
]


@pytest.mark.parametrize("role", ["admin_user", "manager_a", "executive", "contributor_a"])
@pytest.mark.parametrize("page", READ_PAGES)
def test_every_signed_in_role_reads_the_plans(client, request, world, role, page):
    client.force_login(request.getfixturevalue(role))
    assert client.get(url_for(page, world)).status_code == 200


@pytest.mark.parametrize(
    ("role", "expected"),
    [("admin_user", 200), ("manager_a", 200), ("executive", 403), ("contributor_a", 403)],
)
@pytest.mark.parametrize("page", WRITE_PAGES)
def test_only_managers_and_admins_open_the_forms(client, request, world, role, expected, page):
    client.force_login(request.getfixturevalue(role))
    assert client.get(url_for(page, world)).status_code == expected


@pytest.mark.parametrize("role", ["executive", "contributor_a"])
@pytest.mark.parametrize(
    ("page", "data"),
    [
        ("objective_create", {"title": "X", "level": "1", "status": "active"}),
        ("objective_edit", {"title": "Changed", "level": "1", "status": "active"}),
        ("objective_move", {"parent": ""}),
        ("objective_delete", {"children": "delete"}),
        ("measurement_create", {"measured_on": "2026-01-01", "value": "5"}),
        ("plan_create", {"title": "P", "period": "FY27", "currency": "GBP"}),
        ("plan_edit", {"title": "Changed", "period": "FY27", "currency": "GBP"}),
        ("initiative_create", {"title": "I", "status": "planned"}),
        ("initiative_edit", {"title": "Changed", "status": "planned"}),
    ],
)
def test_readers_cannot_write_and_nothing_changes(client, request, world, role, page, data):
    client.force_login(request.getfixturevalue(role))
    before = (Objective.objects.count(), Plan.objects.count(), Initiative.objects.count())
    response = client.post(url_for(page, world), data)
    assert response.status_code == 403
    assert (Objective.objects.count(), Plan.objects.count(), Initiative.objects.count()) == before
    assert not Objective.objects.filter(title="Changed").exists()
    assert not Plan.objects.filter(title="Changed").exists()
    assert not Initiative.objects.filter(title="Changed").exists()
    assert world["child"].__class__.objects.get(pk=world["child"].pk).parent_id is not None


def test_a_manager_creates_an_objective_under_a_parent(client, manager_a, world):
    client.force_login(manager_a)
    response = client.post(
        reverse("plans:objective_create"),
        {
            "parent": world["objective"].pk,
            "level": level().pk,
            "title": "New one",
            "status": "draft",
            "kpi_name": "Referrals",
            "kpi_target": "12",
        },
    )
    created = Objective.objects.get(title="New one")
    assert response.status_code == 302
    assert response["Location"] == created.get_absolute_url()
    assert created.parent == world["objective"]
    assert created.created_by == manager_a


def test_form_errors_show_inline_next_to_the_field(client, manager_a, world):
    client.force_login(manager_a)
    response = client.post(
        url_for("initiative_create", world),
        {"title": "Bad", "status": "planned", "planned_hours": "-3", "currency": "GBP"},
    )
    assert response.status_code == 422
    assert 'id="id_planned_hours_error"' in response.content.decode()
    assert "Planned hours cannot be negative." in response.content.decode()
    assert not Initiative.objects.filter(title="Bad").exists()


def test_an_htmx_form_answers_with_the_form_alone_then_redirects(client, manager_a, world):
    client.force_login(manager_a)
    url = url_for("initiative_create", world)
    bad = client.post(
        url,
        {"title": "I", "status": "planned", "start_on": "2026-02-01", "end_on": "2026-01-01"},
        HTTP_HX_REQUEST="true",
    )
    body = bad.content.decode()
    assert bad.status_code == 200 and "<html" not in body
    assert "The end date cannot be before the start." in body
    good = client.post(
        url,
        {
            "title": "Good",
            "status": "planned",
            "currency": "usd",
            "objective": world["child"].pk,
            "relationships": [RelationshipFactory().pk],
        },
        HTTP_HX_REQUEST="true",
    )
    initiative = Initiative.objects.get(title="Good")
    assert good.headers["HX-Redirect"] == initiative.get_absolute_url()
    assert initiative.currency == "USD" and initiative.relationships.count() == 1


def test_the_move_form_explains_a_cycle(client, manager_a, world):
    client.force_login(manager_a)
    response = client.post(
        url_for("objective_move", {**world, "child": world["objective"]}),
        {"parent": world["child"].pk},
    )
    assert response.status_code == 422
    assert "cascade would loop" in response.content.decode()
    world["objective"].refresh_from_db()
    assert world["objective"].parent is None


def test_the_edit_form_does_not_offer_the_objective_or_its_branch_as_parent(
    client, manager_a, world
):
    client.force_login(manager_a)
    form = client.get(url_for("objective_edit", world)).context["form"]
    assert set(form.fields["parent"].queryset) == set()  # its only other objective is its child


def test_the_delete_page_asks_about_children_and_reattaches_them(client, manager_a, world):
    grandchild = ObjectiveFactory(parent=world["child"])
    client.force_login(manager_a)
    page = client.get(url_for("objective_delete", world)).content.decode()
    assert "1 direct sub-objective and 1 objective below it" in page
    assert "Delete the whole branch" in page
    response = client.post(url_for("objective_delete", world), {"children": "reattach"})
    assert response.status_code == 302
    grandchild.refresh_from_db()
    assert grandchild.parent == world["objective"]


def test_recording_a_measurement_from_the_objective_page(client, manager_a):
    objective = ObjectiveFactory(kpi_name="NPS", kpi_baseline=0, kpi_target=50)
    client.force_login(manager_a)
    response = client.post(
        reverse("plans:measurement_create", args=[objective.pk]),
        {"measured_on": "2026-05-01", "value": "25", "note": "Survey"},
    )
    assert response.status_code == 302
    page = client.get(objective.get_absolute_url()).content.decode()
    assert "Survey" in page and 'value="50"' in page  # progress 50 %


def test_the_tree_shows_progress_bars_and_the_roll_up_rule(client, executive, world):
    client.force_login(executive)
    response = client.get(reverse("plans:index"))
    body = response.content.decode()
    assert "HX-Request" in response["Vary"]
    assert "<details" in body and "How progress rolls up" in body
    assert body.count("<progress") == 2
    assert "style=" not in body and "<script>" not in body and "hx-on" not in body


def test_deep_branches_load_on_demand_with_a_link_that_works_without_javascript(
    client, executive, world
):
    client.force_login(executive)
    body = client.get(reverse("plans:index") + "?depth=1").content.decode()
    children_url = reverse("plans:objective_children", args=[world["objective"].pk])
    assert f'href="{children_url}">1 sub-objective</a>' in body  # without JavaScript
    assert f'hx-get="{children_url}"' in body and 'aria-expanded="false"' in body
    assert "Partner summit programme" not in body
    fragment = client.get(children_url, HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith(f'<li id="objective-{world["child"].pk}"')
    assert "Partner summit programme" in fragment and "<html" not in fragment
    page = client.get(children_url).content.decode()
    assert "Branch: Grow partnerships" in page and "Partner summit programme" in page


def test_the_plan_page_answers_what_and_who(client, contributor_a, manager_a):
    plan = PlanFactory()
    objective = ObjectiveFactory(title="Deepen supplier trust")
    InitiativeFactory(
        plan=plan,
        objective=objective,
        title="Quarterly supplier days",
        owner=manager_a,
        people=[contributor_a],
        planned_hours=20,
        spent_hours=25,
        planned_budget=Decimal(1000),
        spent_budget=Decimal(1500),
        end_on=date(2020, 1, 1),
    )
    client.force_login(contributor_a)
    body = client.get(plan.get_absolute_url()).content.decode()
    assert "Deepen supplier trust" in body and "Quarterly supplier days" in body
    assert "1,500.00 GBP</strong> spent of 1,000.00 planned" in body
    assert 'id="over-budget"' in body and 'id="late"' in body
    assert "Contribution check" in body
    assert "Edit plan" not in body  # readers see no edit links


def test_the_plan_page_hides_confidential_relationships_of_other_teams(client, manager_a, team_b):
    secret = RelationshipFactory(confidential=True, team=team_b, stakeholder__name="Secret Ltd")
    initiative = InitiativeFactory(
        relationships=[secret, RelationshipFactory(stakeholder__name="Open plc")]
    )
    client.force_login(manager_a)
    body = client.get(initiative.plan.get_absolute_url()).content.decode()
    assert "Open plc" in body and "Secret Ltd" not in body
    export_url = reverse("plans:plan_export", args=[initiative.plan.pk])
    export = b"".join(client.get(export_url).streaming_content)
    assert b"Secret Ltd" not in export


def test_the_csv_export_lists_the_initiatives(client, executive):
    plan = PlanFactory(period="FY2027")
    owner = UserFactory(first_name="Maya", last_name="Manager")
    InitiativeFactory(
        plan=plan,
        title="=HYPERLINK()",
        objective=ObjectiveFactory(title="Trust"),
        owner=owner,
        planned_hours=Decimal("12.5"),
        spent_budget=Decimal(2000),
        relationships=[RelationshipFactory(stakeholder__name="Heron Foods")],
    )
    client.force_login(executive)
    response = client.get(reverse("plans:plan_export", args=[plan.pk]))
    assert response["Content-Disposition"] == 'attachment; filename="plan-FY2027.csv"'
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["Objective", "Initiative", "Status"]
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Objective"] == "Trust"
    assert row["Initiative"] == "'=HYPERLINK()"  # spreadsheet-safe
    assert row["Owner"] == "Maya Manager"
    assert row["Planned hours"] == "12.50"
    assert row["Over budget"] == "yes"
    assert "Heron Foods" in row["Relationships"]


def build_tree(nodes: int) -> list[Objective]:
    """A balanced tree: 5 roots, each node with up to 4 children, KPIs on some (inserted
    directly for speed, then the roll-up read model rebuilt as the demo seed does)."""
    step = level()
    created: list[Objective] = []
    for n in range(nodes):
        parent = created[(n - 5) // 4] if n >= 5 else None
        kpi = {"kpi_name": "x", "kpi_target": 10, "kpi_current": n % 10} if n % 3 == 0 else {}
        created.append(Objective.objects.create(title=f"O{n}", level=step, parent=parent, **kpi))
    rollups.rebuild()
    return created


TREE_CAP = 4


@pytest.mark.parametrize("nodes", [50, 500])
def test_the_tree_page_runs_a_constant_number_of_queries(
    client, executive, django_assert_max_num_queries, nodes
):
    build_tree(nodes)
    client.force_login(executive)
    with django_assert_max_num_queries(TREE_CAP):
        response = client.get(reverse("plans:index"), {"depth": 12})  # every level drawn
    assert response.content.decode().count("<progress") == nodes


def test_without_a_depth_the_tree_shows_whole_levels_within_a_readable_budget(client, executive):
    from plans.views import DEFAULT_NODE_BUDGET

    build_tree(500)
    client.force_login(executive)
    response = client.get(reverse("plans:index"))
    drawn = response.content.decode().count("<progress")
    assert 1 <= drawn <= DEFAULT_NODE_BUDGET
    assert response.context["depth"] >= 1


# The contribution check counts idle relationships in a query of its own: folding the count
# into the page's query (COUNT(*) OVER ()) saves one query and costs 10× the time.
PLAN_CAP = 13


@pytest.mark.parametrize("initiatives", [10, 40])
def test_the_plan_page_runs_a_constant_number_of_queries(
    client, manager_a, django_assert_max_num_queries, initiatives
):
    plan = PlanFactory()
    objectives = [ObjectiveFactory() for _ in range(4)]
    plan.objectives.set(objectives)
    people = [UserFactory() for _ in range(3)]
    for n in range(initiatives):
        InitiativeFactory(
            plan=plan,
            objective=objectives[n % 4],
            people=people[: n % 3 + 1],
            relationships=[RelationshipFactory(stage="build")],
        )
    for _ in range(initiatives // 5):
        RelationshipFactory(stage="pilot")  # idle: the contribution check lists them
    client.force_login(manager_a)
    client.get(plan.get_absolute_url())  # warm: the team ids and the cascade are cached
    with django_assert_max_num_queries(PLAN_CAP):
        response = client.get(plan.get_absolute_url())
    assert response.content.decode().count('id="initiative-') == initiatives


def test_the_relationship_partial_shows_objectives_and_initiatives():
    vision = ObjectiveFactory(title="Networking vision")
    strategy = ObjectiveFactory(title="Be the partner of choice", parent=vision)
    relationship = RelationshipFactory()
    InitiativeFactory(title="Joint pilot", objective=strategy, relationships=[relationship])
    html = render_to_string(
        "plans/_relationship_objectives.html",
        {"plan_links": objectives_for_relationship(relationship)},
    )
    assert "Be the partner of choice" in html and "Joint pilot" in html
    assert "Networking vision" in html
    empty = render_to_string("plans/_relationship_objectives.html", {"plan_links": []})
    assert "contributes to no objective yet" in empty


def test_the_plan_pages_totals_match_the_databases(manager_a):
    """The page sums the initiatives it has loaded; the API asks the database: same figures."""
    from django.utils import timezone

    from plans import selectors

    plan = PlanFactory()
    people = [UserFactory() for _ in range(3)]
    for n, currency in enumerate(["GBP", "EUR", "GBP", "USD", "GBP"]):
        InitiativeFactory(
            plan=plan,
            currency=currency,
            planned_hours=10 + n,
            spent_hours=n * 3,
            planned_budget=100 * n,
            spent_budget=130 * n if n % 2 else 0,
            people=people[: n % 3 + 1],
            owner=people[n % 3] if n % 2 else UserFactory(),
        )
    overview = selectors.plan_overview(plan, manager_a, timezone.localdate())
    hours, budgets = selectors.plan_totals(plan)
    assert overview.hours == hours
    assert overview.budgets == budgets
    assert overview.people_count == selectors.plan_people_count(plan) == 6  # 3 people, 3 owners


def test_the_tree_page_shows_every_change_at_once(client, executive):
    """Nothing of the tree page is cached: any objective or owner change shows next time."""
    owner = UserFactory(first_name="Olive", last_name="Owner")
    vision = ObjectiveFactory(title="Networking vision", owner=owner)
    client.force_login(executive)
    assert "Networking vision" in client.get(reverse("plans:index")).content.decode()

    ObjectiveFactory(title="Partner of choice", parent=vision)
    vision.title = "The networking vision"
    vision.save()
    page = client.get(reverse("plans:index"), {"depth": 3}).content.decode()
    assert "The networking vision" in page and "Partner of choice" in page

    owner.first_name = "Olivia"
    owner.save()
    assert "Olivia Owner" in client.get(reverse("plans:index")).content.decode()
