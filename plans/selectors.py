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

Pages read each objective's rolled-up figures from the read model plans.rollups keeps
(plans.models.ObjectiveRollup), loading only the objectives they show; ``objective_tree``
still computes the whole tree in memory from one query, for the API.

Per-person load on a plan: an initiative's hours (planned and spent) are split evenly among
the people involved and its owner, each person counted once.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.shortcuts import get_object_or_404

from accounts.models import User
from plans import rollups
from plans.models import Initiative, Objective, Plan
from relationships.models import ACTIVE_STAGES, Relationship
from relationships.selectors import relationships_visible_to
from stakeholders.search import Search, fields_q

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
    return rollups.rolled_up_progress(
        status=node.status,
        kpi=node.kpi_progress,
        children=[(child.status, child.progress) for child in node.child_nodes],
    )


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


def objective_tree() -> Tree:
    """Every objective as a tree with progress, computed in memory from one query (the API's
    whole-tree answer; pages read the roll-up read model instead)."""
    return build_tree(list(objectives_with_relations().order_by("level__position", "title", "id")))


# --- The tree page, an objective's page and the dashboard: the roll-up read model -------

# What a node of the tree shows, its figures included (plans.models.ObjectiveRollup).
NODE_VALUES = (
    "id",
    "parent_id",
    "title",
    "status",
    "period",
    "kpi_name",
    "kpi_target",
    "level__name",
    "level__position",
    "owner__first_name",
    "owner__last_name",
    "owner__username",
    "rollup__progress",
    "rollup__descendant_count",
    "rollup__level_sizes",
)
STATUS_LABELS = dict(Objective.Status.choices)


@dataclass(slots=True, eq=False)
class TreeNode:
    """One objective as the tree draws it, with its figures: plain values read in one
    query (model instances, three per node with the level and the owner, cost more to build
    and to render than the rest of the page)."""

    pk: int
    parent_id: int | None
    title: str
    status: str
    period: str
    has_kpi: bool
    kpi_name: str
    owner: str
    level_name: str
    level_position: int
    progress: float
    descendant_count: int
    level_sizes: list[int]
    child_nodes: list[TreeNode] = field(default_factory=list)
    show_children: bool = False

    @classmethod
    def from_row(cls, row: tuple) -> TreeNode:
        (pk, parent_id, title, status, period, kpi_name, kpi_target, level_name) = row[:8]
        (level_position, first_name, last_name, username, progress, descendants) = row[8:14]
        # An objective written around the services (a bulk insert) has no figures until
        # ``rebuild_read_models``: it shows zeros rather than failing.
        return cls(
            pk=pk,
            parent_id=parent_id,
            title=title,
            status=status,
            period=period,
            has_kpi=bool(kpi_name) and kpi_target is not None,  # as Objective.has_kpi
            kpi_name=kpi_name,
            # As User.__str__ (get_full_name() or username); no owner, no name.
            owner="" if username is None else f"{first_name} {last_name}".strip() or username,
            level_name=level_name,
            level_position=level_position,
            progress=progress or 0.0,
            descendant_count=descendants or 0,
            level_sizes=list(row[14] or ()),
        )

    @property
    def progress_percent(self) -> int:
        return round(self.progress)

    @property
    def child_count(self) -> int:
        return self.level_sizes[0] if self.level_sizes else 0

    def get_status_display(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


def _tree_nodes(queryset: QuerySet[Objective]) -> list[TreeNode]:
    """The objectives as TreeNodes, in display order (as Objective.Meta.ordering)."""
    nodes = [TreeNode.from_row(row) for row in queryset.values_list(*NODE_VALUES)]
    return sorted(nodes, key=lambda n: (n.level_position, n.title, n.pk))


def with_figures(objective: Objective) -> Objective:
    """Copy the read model's figures onto an objective loaded with ``rollup`` (its page).
    None yet (written around the services): zeros."""
    rollup = getattr(objective, "rollup", None)
    objective.progress = rollup.progress if rollup else 0.0
    objective.progress_percent = round(objective.progress)
    objective.descendant_count = rollup.descendant_count if rollup else 0
    return objective


def cascade_tops(root: int | None = None) -> list[TreeNode]:
    """The tops of the cascade, or only the objective ``root`` (none when it does not
    exist), with their figures: one query."""
    if root is None:
        return _tree_nodes(Objective.objects.filter(parent__isnull=True))
    return _tree_nodes(Objective.objects.filter(pk=root))


def fitting_depth(roots: list[TreeNode], budget: int, most: int) -> int:
    """How many whole levels, from ``roots`` down, fit in ``budget`` nodes (at least 1, at
    most ``most``), from the roots' level sizes alone."""
    sizes = [len(roots)]
    for level in range(most - 1):
        sizes.append(sum(r.level_sizes[level] for r in roots if len(r.level_sizes) > level))
    depth, shown = 0, 0
    while depth < most and sizes[depth] and shown + sizes[depth] <= budget:
        shown += sizes[depth]
        depth += 1
    return max(depth, 1)


def _below(pks: list[int], levels: int) -> RawSQL:
    """Ids of the objectives up to ``levels`` levels below ``pks``, as a subquery."""
    table = connection.ops.quote_name(Objective._meta.db_table)
    placeholders = ", ".join(["%s"] * len(pks))
    return RawSQL(
        f"WITH RECURSIVE branch(id, below) AS ("
        f" SELECT id, 1 FROM {table} WHERE parent_id IN ({placeholders})"
        f" UNION ALL SELECT o.id, b.below + 1 FROM {table} o JOIN branch b ON o.parent_id = b.id"
        f" WHERE b.below < %s"
        f") SELECT id FROM branch",
        [*pks, levels],
    )


def load_levels(roots: list[TreeNode], depth: int) -> None:
    """Hang the objectives of the ``depth - 1`` levels below ``roots`` (from cascade_tops)
    under them, each with its figures, and mark which nodes draw their children
    (``show_children``). One query, however large the cascade."""
    parents = [root.pk for root in roots if root.child_count]
    by_pk = {root.pk: root for root in roots}
    if depth > 1 and parents:
        found = _tree_nodes(Objective.objects.filter(pk__in=_below(parents, depth - 1)))
        by_pk.update((node.pk, node) for node in found)
        for node in found:  # in display order, so each node's children are too
            by_pk[node.parent_id].child_nodes.append(node)
    for node in by_pk.values():
        node.show_children = bool(node.child_nodes)


def objective_children(objective: Objective) -> list[TreeNode]:
    """The objective's children with their figures, in display order: one query."""
    return _tree_nodes(Objective.objects.filter(parent=objective))


def objective_with_figures(pk) -> Objective:
    """One objective with everything its page shows and its figures; a missing one is a
    404 (objectives are readable by every signed-in user)."""
    queryset = objectives_with_relations().select_related("rollup")
    return with_figures(get_object_or_404(queryset, pk=pk))


def objective_path(objective: Objective) -> list[Objective]:
    """The objective's ancestors, the top first: one query, as many rows as levels above."""
    if objective.parent_id is None:
        return []
    found = {
        o.pk: o
        for o in Objective.objects.filter(
            pk__in=rollups.with_ancestors([objective.parent_id])
        ).only("id", "parent_id", "title")
    }
    path, pk = [], objective.parent_id
    while pk in found and found[pk] not in path:
        path.insert(0, found[pk])
        pk = found[pk].parent_id
    return path


def cascade_top_levels(depth: int = 1, limit: int = 30) -> dict:
    """The top ``depth`` + 1 levels of the cascade with rolled-up progress (for dashboards),
    at most ``limit`` rows in display order, and how many objectives there are.

    Read from the roll-up read model: two queries, whatever the size of the cascade."""
    roots = cascade_tops()
    load_levels(roots, depth + 1)
    rows: list[dict] = []
    stack = [(root, 0) for root in reversed(roots)]
    while stack and len(rows) < limit:
        node, level = stack.pop()
        rows.append(
            {
                "id": node.pk,
                "title": node.title,
                "level": node.level_name,
                "depth": level,
                "status": node.status,
                "progress": round(node.progress, 1),
            }
        )
        if level < depth:
            stack.extend((child, level + 1) for child in reversed(node.child_nodes))
    return {"rows": rows, "total": sum(1 + root.descendant_count for root in roots)}


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


def plans_matching(search: Search, limit: int) -> list[Plan]:
    """Plans whose title or period holds every word typed (the command palette). Plans are
    shared across the organisation, like ``plans_list``: every signed-in user reads each."""
    matches = Plan.objects.filter(fields_q(Plan, ["title", "period"], search))
    return list(matches.order_by("title", "pk")[:limit])


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
    # The total and the page in two queries: COUNT(*) OVER () in the page's query would
    # build every idle row (joins and all) before the LIMIT, 10× slower on the large dataset.
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
