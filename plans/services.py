"""Every write to objectives, KPIs, plans and initiatives. Views and admin call these.

Each function checks the actor may edit plans, validates, runs in one transaction, records
who did it (simple_history's history_user) and raises a RuleViolation with a stable code
and the field at fault. Nothing is saved when one is raised. Writes that change what rolls
up the cascade refresh the roll-up read model (plans.rollups) in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Literal

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts import permissions
from accounts.models import User
from core.errors import PermissionRefused, RuleViolation
from core.limits import check_length
from events.services import event_record
from plans import rollups
from plans.models import Initiative, KpiMeasurement, Objective, ObjectiveLevel, Plan
from relationships.models import Relationship
from relationships.selectors import relationships_visible_to


def may_edit_plans(user) -> bool:
    """Managers and admins edit objectives and plans (the rule lives in accounts.permissions)."""
    return permissions.may_edit_plans(user)


def _require_editor(by: User) -> None:
    if not may_edit_plans(by):
        raise PermissionRefused("Only relationship managers and admins edit objectives and plans.")


def _stamp(instance, by: User | None) -> None:
    """simple_history reads the acting user from here, whatever the entry point."""
    instance._history_user = by


def _validate(instance, exclude: Iterable[str] = ()) -> None:
    """Model validation as a RuleViolation naming the first field at fault; free text
    (a description) held to the forms' and the API's limit (core.limits)."""
    check_length(getattr(instance, "description", None), field="description")
    try:
        instance.full_clean(exclude=list(exclude))
    except ValidationError as error:
        for field, messages in error.message_dict.items():
            raise RuleViolation(
                "invalid", " ".join(messages), None if field == "__all__" else field
            ) from None
        raise


def _check_unknown(fields: dict, allowed: Iterable[str]) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise RuleViolation("not_editable", f"Unknown fields: {sorted(unknown)}")


def _check_dates(start: date | None, end: date | None, field: str = "end_on") -> None:
    if start and end and end < start:
        raise RuleViolation("end_before_start", "The end date cannot be before the start.", field)


def _clean(fields: dict) -> dict:
    return {k: v.strip() if isinstance(v, str) else v for k, v in fields.items()}


def _display(value) -> str | int | bool | None:
    """A value as an event's JSON carries it: dates and decimals as text, records by name."""
    if value is None or value == "":
        return None
    if isinstance(value, (str, int, bool)):
        return value
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _changes(before: dict, instance) -> dict[str, list]:
    """{field: [old, new]} of the fields in ``before`` that ``instance`` now holds otherwise."""
    return {
        name: [_display(old), _display(getattr(instance, name))]
        for name, old in before.items()
        if getattr(instance, name) != old
    }


def _names(records: Iterable) -> list[str]:
    return sorted(str(record) for record in records)


# --- Objectives -----------------------------------------------------------------------

OBJECTIVE_FIELDS = (
    "level",
    "title",
    "description",
    "owner",
    "period",
    "target_date",
    "status",
    "kpi_name",
    "kpi_unit",
    "kpi_baseline",
    "kpi_target",
)


def _check_kpi(objective: Objective) -> None:
    if objective.kpi_name and objective.kpi_target is None:
        raise RuleViolation("kpi_target_required", "A KPI needs a target value.", "kpi_target")
    if not objective.kpi_name and any(
        v is not None for v in (objective.kpi_target, objective.kpi_baseline)
    ):
        raise RuleViolation("kpi_name_required", "Name the KPI these values measure.", "kpi_name")
    baseline = objective.kpi_baseline if objective.kpi_baseline is not None else Decimal(0)
    if objective.kpi_target is not None and objective.kpi_target == baseline:
        raise RuleViolation(
            "kpi_target_is_baseline",
            "The KPI target must differ from its baseline, or progress cannot be measured.",
            "kpi_target",
        )


def _parent_map() -> dict[int, int | None]:
    return dict(Objective.objects.values_list("id", "parent_id"))


def _ancestors(parents: dict[int, int | None], pk: int | None) -> list[int]:
    """``pk`` and its ancestors up to the root (stops on a loop rather than spinning)."""
    chain: list[int] = []
    while pk is not None and pk not in chain:
        chain.append(pk)
        pk = parents.get(pk)
    return chain


def _check_no_cycle(
    parents: dict[int, int | None], objective: Objective, new_parent: Objective | None
) -> None:
    if new_parent is None:
        return
    if new_parent.pk == objective.pk:
        raise RuleViolation("cycle", f"“{objective}” cannot be placed under itself.", "parent")
    if objective.pk in _ancestors(parents, new_parent.pk):
        raise RuleViolation(
            "cycle",
            f"“{objective}” cannot move under “{new_parent}”: “{new_parent}” is one of its "
            "own sub-objectives, so the cascade would loop.",
            "parent",
        )


@transaction.atomic
def objective_create(
    *, by: User, title: str, level: ObjectiveLevel, parent: Objective | None = None, **fields
) -> Objective:
    _require_editor(by)
    _check_unknown(fields, OBJECTIVE_FIELDS)
    objective = Objective(parent=parent, level=level, title=title, created_by=by, **_clean(fields))
    objective.title = objective.title.strip()
    _validate(objective)
    _check_kpi(objective)
    _stamp(objective, by)
    objective.save()
    rollups.refresh([objective.pk])
    event_record(
        verb="objective.created",
        subject=objective,
        actor=by,
        data={
            "level": str(level),
            "parent": _display(parent),
            "status": objective.status,
            "kpi": objective.kpi_name or None,
        },
    )
    return objective


@transaction.atomic
def objective_update(
    *, objective: Objective, by: User, parent: Objective | None | Literal[False] = False, **fields
) -> Objective:
    """Edit fields; passing ``parent`` moves the objective too (refusing cycles)."""
    _require_editor(by)
    _check_unknown(fields, OBJECTIVE_FIELDS)
    changed: dict[str, list] = {}
    former_parent_id = None
    if parent is not False:
        current = Objective.objects.select_related("parent").get(pk=objective.pk).parent
        if parent != current:
            _move(objective=objective, new_parent=parent, by=by)
            changed["parent"] = [_display(current), _display(parent)]
            former_parent_id = current.pk if current is not None else None
    locked = Objective.objects.select_for_update().get(pk=objective.pk)
    fields = _clean(fields)
    before = {name: getattr(locked, name) for name in fields}
    for name, value in fields.items():
        setattr(locked, name, value)
    _validate(locked)
    _check_kpi(locked)
    _stamp(locked, by)
    locked.save()
    changed.update(_changes(before, locked))
    if rollups.INPUTS & changed.keys():
        rollups.refresh([locked.pk, former_parent_id])
    if changed:
        # One event for the edit, a move included (objective_move records its own only
        # when called on its own).
        event_record(verb="objective.updated", subject=locked, actor=by, data={"changes": changed})
    return locked


@transaction.atomic
def objective_move(*, objective: Objective, new_parent: Objective | None, by: User) -> Objective:
    """Put the objective (with its sub-tree) under ``new_parent``, or at the top for None.

    Refused with code "cycle" when ``new_parent`` is the objective or one of its descendants.
    """
    _require_editor(by)
    before = Objective.objects.select_related("parent").get(pk=objective.pk).parent
    locked = _move(objective=objective, new_parent=new_parent, by=by)
    if before != new_parent:
        rollups.refresh([locked.pk, before.pk if before is not None else None])
        event_record(
            verb="objective.moved",
            subject=locked,
            actor=by,
            data={"from": _display(before), "to": _display(new_parent)},
        )
    return locked


def _move(*, objective: Objective, new_parent: Objective | None, by: User) -> Objective:
    parents = _parent_map()
    _check_no_cycle(parents, objective, new_parent)
    # Race: two moves checked at the same time could each pass and together close a loop
    # (A under B while B goes under A's child). Any such pair shares a row among "the moved
    # node, the new parent and its ancestors", so locking those (in pk order) makes them run
    # one after the other; the check is then repeated on what the first one committed.
    involved = {objective.pk, *_ancestors(parents, new_parent.pk if new_parent else None)}
    list(
        Objective.objects.select_for_update()
        .filter(pk__in=involved)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    _check_no_cycle(_parent_map(), objective, new_parent)
    locked = Objective.objects.get(pk=objective.pk)
    locked.parent = new_parent
    _stamp(locked, by)
    locked.save(update_fields=["parent", "updated_at"])
    objective.parent = new_parent
    return locked


def objective_descendant_ids(objective: Objective) -> list[int]:
    """Every objective below this one, deepest last (one query)."""
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in Objective.objects.values_list("id", "parent_id"):
        children.setdefault(parent_id, []).append(pk)
    found: list[int] = []
    frontier = [objective.pk]
    while frontier:
        level = [c for pk in frontier for c in children.get(pk, []) if c not in found]
        found.extend(level)
        frontier = level
    return found


@transaction.atomic
def objective_delete(
    *, objective: Objective, by: User, children: Literal["reattach", "delete"] = "reattach"
) -> int:
    """Delete the objective. Its children move up to its parent ("reattach"), or the whole
    branch goes ("delete"). Initiatives serving a deleted objective then serve none, and the
    contribution check lists them. Returns how many objectives were deleted."""
    _require_editor(by)
    if children not in ("reattach", "delete"):
        raise RuleViolation(
            "invalid_choice", "Choose what happens to the sub-objectives.", "children"
        )
    # Race: a move into this branch while it is deleted; lock the node and its children.
    locked = Objective.objects.select_for_update().get(pk=objective.pk)
    parent_id = locked.parent_id
    kids = list(Objective.objects.select_for_update().filter(parent=locked).order_by("pk"))
    if children == "reattach":
        for child in kids:
            child.parent_id = locked.parent_id
            _stamp(child, by)
            child.save(update_fields=["parent", "updated_at"])
        doomed = [locked]
    else:
        ids = objective_descendant_ids(locked)
        by_pk = Objective.objects.select_for_update().in_bulk(ids)
        # Deepest first: the parent link protects against deleting a node with children.
        doomed = [by_pk[pk] for pk in reversed(ids) if pk in by_pk] + [locked]
    # Recorded before the rows go: a deleted objective has no pk to name.
    event_record(
        verb="objective.deleted",
        subject=locked,
        actor=by,
        data={
            "children": children,
            "deleted": len(doomed),
            "reattached": len(kids) if children == "reattach" else 0,
        },
    )
    for item in doomed:
        _stamp(item, by)
        item.delete()
    # The parent lost a child (or gained its children); the deleted rows' own figures went
    # with them (ObjectiveRollup cascades).
    rollups.refresh([parent_id])
    return len(doomed)


@transaction.atomic
def kpi_measurement_record(
    *, objective: Objective, measured_on: date, value: Decimal, by: User, note: str = ""
) -> KpiMeasurement:
    """Keep a dated KPI value; the objective's current value becomes the latest by date."""
    _require_editor(by)
    if not objective.has_kpi:
        raise RuleViolation("no_kpi", "Give the objective a KPI and a target first.", "value")
    measurement = KpiMeasurement(
        objective=objective, measured_on=measured_on, value=value, note=note.strip(), by=by
    )
    _validate(measurement, exclude=["objective", "by"])
    _stamp(measurement, by)
    measurement.save()
    # Race: two measurements recorded at once; lock the objective so the latest wins.
    locked = Objective.objects.select_for_update().get(pk=objective.pk)
    latest = locked.measurements.order_by("-measured_on", "-id").first()
    if latest is not None and locked.kpi_current != latest.value:
        locked.kpi_current = latest.value
        _stamp(locked, by)
        locked.save(update_fields=["kpi_current", "updated_at"])
        objective.kpi_current = latest.value
        rollups.refresh([locked.pk])
    # About the objective (its KPI), which has a page; the measurement is a row of it.
    event_record(
        verb="kpi.measured",
        subject=locked,
        actor=by,
        data={
            "measurement_id": measurement.pk,
            "kpi": locked.kpi_name,
            "measured_on": measured_on.isoformat(),
            "value": f"{measurement.value:.2f}",  # as stored (two places)
            "current": _display(locked.kpi_current),
        },
    )
    return measurement


# --- Plans ----------------------------------------------------------------------------

PLAN_FIELDS = ("title", "period", "owner", "start_on", "end_on", "currency", "description")


def _normalise_currency(fields: dict) -> None:
    if isinstance(fields.get("currency"), str):
        fields["currency"] = fields["currency"].strip().upper()


@transaction.atomic
def plan_create(*, by: User, objectives: Iterable[Objective] = (), **fields) -> Plan:
    _require_editor(by)
    _check_unknown(fields, PLAN_FIELDS)
    fields = _clean(fields)
    _normalise_currency(fields)
    plan = Plan(created_by=by, **fields)
    _check_dates(plan.start_on, plan.end_on)
    _validate(plan)
    _stamp(plan, by)
    plan.save()
    objective_list = list(objectives)
    plan.objectives.set(objective_list)
    event_record(
        verb="plan.created",
        subject=plan,
        actor=by,
        data={
            "period": plan.period,
            "start_on": _display(plan.start_on),
            "end_on": _display(plan.end_on),
            "objectives": _names(objective_list),
        },
    )
    return plan


@transaction.atomic
def plan_update(
    *, plan: Plan, by: User, objectives: Iterable[Objective] | None = None, **fields
) -> Plan:
    _require_editor(by)
    _check_unknown(fields, PLAN_FIELDS)
    fields = _clean(fields)
    _normalise_currency(fields)
    locked = Plan.objects.select_for_update().get(pk=plan.pk)
    before = {name: getattr(locked, name) for name in fields}
    for name, value in fields.items():
        setattr(locked, name, value)
    _check_dates(locked.start_on, locked.end_on)
    _validate(locked)
    _stamp(locked, by)
    locked.save()
    changed = _changes(before, locked)
    if objectives is not None:
        objective_list = list(objectives)
        names_before = _names(locked.objectives.all())
        if names_before != _names(objective_list):
            changed["objectives"] = [names_before, _names(objective_list)]
        locked.objectives.set(objective_list)
    if changed:
        event_record(verb="plan.updated", subject=locked, actor=by, data={"changes": changed})
    return locked


# --- Initiatives ----------------------------------------------------------------------

INITIATIVE_FIELDS = (
    "title",
    "description",
    "objective",
    "owner",
    "planned_hours",
    "spent_hours",
    "planned_budget",
    "spent_budget",
    "currency",
    "start_on",
    "end_on",
    "status",
)
_RESOURCES = {
    "planned_hours": "Planned hours",
    "spent_hours": "Spent hours",
    "planned_budget": "Planned budget",
    "spent_budget": "Spent budget",
}


def _check_initiative(initiative: Initiative) -> None:
    for field, label in _RESOURCES.items():
        value = getattr(initiative, field)
        if value is None:
            setattr(initiative, field, Decimal(0))
        elif value < 0:
            raise RuleViolation("negative", f"{label} cannot be negative.", field)
    if not initiative.currency:
        initiative.currency = initiative.plan.currency
    _check_dates(initiative.start_on, initiative.end_on)


def _relationships_for(
    by: User, chosen: Iterable[Relationship], keep_from: Initiative | None = None
) -> list[int]:
    """Ids to link: the editor's choice (each one visible to them) plus, on an edit, the
    links to relationships the editor cannot see, which their form could not show."""
    visible = relationships_visible_to(by)
    chosen_ids = {r.pk for r in chosen}
    if chosen_ids:
        seen = set(visible.filter(pk__in=chosen_ids).values_list("pk", flat=True))
        if seen != chosen_ids:
            raise RuleViolation(
                "unknown_relationship", "Choose relationships you can see.", "relationships"
            )
    hidden: set[int] = set()
    if keep_from is not None:
        hidden = set(
            keep_from.relationships.exclude(pk__in=visible.values("pk")).values_list(
                "pk", flat=True
            )
        )
    return sorted(chosen_ids | hidden)


@transaction.atomic
def initiative_create(
    *,
    plan: Plan,
    by: User,
    people: Iterable[User] = (),
    relationships: Iterable[Relationship] = (),
    **fields,
) -> Initiative:
    _require_editor(by)
    _check_unknown(fields, INITIATIVE_FIELDS)
    fields = _clean(fields)
    _normalise_currency(fields)
    initiative = Initiative(plan=plan, created_by=by, **fields)
    _check_initiative(initiative)
    _validate(initiative, exclude=["plan"])
    relationship_ids = _relationships_for(by, relationships)
    _stamp(initiative, by)
    initiative.save()
    people_list = list(people)
    initiative.people.set(people_list)
    initiative.relationships.set(relationship_ids)
    event_record(
        verb="initiative.created",
        subject=initiative,
        actor=by,
        data={
            "plan_id": plan.pk,
            "plan": str(plan),
            "objective": _display(initiative.objective),
            "status": initiative.status,
            "people": _names(people_list),
            # Ids only: a relationship's name may be confidential to whoever reads the feed.
            "relationship_ids": relationship_ids,
        },
    )
    return initiative


@transaction.atomic
def initiative_update(
    *,
    initiative: Initiative,
    by: User,
    people: Iterable[User] | None = None,
    relationships: Iterable[Relationship] | None = None,
    **fields,
) -> Initiative:
    _require_editor(by)
    _check_unknown(fields, INITIATIVE_FIELDS)
    fields = _clean(fields)
    _normalise_currency(fields)
    locked = Initiative.objects.select_for_update().select_related("plan").get(pk=initiative.pk)
    before = {name: getattr(locked, name) for name in fields}
    for name, value in fields.items():
        setattr(locked, name, value)
    _check_initiative(locked)
    _validate(locked, exclude=["plan"])
    relationship_ids = (
        _relationships_for(by, relationships, keep_from=locked)
        if relationships is not None
        else None
    )
    _stamp(locked, by)
    locked.save()
    changed = _changes(before, locked)
    if people is not None:
        people_list = list(people)
        names_before = _names(locked.people.all())
        if names_before != _names(people_list):
            changed["people"] = [names_before, _names(people_list)]
        locked.people.set(people_list)
    if relationship_ids is not None:
        ids_before = sorted(locked.relationships.values_list("pk", flat=True))
        if ids_before != relationship_ids:
            changed["relationship_ids"] = [ids_before, relationship_ids]
        locked.relationships.set(relationship_ids)
    if changed:
        event_record(verb="initiative.updated", subject=locked, actor=by, data={"changes": changed})
    return locked
