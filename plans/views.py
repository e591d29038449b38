"""Pages of the cascade and the plan: thin views over plans.services and plans.selectors.

Reads are open to every signed-in user (LoginRequiredMiddleware); writes need
plans.services.may_edit_plans and answer 403 otherwise, before anything is parsed.
"""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import BadRequest, PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from core.csvio import csv_response
from core.dbrouting import report_read
from core.errors import RuleViolation
from plans import rollups, selectors, services
from plans.forms import (
    DeleteForm,
    InitiativeForm,
    MeasurementForm,
    MoveForm,
    ObjectiveForm,
    PlanForm,
)
from security.services import export_detail, security_event_record

# Levels of the cascade drawn at most; deeper branches load on demand (HTMX, or a link to
# the branch's own page without JavaScript). Also bounds the template recursion, and the
# roll-up read model keeps the level sizes it needs (plans.rollups.LEVELS_KEPT).
MAX_DEPTH = rollups.LEVELS_KEPT
# Without ?depth=, show as many whole levels as fit in this many nodes: the full cascade of a
# small organisation, the top of a large one (deeper branches open on demand).
DEFAULT_NODE_BUDGET = 100


def _require_editor(request: HttpRequest) -> None:
    if not services.may_edit_plans(request.user):
        raise PermissionDenied("Only relationship managers and admins edit objectives and plans.")


def _vary(response: HttpResponse) -> HttpResponse:
    response["Vary"] = "HX-Request"
    return response


def _int(value, default: int, low: int, high: int) -> int:
    try:
        return max(low, min(high, int(value)))
    except (TypeError, ValueError):
        return default


def _save_form(request: HttpRequest, form, write: Callable[[], object], context: dict):
    """Run the service behind a valid form; a RuleViolation becomes an inline error.

    Returns the service's result, or a response showing the form again (the form partial
    alone for HTMX)."""
    if form.is_valid():
        try:
            return write()
        except RuleViolation as error:
            field = error.field if error.field in form.fields else None
            form.add_error(field, error.message)
    if request.htmx:
        # htmx swaps only 2xx answers by default: the form with its errors comes back as 200.
        return _vary(render(request, "plans/form.html#form", {"form": form, **context}))
    return _vary(render(request, "plans/form.html", {"form": form, **context}, status=422))


def _done(request: HttpRequest, url: str) -> HttpResponse:
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


# --- The cascade ----------------------------------------------------------------------


def _objective_id(value: str) -> int:
    """An objective's id from the query string; anything else names no objective."""
    try:
        pk = int(value)
    except ValueError:
        raise Http404("No such objective") from None
    if not 0 < pk < 2**63:
        raise Http404("No such objective")
    return pk


def _depth(request: HttpRequest, default: int) -> int:
    """``?depth=``: levels drawn, the tops included (clamped to 1 … MAX_DEPTH)."""
    value = request.GET.get("depth")
    if not value:
        return default
    try:
        return max(1, min(MAX_DEPTH, int(value)))
    except ValueError:
        raise BadRequest(f"depth must be a whole number of levels (1 to {MAX_DEPTH}).") from None


def _cascade(request: HttpRequest, root_pk: int | None) -> HttpResponse:
    """The cascade page, or one branch of it: only the levels drawn are loaded (two
    queries), each node with its figures from the roll-up read model."""
    roots = selectors.cascade_tops(root_pk)
    if root_pk is not None and not roots:
        raise Http404("No such objective")
    depth = _depth(request, selectors.fitting_depth(roots, DEFAULT_NODE_BUDGET, MAX_DEPTH))
    selectors.load_levels(roots, depth)
    context = {
        "roots": roots,
        "root": roots[0] if root_pk is not None else None,
        "depth": depth,
        "depths": range(1, 8),
        "rule": selectors.ROLL_UP_RULE,
        "may_edit": services.may_edit_plans(request.user),
    }
    if request.htmx:  # the "Show levels" links swap the whole tree
        return _vary(render(request, "plans/tree.html#tree", context))
    return _vary(render(request, "plans/tree.html", context))


def index(request: HttpRequest) -> HttpResponse:
    """The cascade as a tree; ``?root=`` draws one branch, ``?depth=`` how many levels
    (by default, as many whole levels as fit in DEFAULT_NODE_BUDGET nodes)."""
    root = request.GET.get("root")
    return _cascade(request, _objective_id(root) if root else None)


def objective_children(request: HttpRequest, pk: int) -> HttpResponse:
    """An objective's sub-objectives. For HTMX (the tree's expand button) the children
    alone, a partial of the tree page; otherwise the branch as a page of its own, so the
    same link works without JavaScript."""
    if not request.htmx:
        return _cascade(request, pk)
    node = selectors.get_objective(pk)
    node.child_nodes = selectors.objective_children(node)
    return _vary(render(request, "plans/tree.html#children", {"node": node}))


def objective_detail(request: HttpRequest, pk: int) -> HttpResponse:
    objective = selectors.objective_with_figures(pk)
    objective.child_nodes = selectors.objective_children(objective)
    return render(
        request,
        "plans/objective_detail.html",
        {
            "objective": objective,
            "path": selectors.objective_path(objective),
            "measurements": objective.measurements.select_related("by"),
            "initiatives": objective.initiatives.select_related("plan", "owner").order_by(
                "plan__title", "title"
            ),
            "measurement_form": MeasurementForm(),
            "may_edit": services.may_edit_plans(request.user),
        },
    )


@require_http_methods(["GET", "POST"])
def objective_create(request: HttpRequest) -> HttpResponse:
    _require_editor(request)
    initial = {}
    if request.GET.get("parent"):
        initial["parent"] = _int(request.GET["parent"], None, 1, 2**63 - 1)
    form = ObjectiveForm(request.POST or None, initial=initial)
    context = {"title": "New objective", "submit": "Create objective", "cancel": "plans:index"}
    if request.method == "GET":
        return render(request, "plans/form.html", {"form": form, **context})

    def write():
        data = form.service_fields()
        return services.objective_create(by=request.user, **data)

    result = _save_form(request, form, write, context)
    if isinstance(result, HttpResponse):
        return result
    return _done(request, result.get_absolute_url())


@require_http_methods(["GET", "POST"])
def objective_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_editor(request)
    objective = selectors.get_objective(pk)
    form = ObjectiveForm(request.POST or None, instance=objective)
    context = {"title": f"Edit “{objective}”", "submit": "Save", "object": objective}
    if request.method == "GET":
        return render(request, "plans/form.html", {"form": form, **context})

    def write():
        data = form.service_fields()
        return services.objective_update(objective=objective, by=request.user, **data)

    result = _save_form(request, form, write, context)
    if isinstance(result, HttpResponse):
        return result
    return _done(request, result.get_absolute_url())


@require_http_methods(["GET", "POST"])
def objective_move(request: HttpRequest, pk: int) -> HttpResponse:
    _require_editor(request)
    objective = selectors.get_objective(pk)
    form = MoveForm(request.POST or None, objective=objective)
    context = {"title": f"Move “{objective}”", "submit": "Move", "object": objective}
    if request.method == "GET":
        return render(request, "plans/form.html", {"form": form, **context})

    def write():
        return services.objective_move(
            objective=objective, new_parent=form.cleaned_data["parent"], by=request.user
        )

    result = _save_form(request, form, write, context)
    if isinstance(result, HttpResponse):
        return result
    return _done(request, result.get_absolute_url())


@require_http_methods(["GET", "POST"])
def objective_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require_editor(request)
    objective = selectors.get_objective(pk)
    descendants = len(services.objective_descendant_ids(objective))
    form = DeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        parent_url = objective.parent.get_absolute_url() if objective.parent else None
        try:
            services.objective_delete(
                objective=objective, by=request.user, children=form.cleaned_data["children"]
            )
        except RuleViolation as error:
            form.add_error(None, error.message)
        else:
            return _done(request, parent_url or reverse("plans:index"))
    return render(
        request,
        "plans/objective_delete.html",
        {
            "objective": objective,
            "form": form,
            "descendants": descendants,
            "children": objective.children.count(),
        },
        status=422 if form.errors else 200,
    )


@require_POST
def measurement_create(request: HttpRequest, pk: int) -> HttpResponse:
    _require_editor(request)
    objective = selectors.get_objective(pk)
    form = MeasurementForm(request.POST)
    context = {
        "title": f"Record a measurement of “{objective.kpi_name}”",
        "submit": "Record",
        "object": objective,
    }

    def write():
        return services.kpi_measurement_record(
            objective=objective, by=request.user, **form.cleaned_data
        )

    result = _save_form(request, form, write, context)
    if isinstance(result, HttpResponse):
        return result
    return _done(request, objective.get_absolute_url())


# --- Plans and initiatives ------------------------------------------------------------


def plan_list(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "plans/plan_list.html",
        {"plans": selectors.plans_list(), "may_edit": services.may_edit_plans(request.user)},
    )


def plan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.get_plan(pk)
    return render(
        request,
        "plans/plan_detail.html",
        {
            "plan": plan,
            "overview": selectors.plan_overview(plan, request.user, timezone.localdate()),
            "check": selectors.contribution_check(request.user, plan=plan),
            "may_edit": services.may_edit_plans(request.user),
        },
    )


@require_http_methods(["GET", "POST"])
def plan_create(request: HttpRequest) -> HttpResponse:
    _require_editor(request)
    form = PlanForm(request.POST or None, initial={"owner": request.user.pk})
    context = {"title": "New plan", "submit": "Create plan", "cancel": "plans:plan_list"}
    if request.method == "GET":
        return render(request, "plans/form.html", {"form": form, **context})

    def write():
        return services.plan_create(
            by=request.user, objectives=form.cleaned_data["objectives"], **form.service_fields()
        )

    result = _save_form(request, form, write, context)
    if isinstance(result, HttpResponse):
        return result
    return _done(request, result.get_absolute_url())


@require_http_methods(["GET", "POST"])
def plan_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_editor(request)
    plan = selectors.get_plan(pk)
    form = PlanForm(request.POST or None, instance=plan)
    context = {"title": f"Edit “{plan}”", "submit": "Save", "object": plan}
    if request.method == "GET":
        return render(request, "plans/form.html", {"form": form, **context})

    def write():
        return services.plan_update(
            plan=plan,
            by=request.user,
            objectives=form.cleaned_data["objectives"],
            **form.service_fields(),
        )

    result = _save_form(request, form, write, context)
    if isinstance(result, HttpResponse):
        return result
    return _done(request, result.get_absolute_url())


@report_read
def plan_export(request: HttpRequest, pk: int) -> HttpResponse:
    plan = selectors.get_plan(pk)
    slug = "".join(c if c.isalnum() else "-" for c in plan.period or str(plan.pk)).strip("-")
    filename = f"plan-{slug or plan.pk}.csv"
    rows = selectors.plan_export_rows(plan, request.user)
    security_event_record(
        kind="export", request=request, detail=export_detail(filename, rows=len(rows))
    )
    return csv_response(filename, selectors.PLAN_EXPORT_HEADER, rows)


@require_http_methods(["GET", "POST"])
def initiative_create(request: HttpRequest, pk: int) -> HttpResponse:
    _require_editor(request)
    plan = selectors.get_plan(pk)
    initial = {"owner": request.user.pk}
    if request.GET.get("objective"):
        initial["objective"] = _int(request.GET["objective"], None, 1, 2**63 - 1)
    form = InitiativeForm(request.POST or None, user=request.user, plan=plan, initial=initial)
    context = {"title": f"New initiative in {plan}", "submit": "Create initiative", "object": plan}
    if request.method == "GET":
        return render(request, "plans/form.html", {"form": form, **context})

    def write():
        return services.initiative_create(
            plan=plan,
            by=request.user,
            people=form.cleaned_data["people"],
            relationships=form.cleaned_data["relationships"],
            **form.service_fields(),
        )

    result = _save_form(request, form, write, context)
    if isinstance(result, HttpResponse):
        return result
    return _done(request, result.get_absolute_url())


@require_http_methods(["GET", "POST"])
def initiative_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_editor(request)
    initiative = selectors.get_initiative(pk)
    form = InitiativeForm(
        request.POST or None, instance=initiative, user=request.user, plan=initiative.plan
    )
    context = {"title": f"Edit “{initiative}”", "submit": "Save", "object": initiative.plan}
    if request.method == "GET":
        return render(request, "plans/form.html", {"form": form, **context})

    def write():
        return services.initiative_update(
            initiative=initiative,
            by=request.user,
            people=form.cleaned_data["people"],
            relationships=form.cleaned_data["relationships"],
            **form.service_fields(),
        )

    result = _save_form(request, form, write, context)
    if isinstance(result, HttpResponse):
        return result
    return _done(request, result.get_absolute_url())


def contribution(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "plans/contribution.html",
        {"check": selectors.contribution_check(request.user, limit=200)},
    )
