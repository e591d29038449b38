"""The read model "plans.objective_rollups": each objective's rolled-up progress, how many
objectives sit below it and on which levels (plans.models.ObjectiveRollup).

- ``refresh(ids)`` is called, in their transaction, by the services that change what rolls
  up: creating, moving or deleting an objective, its status or KPI, a KPI measurement. Only
  the objectives named and their ancestors can change, so it reads and writes those rows
  (and their children's figures) in four queries, however large the cascade.
- ``rebuild()`` recomputes every row from the objectives (``manage.py rebuild_read_models``,
  the demo seed), and ``compute(rows)`` is the rule applied to plain rows, which the
  migration that created the table uses too.

The rule itself is documented in plans.selectors (ROLL_UP_RULE).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models.expressions import RawSQL

from plans.models import Objective, ObjectiveRollup, kpi_progress

NAME = "plans.objective_rollups"

# Levels below an objective whose sizes are kept: the tree page draws at most this many
# levels under its roots (plans.views.MAX_DEPTH - 1).
LEVELS_KEPT = 12

# What the roll-up reads of an objective, in this order: a change to any other field (the
# title, the owner …) leaves the read model as it is.
RAW_FIELDS = ("id", "parent_id", "status", "kpi_name", "kpi_baseline", "kpi_target", "kpi_current")
INPUTS = frozenset({"parent", "status", "kpi_name", "kpi_baseline", "kpi_target", "kpi_current"})

DROPPED = Objective.Status.DROPPED
ACHIEVED = Objective.Status.ACHIEVED


@dataclass(frozen=True, slots=True)
class Figures:
    progress: float
    descendant_count: int
    level_sizes: tuple[int, ...]


NOTHING = Figures(0.0, 0, ())


def rolled_up_progress(
    *, status: str, kpi: float | None, children: Iterable[tuple[str, float]]
) -> float:
    """An objective's progress from its own KPI progress and its children's (status,
    progress). fsum, not sum: the result must not depend on the order children are read in,
    or a refresh and a rebuild could disagree in the last digit."""
    if status == ACHIEVED:
        return 100.0
    live = [progress for child_status, progress in children if child_status != DROPPED]
    parts = [] if kpi is None else [kpi]
    if live:
        parts.append(math.fsum(live) / len(live))
    return math.fsum(parts) / len(parts) if parts else 0.0


def figures_of(row: Sequence, children: Sequence[tuple[str, Figures]]) -> Figures:
    """The figures of one objective (a RAW_FIELDS row) from its children's."""
    _, _, status, name, baseline, target, current = row
    sizes = [len(children)] if children else []
    for level in range(LEVELS_KEPT - 1):
        below = sum(f.level_sizes[level] for _, f in children if len(f.level_sizes) > level)
        if not below:  # nothing on this level means nothing deeper either
            break
        sizes.append(below)
    return Figures(
        progress=rolled_up_progress(
            status=status,
            kpi=kpi_progress(name, baseline, target, current),
            children=[(child_status, f.progress) for child_status, f in children],
        ),
        descendant_count=sum(1 + f.descendant_count for _, f in children),
        level_sizes=tuple(sizes),
    )


def compute(rows: Iterable[Sequence]) -> dict[int, Figures]:
    """Every objective's figures from RAW_FIELDS rows of the whole cascade, children first
    (iteratively: a long chain must not hit Python's recursion limit). Objectives caught in
    a loop of parents (which the services refuse) have no figures."""
    by_pk = {row[0]: row for row in rows}
    children: dict[int | None, list[int]] = defaultdict(list)
    for pk, row in by_pk.items():
        children[row[1] if row[1] in by_pk else None].append(pk)
    order: list[int] = []
    stack = list(children[None])
    while stack:
        pk = stack.pop()
        order.append(pk)
        stack.extend(children[pk])
    figures: dict[int, Figures] = {}
    for pk in reversed(order):
        kids = [(by_pk[c][2], figures[c]) for c in children[pk]]
        figures[pk] = figures_of(by_pk[pk], kids)
    return figures


def _lock() -> None:
    """Race: two writes in the same cascade each recompute their shared ancestors from what
    they read, and the one committing last would overwrite the other's figures with some
    that miss its change. Every chain of ancestors ends at a top objective, so locking the
    tops' rows (in pk order) makes refreshes take turns; the one waiting then reads, after
    the lock, what the other committed."""
    list(
        ObjectiveRollup.objects.select_for_update(of=("self",))
        .filter(objective__parent__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def with_ancestors(pks: list[int]) -> RawSQL:
    """The objectives ``pks`` and all their ancestors, as a subquery (UNION, not UNION ALL:
    it stops on a loop of parents rather than spinning)."""
    table = connection.ops.quote_name(Objective._meta.db_table)
    placeholders = ", ".join(["%s"] * len(pks))
    return RawSQL(
        f"WITH RECURSIVE chain(id) AS ("
        f" SELECT id FROM {table} WHERE id IN ({placeholders})"
        f" UNION SELECT o.parent_id FROM {table} o JOIN chain c ON o.id = c.id"
        f" WHERE o.parent_id IS NOT NULL"
        f") SELECT id FROM chain",
        pks,
    )


def _depths(parents: dict[int, int | None]) -> dict[int, int]:
    """How many ancestors each objective of an upward-closed set has (a loop counts as a
    top rather than spinning)."""
    depths: dict[int, int] = {}
    for pk in parents:
        path: list[int] = []
        node: int | None = pk
        while node in parents and node not in depths and node not in path:
            path.append(node)
            node = parents[node]
        depth = depths.get(node, -1)  # None, or a loop back into the path
        for step in reversed(path):
            depth += 1
            depths[step] = depth
    return depths


def _stored(progress: float | None, descendant_count: int | None, sizes: list | None) -> Figures:
    """A child's figures as the read model holds them (none yet: zeros)."""
    if progress is None:
        return NOTHING
    return Figures(progress, descendant_count or 0, tuple(sizes or ()))


@transaction.atomic(savepoint=False)
def refresh(pks: Iterable[int | None]) -> int:
    """Recompute the figures of objectives ``pks`` (those that changed, and the former
    parent of one moved or deleted) and of their ancestors, bottom-up. Returns the rows
    written. Figures of the other children read come from the read model as it stands."""
    start = sorted({pk for pk in pks if pk is not None})
    if not start:
        return 0
    _lock()
    chain = {
        row[0]: row
        for row in Objective.objects.filter(pk__in=with_ancestors(start)).values_list(*RAW_FIELDS)
    }
    if not chain:  # all deleted
        return 0
    kids: dict[int, list[tuple]] = defaultdict(list)
    for row in Objective.objects.filter(parent_id__in=list(chain)).values_list(
        "id",
        "parent_id",
        "status",
        "rollup__progress",
        "rollup__descendant_count",
        "rollup__level_sizes",
    ):
        kids[row[1]].append(row)
    depths = _depths({pk: row[1] for pk, row in chain.items()})
    fresh: dict[int, Figures] = {}
    for pk in sorted(chain, key=depths.__getitem__, reverse=True):  # children first
        children = [
            (status, fresh[child] if child in fresh else _stored(progress, count, sizes))
            for child, _, status, progress, count, sizes in kids[pk]
        ]
        fresh[pk] = figures_of(chain[pk], children)
    ObjectiveRollup.objects.bulk_create(
        [_row(pk, figures) for pk, figures in fresh.items()],
        update_conflicts=True,
        unique_fields=["objective"],
        update_fields=["progress", "descendant_count", "level_sizes"],
    )
    return len(fresh)


def _row(pk: int, figures: Figures) -> ObjectiveRollup:
    return ObjectiveRollup(
        objective_id=pk,
        progress=figures.progress,
        descendant_count=figures.descendant_count,
        level_sizes=list(figures.level_sizes),
    )


@transaction.atomic
def rebuild() -> int:
    """Recompute every objective's figures from the objectives; returns the rows written."""
    _lock()
    figures = compute(Objective.objects.values_list(*RAW_FIELDS))
    ObjectiveRollup.objects.all().delete()
    ObjectiveRollup.objects.bulk_create([_row(pk, f) for pk, f in figures.items()], batch_size=1000)
    return len(figures)
