"""Reads of the cascade and the plan, each in a fixed number of queries.

How progress rolls up (also shown on the tree page, ``ROLL_UP_RULE``):

1. An objective's own KPI progress is clamp((current − baseline) / (target − baseline)) × 100:
   0 at the baseline, 100 at or beyond the target (a falling target works the same way).
   No baseline counts as 0; no measured value yet counts as the baseline.
2. Its children's progress is the plain average of its children's progress, each child
   weighing the same; dropped children are left out.
3. An objective's progress is the average of (1) and (2) when it has both, whichever it has
   otherwise, and 0 when it has neither (a leaf with no KPI).
4. An achieved objective is at 100 whatever its KPI and children say.
5. A dropped objective still shows its own progress but counts for nothing above it.

The whole tree is computed in memory from one query of all objectives (levels and owners
joined), never a query per node.

Per-person load on a plan: an initiative's hours (planned and spent) are split evenly among
the people involved and its owner, each person counted once.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.core.cache import cache
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.shortcuts import get_object_or_404

from accounts.models import User
from core import dataversion
from plans.models import Initiative, Objective, ObjectiveLevel, Plan
from relationships.models import ACTIVE_STAGES, Relationship
from relationships.selectors import relationships_visible_to

ROLL_UP_RULE = [
    "Own KPI progress = (current − baseline) ÷ (target − baseline), kept between 0 and 100 %. "
    "No baseline counts as 0; no measurement yet counts as the baseline.",
    "Children's progress = the plain average of the sub-objectives' progress (equal weights); "
    "dropped sub-objectives are left out.",
    "Progress = the average of own KPI progress and children's progress when there are both, "
    "whichever exists otherwise, and 0 % for a sub-objective-less objective with no KPI.",
    "An achieved objective counts as 100 %.",
]

ZERO = Decimal("0")


# --- The cascade ----------------------------------------------------------------------


def objectives_with_relations() -> QuerySet[Objective]:
    return Objective.objects.select_related("level", "owner", "parent")


def get_objective(pk) -> Objective:
    """Objectives are readable by every signed-in user; a missing one is a 404."""
    return get_object_or_404(objectives_with_relations(), pk=pk)


def get_plan(pk) -> Plan:
    return get_object_or_404(Plan.objects.select_related("owner"), pk=pk)


def get_initiative(pk) -> Initiative:
    return get_object_or_404(Initiative.objects.select_related("plan"), pk=pk)


@dataclass
class Tree:
    roots: list[Objective]
    by_pk: dict[int, Objective]

    def subtree_ids(self, pk: int) -> set[int]:
        """The node and every descendant."""
        found, stack = set(), [self.by_pk[pk]]
        while stack:
            node = stack.pop()
            found.add(node.pk)
            stack.extend(node.child_nodes)
        return found


def roll_up(node: Objective) -> float:
    """Progress of ``node`` from its (already computed) children and KPI: see the module doc."""
    live = [
        child.progress for child in node.child_nodes if child.status != Objective.Status.DROPPED
    ]
    parts = []
    own = node.kpi_progress
    if own is not None:
        parts.append(own)
    if live:
        parts.append(sum(live) / len(live))
    if node.status == Objective.Status.ACHIEVED:
        return 100.0
    return sum(parts) / len(parts) if parts else 0.0


def build_tree(objectives: list[Objective]) -> Tree:
    """Children lists, depth, descendant counts and rolled-up progress, in memory."""
    by_pk = {o.pk: o for o in objectives}
    roots = []
    for objective in objectives:
        objective.child_nodes = []
    for objective in objectives:  # objectives arrive in display order, so children do too
        parent = by_pk.get(objective.parent_id)
        if parent is None:
            roots.append(objective)
        else:
            parent.child_nodes.append(objective)
    # Iterative post-order: depth-first recursion would hit Python's limit on a long chain.
    order: list[Objective] = []
    stack = [(root, 0) for root in reversed(roots)]
    while stack:
        node, depth = stack.pop()
        node.depth = depth
        order.append(node)
        stack.extend((child, depth + 1) for child in reversed(node.child_nodes))
    for node in reversed(order):
        node.descendant_count = sum(1 + c.descendant_count for c in node.child_nodes)
        node.progress = roll_up(node)
        node.progress_percent = round(node.progress)
    return Tree(roots=roots, by_pk=by_pk)


# What the tree page draws and the roll-up reads: loading only these halves the cost of
# building a 2,000-objective tree (model instances are built field by field).
TREE_PAGE_FIELDS = (
    "id",
    "parent_id",
    "title",
    "status",
    "period",
    "kpi_name",
    "kpi_target",
    "kpi_baseline",
    "kpi_current",
    "level__name",
    "level__position",
    "owner__first_name",
    "owner__last_name",
    "owner__username",
)


def objective_tree(*, for_tree_page: bool = False) -> Tree:
    """Every objective as a tree with progress: one query. ``for_tree_page`` loads only
    what the tree page shows (other fields would each cost a query per objective)."""
    if for_tree_page:
        objectives = Objective.objects.select_related("level", "owner").only(*TREE_PAGE_FIELDS)
    else:
        objectives = objectives_with_relations()
    return build_tree(list(objectives.order_by("level__position", "title", "id")))


@dataclass(slots=True)
class TreeNode:
    """One objective as the tree page draws it: plain values, cheap to rebuild from the
    cache (building 2,000 model instances is what made the page slow)."""

    pk: int
    parent_id: int | None
    title: str
    status: str
    status_label: str
    period: str
    has_kpi: bool
    kpi_name: str
    owner: str
    level_name: str
    progress_percent: int
    descendant_count: int
    child_nodes: list[TreeNode] = field(default_factory=list)
    show_children: bool = False

    def get_status_display(self) -> str:
        return self.status_label

    @property
    def level(self) -> dict:
        return {"name": self.level_name}


TREE_PAGE_CACHE_SECONDS = 10 * 60  # bounds staleness should a write bypass the signals


def tree_page_tree() -> Tree:
    """The whole cascade for the tree page, as TreeNodes: computed from the objectives once
    per data version (core.dataversion: any objective, level or user change makes a new one)
    and cached as plain rows."""
    rows = dataversion.cached("plans:tree-page", (), _tree_page_rows, TREE_PAGE_CACHE_SECONDS)
    by_pk: dict[int, TreeNode] = {}
    roots: list[TreeNode] = []
    for row in rows:  # parents come before their children (depth-first display order)
        node = by_pk[row[0]] = TreeNode(*row)
        parent = by_pk.get(node.parent_id)
        (parent.child_nodes if parent is not None else roots).append(node)
    return Tree(roots=roots, by_pk=by_pk)


def _tree_page_rows() -> list[tuple]:
    """TreeNode's fields, one tuple per objective, parents before children."""
    return [
        (
            node.pk,
            node.parent_id,
            node.title,
            node.status,
            node.get_status_display(),
            node.period,
            node.has_kpi,
            node.kpi_name,
            str(node.owner) if node.owner_id else "",
            node.level.name,
            node.progress_percent,
            node.descendant_count,
        )
        for node in _display_order(objective_tree(for_tree_page=True))
    ]


def _display_order(tree: Tree) -> list[Objective]:
    order, stack = [], list(reversed(tree.roots))
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(reversed(node.child_nodes))
    return order


def cascade_top_levels(depth: int = 1, limit: int = 30) -> dict:
    """The top ``depth`` + 1 levels of the cascade with rolled-up progress (for dashboards).

    Rolling up needs the whole tree; the result is cached under a key built from what it
    depends on: the objectives' count and latest change (every objective write goes through
    ``save()``, which stamps ``updated_at``, and a deletion changes the count) and the level
    names. Any change therefore gives a new key: no stale progress, no explicit purge. A cache
    that is down only costs the recomputation.
    """
    # One query: each level row carries the objectives' count and latest change. (No level
    # means no objective: every objective has one.)
    table = connection.ops.quote_name(Objective._meta.db_table)
    stamp = list(
        ObjectiveLevel.objects.order_by("pk")
        .annotate(
            objective_count=RawSQL(f"SELECT COUNT(*) FROM {table}", ()),
            objective_latest=RawSQL(f"SELECT MAX(updated_at) FROM {table}", ()),
        )
        .values_list("pk", "name", "position", "objective_count", "objective_latest")
    )
    signature = repr((stamp, depth, limit)).encode()
    key = f"plans:cascade-top:{hashlib.sha256(signature).hexdigest()}"
    try:
        cached = cache.get(key)
    except Exception:  # the cache backend is down: compute instead (fail open)
        cached = None
    if cached is not None:
        return cached
    tree = objective_tree()
    rows = []
    stack = list(reversed(tree.roots))
    while stack and len(rows) < limit:
        node = stack.pop()
        rows.append(
            {
                "id": node.pk,
                "title": node.title,
                "level": node.level.name,
                "depth": node.depth,
                "status": node.status,
                "progress": round(node.progress, 1),
            }
        )
        if node.depth < depth:
            stack.extend(reversed(node.child_nodes))
    result = {"rows": rows, "total": len(tree.by_pk)}
    with contextlib.suppress(Exception):  # a cache that is down just means no caching
        cache.set(key, result, timeout=24 * 3600)
    return result


def objective_choices_excluding_branch(objective: Objective | None) -> QuerySet[Objective]:
    """Objectives that may become ``objective``'s parent: not itself nor its descendants."""
    queryset = Objective.objects.select_related("level").order_by("level__position", "title")
    if objective is None or objective.pk is None:
        return queryset
    from plans.services import objective_descendant_ids

    return queryset.exclude(pk__in=[objective.pk, *objective_descendant_ids(objective)])


# --- The plan page --------------------------------------------------------------------


@dataclass
class ObjectiveGroup:
    objective: Objective | None
    initiatives: list[Initiative]


@dataclass
class PersonLoad:
    person: User
    planned_hours: Decimal = ZERO
    spent_hours: Decimal = ZERO
    initiatives: int = 0


@dataclass
class PlanOverview:
    plan: Plan
    initiatives: list[Initiative]
    groups: list[ObjectiveGroup]
    hours: dict
    budgets: list[dict]  # one row per currency: planned, spent, over
    people_count: int
    load: list[PersonLoad]
    over_budget: list[Initiative]
    late: list[Initiative]
    served_objectives: list[Objective] = field(default_factory=list)


def plan_initiatives(plan: Plan, user) -> list[Initiative]:
    """The plan's initiatives with what the page shows, in a fixed number of queries; the
    relationships listed are only those the user may see."""
    return list(
        plan.initiatives.select_related("objective", "objective__level", "owner")
        .prefetch_related(
            "people",
            Prefetch("relationships", queryset=relationships_visible_to(user)),
        )
        .order_by("start_on", "title", "id")
    )


def person_load(initiatives: list[Initiative]) -> list[PersonLoad]:
    """Hours per person: each initiative's hours split evenly among its people and owner."""
    loads: dict[int, PersonLoad] = {}
    for initiative in initiatives:
        involved = {p.pk: p for p in initiative.people.all()}
        if initiative.owner is not None:
            involved.setdefault(initiative.owner_id, initiative.owner)
        if not involved:
            continue
        share = Decimal(len(involved))
        for pk, person in involved.items():
            load = loads.setdefault(pk, PersonLoad(person))
            load.planned_hours += initiative.planned_hours / share
            load.spent_hours += initiative.spent_hours / share
            load.initiatives += 1
    for load in loads.values():
        load.planned_hours = load.planned_hours.quantize(Decimal("0.01"))
        load.spent_hours = load.spent_hours.quantize(Decimal("0.01"))
    return sorted(loads.values(), key=lambda x: (-x.planned_hours, str(x.person)))


def plan_totals(plan: Plan) -> tuple[dict, list[dict]]:
    """Hours planned vs spent, and budgets per currency (aggregate queries)."""
    hours = plan.initiatives.aggregate(planned=Sum("planned_hours"), spent=Sum("spent_hours"))
    hours = {k: v or ZERO for k, v in hours.items()}
    budgets = [
        {**row, "over": row["spent"] > row["planned"]}
        for row in plan.initiatives.order_by("currency")
        .values("currency")
        .annotate(planned=Sum("planned_budget"), spent=Sum("spent_budget"))
    ]
    return hours, budgets


def plan_people_count(plan: Plan) -> int:
    """Distinct people involved in the plan's initiatives, owners included."""
    return (
        User.objects.filter(Q(plan_initiatives__plan=plan) | Q(owned_initiatives__plan=plan))
        .values("pk")
        .distinct()
        .count()
    )


def totals_of(initiatives: list[Initiative]) -> tuple[dict, list[dict], int]:
    """What ``plan_totals`` and ``plan_people_count`` answer, from a plan's initiatives already
    loaded (with their people): the plan page needs no aggregate queries."""
    hours = {
        "planned": sum((i.planned_hours for i in initiatives), ZERO),
        "spent": sum((i.spent_hours for i in initiatives), ZERO),
    }
    by_currency: dict[str, dict] = {}
    for initiative in initiatives:
        row = by_currency.setdefault(
            initiative.currency, {"currency": initiative.currency, "planned": ZERO, "spent": ZERO}
        )
        row["planned"] += initiative.planned_budget
        row["spent"] += initiative.spent_budget
    budgets = [
        {**row, "over": row["spent"] > row["planned"]} for _, row in sorted(by_currency.items())
    ]
    people = {p.pk for i in initiatives for p in i.people.all()}
    people |= {i.owner_id for i in initiatives if i.owner_id is not None}
    return hours, budgets, len(people)


def plan_overview(plan: Plan, user, today: date) -> PlanOverview:
    initiatives = plan_initiatives(plan, user)
    groups: dict[int | None, ObjectiveGroup] = {}
    for initiative in initiatives:
        initiative.late = initiative.is_late(today)
        key = initiative.objective_id
        if key not in groups:
            groups[key] = ObjectiveGroup(initiative.objective, [])
        groups[key].initiatives.append(initiative)
    ordered = sorted(
        groups.values(),
        key=lambda g: (
            g.objective is None,
            g.objective.level.position if g.objective else 0,
            g.objective.title if g.objective else "",
        ),
    )
    hours, budgets, people_count = totals_of(initiatives)
    return PlanOverview(
        plan=plan,
        initiatives=initiatives,
        groups=ordered,
        hours=hours,
        budgets=budgets,
        people_count=people_count,
        load=person_load(initiatives),
        over_budget=[i for i in initiatives if i.is_over_budget or i.is_over_hours],
        late=[i for i in initiatives if i.late],
        served_objectives=list(plan.objectives.select_related("level").order_by("title")),
    )


def plans_list() -> QuerySet[Plan]:
    return Plan.objects.select_related("owner").annotate(
        initiative_count=Count("initiatives", distinct=True),
        objective_count=Count("objectives", distinct=True),
    )


def plan_export_rows(plan: Plan, user) -> list[list]:
    today = date.today()
    rows = []
    for i in plan_initiatives(plan, user):
        rows.append(
            [
                i.objective.title if i.objective else "",
                i.title,
                i.get_status_display(),
                str(i.owner) if i.owner else "",
                "; ".join(str(p) for p in i.people.all()),
                i.start_on or "",
                i.end_on or "",
                i.planned_hours,
                i.spent_hours,
                i.planned_budget,
                i.spent_budget,
                i.currency,
                "; ".join(str(r) for r in i.relationships.all()),
                "yes" if i.is_late(today) else "no",
                "yes" if i.is_over_budget else "no",
            ]
        )
    return rows


PLAN_EXPORT_HEADER = [
    "Objective",
    "Initiative",
    "Status",
    "Owner",
    "People",
    "Start",
    "End",
    "Planned hours",
    "Spent hours",
    "Planned budget",
    "Spent budget",
    "Currency",
    "Relationships",
    "Late",
    "Over budget",
]


# --- Contribution check ---------------------------------------------------------------


@dataclass
class ContributionCheck:
    initiatives: list[Initiative]  # live initiatives serving no active objective
    relationships: list[Relationship]  # active relationships in no live, contributing initiative
    relationship_count: int
    objectives: list[Objective]  # active objectives with no live initiative in their branch
    limit: int

    @property
    def is_clean(self) -> bool:
        return not (self.initiatives or self.relationship_count or self.objectives)


def contribution_check(user, plan: Plan | None = None, limit: int = 50) -> ContributionCheck:
    """Work that contributes to nothing, so the plan can be re-assessed continuously.

    - initiatives still to do or under way (planned, active) whose objective is missing or
      not active (draft, achieved, dropped);
    - active relationships (visible to ``user``) that no such live initiative serving an
      active objective works on, in any plan;
    - active objectives with no live initiative serving them or one of their active
      sub-objectives (higher levels are served through the levels below them).

    With ``plan``: only its initiatives, and only the objectives it serves and their branches.
    A fixed number of queries.
    """
    live = Initiative.objects.filter(status__in=Initiative.LIVE)
    scoped = live.filter(plan=plan) if plan is not None else live
    orphans = list(
        scoped.exclude(objective__status=Objective.Status.ACTIVE)
        .select_related("plan", "objective", "owner")
        .order_by("plan__title", "title", "id")
    )

    contributing = live.filter(objective__status=Objective.Status.ACTIVE)
    # NOT EXISTS (an anti-join) lets PostgreSQL walk the relationships in list order and stop
    # at the page, where NOT IN over a subquery made it sort every idle relationship first.
    worked_on = Initiative.relationships.through.objects.filter(
        relationship_id=OuterRef("pk"),
        initiative__status__in=Initiative.LIVE,
        initiative__objective__status=Objective.Status.ACTIVE,
    )
    idle = relationships_visible_to(user).filter(stage__in=ACTIVE_STAGES).exclude(Exists(worked_on))
    idle_count = idle.count()
    idle_list = list(idle[:limit]) if idle_count else []

    # Only the shape of the cascade is needed here: (id, parent, status) tuples, not the
    # fully loaded tree with progress.
    parent_of, status_of, children = {}, {}, defaultdict(list)
    for pk, parent_id, status in Objective.objects.values_list("pk", "parent_id", "status"):
        parent_of[pk], status_of[pk] = parent_id, status
        children[parent_id].append(pk)
    served = set(
        (contributing.filter(plan=plan) if plan is not None else contributing)
        .order_by()
        .values_list("objective_id", flat=True)
        .distinct()
    )
    covered: set[int] = set()
    for pk in served:
        while pk is not None and pk in parent_of and pk not in covered:
            covered.add(pk)
            pk = parent_of[pk]
    if plan is not None:
        scope: set[int] = set()
        stack = [pk for pk in plan.objectives.values_list("pk", flat=True) if pk in parent_of]
        while stack:
            pk = stack.pop()
            if pk not in scope:
                scope.add(pk)
                stack.extend(children[pk])
    else:
        scope = set(parent_of)
    uncovered_ids = [
        pk for pk in scope if status_of[pk] == Objective.Status.ACTIVE and pk not in covered
    ]
    uncovered = list(
        Objective.objects.filter(pk__in=uncovered_ids)
        .select_related("level")
        .order_by("level__position", "title", "pk")
    )
    return ContributionCheck(orphans, idle_list, idle_count, uncovered, limit)


# --- A relationship's page ------------------------------------------------------------


def objectives_for_relationship(relationship: Relationship) -> list[dict]:
    """The initiatives that work on the relationship and the objectives they serve, with
    each objective's chain of parents up to the vision (two queries)."""
    initiatives = list(
        relationship.initiatives.select_related(
            "plan", "objective", "objective__level", "owner"
        ).order_by("plan__title", "title", "id")
    )
    parents = dict(Objective.objects.values_list("id", "parent_id")) if initiatives else {}
    titles: dict[int, str] = {}
    chains: dict[int, list[int]] = {}
    for initiative in initiatives:
        chain, pk = [], initiative.objective_id
        while pk is not None and pk not in chain:
            chain.append(pk)
            pk = parents.get(pk)
        chains[initiative.pk] = chain
    needed = {pk for chain in chains.values() for pk in chain[1:]}
    if needed:
        titles = dict(Objective.objects.filter(pk__in=needed).values_list("id", "title"))
    rows = []
    for initiative in initiatives:
        ancestors = [
            {"pk": pk, "title": titles.get(pk, "")} for pk in reversed(chains[initiative.pk][1:])
        ]
        rows.append(
            {"initiative": initiative, "objective": initiative.objective, "path": ancestors}
        )
    return rows
