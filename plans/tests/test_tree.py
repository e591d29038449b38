"""The roll-up read model (plans.rollups) and the pages that read it: the tree page loads
only the levels it draws, collapsed branches load their children on demand (HTMX, or the
branch's own page without JavaScript), and the dashboard's cascade reads the same rows."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal
from importlib import import_module

import pytest
from django.core.management import call_command
from django.urls import reverse

from core import readmodels
from core.errors import RuleViolation
from plans import rollups, selectors, services
from plans.models import Objective, ObjectiveLevel, ObjectiveRollup
from plans.tests.factories import ObjectiveFactory, level
from plans.views import DEFAULT_NODE_BUDGET

pytestmark = pytest.mark.django_db

Status = Objective.Status


def recomputed() -> dict[int, tuple]:
    """What the read model should hold: computed afresh from the objectives."""
    figures = rollups.compute(Objective.objects.values_list(*rollups.RAW_FIELDS))
    return {pk: (f.progress, f.descendant_count, list(f.level_sizes)) for pk, f in figures.items()}


def stored() -> dict[int, tuple]:
    return {
        row.objective_id: (row.progress, row.descendant_count, row.level_sizes)
        for row in ObjectiveRollup.objects.all()
    }


def assert_read_model_is_right(context: str = "") -> None:
    assert stored() == recomputed(), context
    # And an independent computation, the API's whole tree in memory, agrees.
    tree = selectors.objective_tree()
    for pk, (progress, descendants, _) in stored().items():
        assert progress == pytest.approx(tree.by_pk[pk].progress), context
        assert descendants == tree.by_pk[pk].descendant_count, context


def build_tree(nodes: int, fan_out: int = 4, roots: int = 5) -> list[Objective]:
    """A balanced cascade inserted directly, then its read model rebuilt (as the seed)."""
    step = level()
    created: list[Objective] = []
    for n in range(nodes):
        parent = created[(n - roots) // fan_out] if n >= roots else None
        kpi = {"kpi_name": "x", "kpi_target": 10, "kpi_current": n % 11} if n % 3 == 0 else {}
        created.append(Objective.objects.create(title=f"O{n}", level=step, parent=parent, **kpi))
    rollups.rebuild()
    return created


# --- The read model follows every write ------------------------------------------------


def _random_kpi(rng: random.Random) -> dict:
    if rng.random() < 0.4:
        return {"kpi_name": "", "kpi_baseline": None, "kpi_target": None}
    baseline = Decimal(rng.randint(0, 20))
    return {
        "kpi_name": "Index",
        "kpi_baseline": baseline if rng.random() < 0.7 else None,
        "kpi_target": baseline + rng.choice([-10, 5, 30]),
    }


def _write_at_random(rng: random.Random, by, step) -> str:
    """One write to the cascade through plans.services, chosen at random; its name."""
    objectives = list(Objective.objects.order_by("pk"))
    action = rng.choice(
        ["create", "create", "move", "update", "measure", "status", "delete"]
        if objectives
        else ["create"]
    )
    target = rng.choice(objectives) if objectives else None
    if action == "create":
        kpi = _random_kpi(rng)
        if kpi["kpi_target"] is not None and kpi["kpi_target"] == (kpi["kpi_baseline"] or 0):
            kpi["kpi_target"] += 1
        services.objective_create(
            by=by,
            title=f"O{rng.randint(0, 10**6)}",
            level=step,
            parent=rng.choice([None, *objectives]),
            status=rng.choice(Status.values),
            **kpi,
        )
    elif action == "move":
        choices = list(selectors.objective_choices_excluding_branch(target))
        services.objective_move(objective=target, new_parent=rng.choice([None, *choices]), by=by)
    elif action == "update":  # a move and field changes in one edit, as the form does
        choices = list(selectors.objective_choices_excluding_branch(target))
        try:
            services.objective_update(
                objective=target,
                by=by,
                parent=rng.choice([None, *choices]),
                status=rng.choice(Status.values),
                **_random_kpi(rng),
            )
        except RuleViolation:  # a KPI target equal to its baseline: nothing changed
            return "update refused"
    elif action == "measure":
        with_kpi = [o for o in objectives if o.has_kpi]
        if not with_kpi:
            return "no kpi to measure"
        services.kpi_measurement_record(
            objective=rng.choice(with_kpi),
            measured_on=date(2026, 1, 1) + timedelta(days=rng.randint(0, 300)),
            value=Decimal(rng.randint(-5, 60)),
            by=by,
        )
    elif action == "status":
        services.objective_update(objective=target, by=by, status=rng.choice(Status.values))
    else:
        services.objective_delete(
            objective=target, by=by, children=rng.choice(["reattach", "delete"])
        )
    return f"{action} {target.pk if target else ''}"


@pytest.mark.parametrize("seed", range(8))
def test_random_writes_keep_the_read_model_equal_to_a_recomputation(manager_a, seed):
    rng = random.Random(seed)
    step = level()
    done = []
    for _ in range(30):
        done.append(_write_at_random(rng, manager_a, step))
        assert_read_model_is_right(" → ".join(done))
    assert Objective.objects.exists()


def test_a_write_refreshes_only_the_objective_and_its_ancestors(
    manager_a, django_assert_max_num_queries
):
    created = build_tree(400)
    leaf = created[-1]
    depth = 0
    node = leaf
    while node.parent_id is not None:
        depth += 1
        node = node.parent
    with django_assert_max_num_queries(4):
        written = rollups.refresh([leaf.pk])
    assert written == depth + 1  # not the 400 objectives
    assert_read_model_is_right()


def test_the_rebuild_restores_a_corrupted_read_model(manager_a):
    build_tree(60)
    good = stored()
    ObjectiveRollup.objects.filter(pk__in=list(good)[:10]).update(progress=99.5)
    ObjectiveRollup.objects.filter(pk__in=list(good)[10:20]).delete()
    ObjectiveRollup.objects.filter(pk__in=list(good)[20:30]).update(
        descendant_count=7, level_sizes=[1, 2, 3]
    )
    assert stored() != good
    assert readmodels.rebuild([rollups.NAME]) == {rollups.NAME: 60}
    assert stored() == good
    ObjectiveRollup.objects.all().delete()
    call_command("rebuild_read_models", rollups.NAME, stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert stored() == good


def test_the_demo_seed_ends_with_the_read_model_right(manager_a, contributor_a):
    from plans.demo import seed

    # The levels the data migration seeds (a transactional test may have flushed them).
    default_levels = import_module("plans.migrations.0002_default_levels").DEFAULT_LEVELS
    for position, name in enumerate(default_levels, start=1):
        ObjectiveLevel.objects.get_or_create(name=name, defaults={"position": position * 10})
    assert seed("small", date(2026, 1, 1))
    assert Objective.objects.count() == 20
    assert_read_model_is_right()


# --- The tree page ----------------------------------------------------------------------


def drawn(response) -> int:
    return response.content.decode().count("<progress")


def _fitting_depth_in_memory(budget: int) -> int:
    """The rule the page has always followed, on the whole tree in memory."""
    depth, shown, level_nodes = 0, 0, list(selectors.objective_tree().roots)
    while level_nodes and shown + len(level_nodes) <= budget:
        shown += len(level_nodes)
        depth += 1
        level_nodes = [child for node in level_nodes for child in node.child_nodes]
    return max(depth, 1)


@pytest.mark.parametrize(("nodes", "expected"), [(20, 20), (120, 25), (600, 85)])
def test_the_tree_page_draws_the_whole_levels_that_fit_as_before(
    client, executive, nodes, expected
):
    build_tree(nodes, roots=5 if nodes < 600 else 1)
    client.force_login(executive)
    response = client.get(reverse("plans:index"))
    assert response.context["depth"] == _fitting_depth_in_memory(DEFAULT_NODE_BUDGET)
    assert drawn(response) == expected <= DEFAULT_NODE_BUDGET


TREE_PAGE_QUERIES = 4  # session and user, the tops, the levels below them


@pytest.mark.parametrize("nodes", [60, 1200])
@pytest.mark.parametrize("depth", [None, 3, 12])
def test_the_tree_page_runs_a_fixed_number_of_queries(
    client, executive, django_assert_max_num_queries, nodes, depth
):
    build_tree(nodes)
    client.force_login(executive)
    with django_assert_max_num_queries(TREE_PAGE_QUERIES):
        response = client.get(reverse("plans:index"), {"depth": depth} if depth else {})
    assert response.status_code == 200
    if depth == 12:
        assert drawn(response) == nodes


def test_a_node_shows_its_rolled_up_figures_and_child_count(client, executive, manager_a):
    vision = ObjectiveFactory(title="Vision")
    strategy = ObjectiveFactory(title="Strategy", parent=vision, kpi_name="NPS", kpi_target=10)
    ObjectiveFactory(parent=strategy, status=Status.ACHIEVED)
    ObjectiveFactory(parent=strategy)
    services.kpi_measurement_record(
        objective=strategy, measured_on=date(2026, 3, 1), value=Decimal(5), by=manager_a
    )
    client.force_login(executive)
    body = client.get(reverse("plans:index"), {"depth": 2}).content.decode()
    # strategy: own 50 %, children (100 + 0) / 2 = 50 % → 50 %; the vision follows it.
    assert 'value="50" aria-label="Progress of Strategy"' in body
    assert 'value="50" aria-label="Progress of Vision"' in body
    strategy_children = reverse("plans:objective_children", args=[strategy.pk])
    assert f'<a class="small" href="{strategy_children}">2 sub-objectives</a>' in body
    assert "1 sub-objective, 3 in all" in body  # the vision's


def test_a_node_names_its_owner_and_nothing_without_one(client, executive):
    ObjectiveFactory(title="Owned", owner__first_name="Olive", owner__last_name="Owner")
    ObjectiveFactory(title="Unowned", owner=None, period="")
    client.force_login(executive)
    body = client.get(reverse("plans:index")).content.decode()
    assert "0% · Olive Owner" in body
    assert "None" not in body


def test_the_expand_control_is_a_button_with_aria_expanded(client, executive):
    vision = ObjectiveFactory(title="Vision")
    strategy = ObjectiveFactory(title="Strategy", parent=vision)
    ObjectiveFactory(parent=strategy)
    client.force_login(executive)
    body = client.get(reverse("plans:index"), {"depth": 2}).content.decode()
    # Drawn open: its button says so and its list is shown.
    assert body.count('<button type="button" class="tree-toggle') == 2  # not the leaf
    assert f'aria-controls="children-{vision.pk}"\n          aria-expanded="true"' in body
    assert f'id="children-{vision.pk}" class="objective-children collapse show"' in body
    # Collapsed: the first press fetches its children into the list it controls.
    assert f'aria-controls="children-{strategy.pk}"\n          aria-expanded="false"' in body
    children_url = reverse("plans:objective_children", args=[strategy.pk])
    assert (
        f'hx-get="{children_url}" hx-target="#children-{strategy.pk}" hx-trigger="click once"'
        in body
    )
    assert "<script>" not in body and "hx-on" not in body and "style=" not in body


# --- The children endpoint ----------------------------------------------------------------


@pytest.fixture
def branch():
    vision = ObjectiveFactory(title="Vision")
    strategy = ObjectiveFactory(title="Strategy", parent=vision)
    plan = ObjectiveFactory(title="Plan", parent=strategy)
    ObjectiveFactory(title="Initiative goal", parent=plan)
    ObjectiveFactory(title="Other strategy", parent=vision)
    return vision, strategy


def children_url(objective) -> str:
    return reverse("plans:objective_children", args=[objective.pk])


@pytest.mark.parametrize("role", ["admin_user", "manager_a", "executive", "contributor_a"])
@pytest.mark.parametrize("htmx", [True, False])
def test_every_signed_in_user_reads_the_children_as_they_read_the_tree(
    client, request, branch, role, htmx
):
    """Objectives are organisation-wide (plans.selectors.get_objective): every signed-in
    user reads the whole cascade, so the lazy branches too."""
    client.force_login(request.getfixturevalue(role))
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    response = client.get(children_url(branch[0]), **headers)
    assert response.status_code == 200
    assert "Strategy" in response.content.decode()
    assert "HX-Request" in response["Vary"]


def test_signed_out_visitors_are_sent_to_sign_in(client, branch):
    response = client.get(children_url(branch[0]), HTTP_HX_REQUEST="true")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_fragment_is_the_children_alone_each_collapsed(client, executive, branch):
    vision, strategy = branch
    client.force_login(executive)
    fragment = client.get(children_url(vision), HTTP_HX_REQUEST="true").content.decode()
    assert fragment.lstrip().startswith("<li id=")
    assert "<html" not in fragment and "Vision" not in fragment
    assert fragment.index("Other strategy") < fragment.index(">Strategy<")  # display order
    assert fragment.count("<progress") == 2  # the children, not their branches
    assert f'hx-get="{children_url(strategy)}"' in fragment  # and so on, level by level


def test_without_javascript_the_same_url_is_the_branch_page(client, executive, branch):
    vision, strategy = branch
    client.force_login(executive)
    page = client.get(children_url(strategy)).content.decode()
    assert "<html" in page and "Branch: Strategy" in page
    assert "Plan" in page and "Initiative goal" in page  # the whole small branch fits
    assert "Other strategy" not in page
    assert f'href="{children_url(vision)}">↑ The branch above</a>' in page


@pytest.mark.parametrize("htmx", [True, False])
def test_an_unknown_objective_is_a_404(client, executive, htmx):
    client.force_login(executive)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    url = reverse("plans:objective_children", args=[987654])
    assert client.get(url, **headers).status_code == 404


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"root": "abc"}, 404),
        ({"root": "-3"}, 404),
        ({"root": "0"}, 404),
        ({"root": "99999999999999999999999"}, 404),
        ({"root": "987654"}, 404),
        ({"root": "1.5"}, 404),
        ({"depth": "two"}, 400),
        ({"depth": "1e3"}, 400),
        ({"depth": "-4"}, 200),  # clamped to the levels there are
        ({"depth": "999999999999999999999"}, 200),
    ],
)
def test_bad_query_input_is_a_clear_refusal_never_a_500(client, executive, branch, query, status):
    client.force_login(executive)
    client.raise_request_exception = False
    assert client.get(reverse("plans:index"), query).status_code == status
    if "depth" in query:  # the branch page takes the same, its root is in the path
        assert client.get(children_url(branch[0]), query).status_code == status


def test_a_path_that_is_not_an_id_is_a_404(client, executive):
    client.force_login(executive)
    assert client.get("/plans/objectives/abc/children/").status_code == 404


CHILDREN_QUERIES = 4  # session and user, the objective, its children


@pytest.mark.parametrize("nodes", [60, 1200])
def test_the_children_fragment_runs_a_fixed_number_of_queries(
    client, executive, django_assert_max_num_queries, nodes
):
    created = build_tree(nodes)
    client.force_login(executive)
    with django_assert_max_num_queries(CHILDREN_QUERIES):
        response = client.get(children_url(created[0]), HTTP_HX_REQUEST="true")
    assert drawn(response) == 4


@pytest.mark.parametrize("nodes", [60, 1200])
def test_the_branch_page_runs_a_fixed_number_of_queries(
    client, executive, django_assert_max_num_queries, nodes
):
    created = build_tree(nodes)
    client.force_login(executive)
    with django_assert_max_num_queries(TREE_PAGE_QUERIES):
        response = client.get(children_url(created[1]))
    assert 1 < drawn(response) <= DEFAULT_NODE_BUDGET


# --- The dashboard's cascade and the objective page -------------------------------------------


def test_the_dashboards_cascade_reads_the_read_model_in_two_queries(
    django_assert_max_num_queries,
):
    build_tree(300)
    with django_assert_max_num_queries(2):
        result = selectors.cascade_top_levels(depth=1, limit=30)
    tree = selectors.objective_tree()
    expected = []
    for root in tree.roots:
        for node in [root, *root.child_nodes]:
            expected.append(
                {
                    "id": node.pk,
                    "title": node.title,
                    "level": node.level.name,
                    "depth": node.depth,
                    "status": node.status,
                    "progress": round(node.progress, 1),
                }
            )
    assert result == {"rows": expected[:30], "total": 300}


def test_the_objective_page_shows_its_figures_path_and_children(client, executive, branch):
    vision, strategy = branch
    client.force_login(executive)
    body = client.get(strategy.get_absolute_url()).content.decode()
    assert f'href="{vision.get_absolute_url()}">Vision</a>' in body  # the breadcrumb
    assert "Plan" in body and 'aria-label="Progress of Plan"' in body
    assert f'href="{children_url(strategy)}">(see how it rolls up)' in body
