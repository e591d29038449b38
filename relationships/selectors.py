"""Reads of relationships, always scoped by accounts.permissions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from django.core.cache import cache
from django.db import connections
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    Max,
    Model,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncMonth
from django.http import Http404

from accounts import permissions
from events.models import Event
from events.selectors import FeedPage, feed_page
from relationships.models import (
    ACTIVE_STAGES,
    Commitment,
    Interaction,
    Relationship,
    ValueRecord,
)


def relationships_visible_to(user) -> QuerySet[Relationship]:
    return (
        Relationship.objects.filter(permissions.relationship_scope(user))
        .select_related("stakeholder", "stakeholder__category", "type", "manager", "team")
        .order_by("stakeholder__name", "id")
    )


# What a row of the list shows, and what ``with_references`` reads: whole rows (the purpose,
# the health reasons as JSON, the stakeholder's description …) cost more to read and build.
LIST_ROW_FIELDS = (
    *("stage", "confidential", "health_score", "last_interaction_on", "next_review_on"),
    *("type", "team", "manager", "stakeholder"),
    *("stakeholder__name", "stakeholder__category"),
    *("manager__first_name", "manager__last_name", "manager__username"),
)


def list_rows(queryset: QuerySet[Relationship]) -> QuerySet[Relationship]:
    """The list's rows, joined to their stakeholder and manager only: their type, team and
    category are small reference tables the page holds already (``with_references``).
    Three more joins cost PostgreSQL more to plan (~1.5 ms) than a page of rows to read."""
    return (
        queryset.select_related(None)
        .select_related("stakeholder", "manager")
        .only(*LIST_ROW_FIELDS)
    )


def with_references(
    rows: Iterable[Relationship],
    *,
    types: Mapping[int, Model],
    teams: Mapping[int, Model],
    categories: Mapping[int, Model],
) -> list[Relationship]:
    """``rows`` (from ``list_rows``) with their type, team and stakeholder category set from
    these rows by id."""
    rows = list(rows)
    _set_related(rows, "type", types)
    _set_related(rows, "team", teams)
    _set_related([row.stakeholder for row in rows], "category", categories)
    return rows


def _set_related(objects: list[Model], name: str, known: Mapping[int, Model]) -> None:
    """Set each object's foreign key ``name`` from ``known``; ids it lacks (rows created since
    it was read) are read in one query."""
    if not objects:
        return
    field = objects[0]._meta.get_field(name)
    missing = {getattr(obj, field.attname) for obj in objects} - known.keys() - {None}
    if missing:
        known = {**known, **field.related_model._base_manager.in_bulk(missing)}
    for obj in objects:
        pk = getattr(obj, field.attname)
        if pk in known:
            setattr(obj, name, known[pk])


def get_relationship_for(user, pk, *, write: bool = False, contribute: bool = False):
    """The relationship if the user may see it (and change or contribute to it), else 404.

    A record the user may not see answers 404 rather than 403, so its existence leaks nothing.
    """
    try:
        relationship = relationships_visible_to(user).get(pk=pk)
    except (Relationship.DoesNotExist, ValueError, TypeError):
        raise Http404("No such relationship") from None
    if write and not permissions.may_change_relationship(user, relationship):
        raise Http404("No such relationship")
    if contribute and not permissions.may_contribute_to_relationship(user, relationship):
        raise Http404("No such relationship")
    return relationship


def interactions_visible_to(user) -> QuerySet[Interaction]:
    return Interaction.objects.filter(
        permissions.relationship_scope(user, prefix="relationship__")
    ).select_related("relationship", "relationship__stakeholder", "created_by")


# The channel a user logged last, read through the shared cache (the detail page stays
# within its query budget): interaction_log keeps it as it commits, the database answers a
# miss, and the expiry bounds staleness should a write ever bypass the service.
LAST_CHANNEL_SECONDS = 24 * 60 * 60


def _last_channel_key(user_id: int) -> str:
    return f"relationships:last-channel:v1:{user_id}"


def last_interaction_channel(user) -> str | None:
    """The channel of the interaction the user logged last (on the page or through the API),
    None before their first: the quick-log form starts on it, since people tend to log a run
    of the same kind (a day of calls, an event's meetings)."""
    key = _last_channel_key(user.pk)
    channel = cache.get(key)
    if channel is None:
        channel = (
            Interaction.objects.filter(created_by=user)
            .order_by("-created_at", "-id")
            .values_list("channel", flat=True)
            .first()
        ) or ""  # "" for none yet, so that is remembered too
        cache.set(key, channel, LAST_CHANNEL_SECONDS)
    return channel or None


def remember_interaction_channel(user_id: int, channel: str) -> None:
    """interaction_log, once its interaction is committed. Two logs by one user committing
    at once leave either channel: both were "the last one" a moment ago."""
    cache.set(_last_channel_key(user_id), channel, LAST_CHANNEL_SECONDS)


def commitments_visible_to(user) -> QuerySet[Commitment]:
    return Commitment.objects.filter(
        permissions.relationship_scope(user, prefix="relationship__")
    ).select_related("relationship", "relationship__stakeholder", "owner")


def value_records_visible_to(user) -> QuerySet[ValueRecord]:
    return ValueRecord.objects.filter(
        permissions.relationship_scope(user, prefix="relationship__")
    ).select_related("relationship", "relationship__stakeholder")


# --- Pages: the detail page, the board, the owner's commitments ------------------------
# Each helper runs a fixed number of queries whatever the number of rows, so the pages'
# query counts stay flat as relationships grow (the tests pin them).


def relationship_timeline(relationship: Relationship, limit: int = 50) -> FeedPage:
    """The relationship's events, newest first by time (one query, actors joined); the
    page's ``older`` cursor continues it at /activity/relationships/<pk>/. The caller has
    checked the user may see the relationship, and then may see all of its events
    (accounts.permissions.event_scope is the relationship's own rule)."""
    events = Event.objects.filter(relationship_id=relationship.pk).select_related("actor")
    return feed_page(events, size=limit)


@dataclass
class CommitmentSummary:
    ours: list[Commitment]
    theirs: list[Commitment]
    counts: dict[str, int]
    overdue: int


def _commitments(relationship: Relationship) -> list[Commitment]:
    """All the relationship's commitments, open ones first, kept on the relationship object
    so the page's commitments section and its timeline's follow-ups share one query."""
    memo = relationship.__dict__.get("_rapport_commitments")
    if memo is None:
        memo = relationship.__dict__["_rapport_commitments"] = list(
            relationship.commitments.select_related("owner").order_by(
                Case(When(status=Commitment.Status.OPEN, then=Value(0)), default=Value(1)),
                F("due_on").asc(nulls_last=True),
                "id",
            )
        )
    return memo


def relationship_commitments(relationship: Relationship, today: date) -> CommitmentSummary:
    """Both directions, open ones first (overdue on top), with kept/broken/open counts."""
    commitments = _commitments(relationship)
    counts = dict.fromkeys(Commitment.Status.values, 0)
    overdue = 0
    for commitment in commitments:
        counts[commitment.status] += 1
        commitment.overdue = commitment.is_overdue(today)
        overdue += commitment.overdue
    return CommitmentSummary(
        ours=[c for c in commitments if c.direction == Commitment.Direction.OURS],
        theirs=[c for c in commitments if c.direction == Commitment.Direction.THEIRS],
        counts=counts,
        overdue=overdue,
    )


# Value records the relationship page reads at once. A relationship with no more than this
# many gets its totals and monthly figures computed from the same rows (one query in all);
# a longer record is aggregated by the database.
VALUE_READ_LIMIT = 100


def _value_records(relationship: Relationship) -> list[ValueRecord]:
    """The newest value records (up to VALUE_READ_LIMIT + 1, so we know whether that is all of
    them), kept on the relationship object so one page's sections share the query."""
    memo = relationship.__dict__.get("_rapport_value_records")
    if memo is None:
        memo = relationship.__dict__["_rapport_value_records"] = list(
            relationship.value_records.select_related("created_by").order_by("-recorded_on", "-id")[
                : VALUE_READ_LIMIT + 1
            ]
        )
    return memo


def _all_value_records(relationship: Relationship) -> list[ValueRecord] | None:
    records = _value_records(relationship)
    return records if len(records) <= VALUE_READ_LIMIT else None


def _group_values(records: list[ValueRecord], key) -> dict[tuple, dict]:
    groups: dict[tuple, dict] = {}
    for record in records:
        group = groups.setdefault(key(record), {"total": None, "records": 0, "last_on": None})
        if record.amount is not None:  # as SQL's SUM: NULL when every amount is NULL
            group["total"] = (group["total"] or 0) + record.amount
        group["records"] += 1
        if group["last_on"] is None or record.recorded_on > group["last_on"]:
            group["last_on"] = record.recorded_on
    return groups


def relationship_value_totals(relationship: Relationship) -> list[dict]:
    """Running totals per kind and unit; qualitative ones are counted."""
    labels = dict(ValueRecord.Kind.choices)
    records = _all_value_records(relationship)
    if records is not None:
        groups = _group_values(records, key=lambda r: (r.kind, r.unit))
        rows = [
            {"kind": kind, "unit": unit, **figures}
            for (kind, unit), figures in sorted(groups.items())
        ]
    else:
        rows = (
            relationship.value_records.values("kind", "unit")
            .annotate(total=Sum("amount"), records=Count("id"), last_on=Max("recorded_on"))
            .order_by("kind", "unit")
        )
    return [{**row, "kind_label": labels.get(row["kind"], row["kind"])} for row in rows]


def relationship_value_by_month(relationship: Relationship, months: int = 24) -> list[dict]:
    """Quantitative value per month, kind and unit, newest month first."""
    records = _all_value_records(relationship)
    if records is not None:
        groups = _group_values(
            [r for r in records if r.kind != ValueRecord.Kind.QUALITATIVE],
            key=lambda r: (r.recorded_on.replace(day=1), r.kind, r.unit),
        )
        rows = [
            {
                "month": month,
                "kind": kind,
                "unit": unit,
                "total": f["total"],
                "records": f["records"],
            }
            for (month, kind, unit), f in sorted(
                groups.items(), key=lambda item: (-item[0][0].toordinal(), item[0][1], item[0][2])
            )
        ]
    else:
        rows = (
            relationship.value_records.exclude(kind=ValueRecord.Kind.QUALITATIVE)
            .annotate(month=TruncMonth("recorded_on"))
            .values("month", "kind", "unit")
            .annotate(total=Sum("amount"), records=Count("id"))
            .order_by("-month", "kind", "unit")
        )
    labels = dict(ValueRecord.Kind.choices)
    result, seen = [], set()
    for row in rows:
        seen.add(row["month"])
        if len(seen) > months:
            break
        result.append({**row, "kind_label": labels.get(row["kind"], row["kind"])})
    return result


@dataclass
class HistoryEntry:
    when: datetime
    who: object
    what: str  # "Relationship", "Interaction …"
    action: str  # created / changed / deleted
    changes: list[str]


_HISTORY_SKIP = {"version", "created_at", "updated_at", "created_by"}


def relationship_history(relationship: Relationship, limit: int = 50) -> list[HistoryEntry]:
    """Who changed what and when, across the relationship and its records, newest first.

    A fixed number of queries: one per history table, plus one per kind of referenced object
    to name it (diffs hold ids). Diffs are computed in memory between consecutive versions.
    """
    sources = [
        (Relationship.history.filter(id=relationship.pk), "Relationship"),
        (Interaction.history.filter(relationship_id=relationship.pk), "Interaction"),
        (Commitment.history.filter(relationship_id=relationship.pk), "Commitment"),
        (ValueRecord.history.filter(relationship_id=relationship.pk), "Value record"),
    ]
    pending: list[tuple] = []
    for queryset, label in sources:
        records = list(queryset.select_related("history_user").order_by("-history_id")[: limit * 4])
        records.reverse()
        previous_by_id: dict[int, object] = {}
        for record in records:
            previous = previous_by_id.get(record.id)
            previous_by_id[record.id] = record
            pending.append((record, previous, label))
    pending.sort(key=lambda item: (item[0].history_date, item[0].history_id), reverse=True)
    pending = pending[:limit]

    # Name referenced objects in one query per model instead of one per change.
    references: dict[type, set] = {}
    diffs = []
    for record, previous, label in pending:
        changes = []
        if previous is not None and record.history_type == "~":
            for change in record.diff_against(previous).changes:
                if change.field in _HISTORY_SKIP:
                    continue
                field = record.instance_type._meta.get_field(change.field)
                if field.is_relation:
                    for value in (change.old, change.new):
                        if value is not None:
                            references.setdefault(field.related_model, set()).add(value)
                changes.append((field, change.old, change.new))
        diffs.append((record, label, changes))
    names = {
        model: {obj.pk: str(obj) for obj in model._base_manager.filter(pk__in=ids)}
        for model, ids in references.items()
    }

    def show(field, value) -> str:
        if value in (None, ""):
            return "—"
        if field.is_relation:
            return names.get(field.related_model, {}).get(value, f"#{value}")
        if field.choices:
            return str(dict(field.flatchoices).get(value, value))
        text = str(value)
        return text if len(text) <= 80 else text[:79] + "…"

    entries = []
    for record, label, changes in diffs:
        action = {"+": "created", "~": "changed", "-": "deleted"}[record.history_type]
        what = label if label == "Relationship" else f"{label} “{_short(record)}”"
        lines = [
            f"{field.verbose_name}: {show(field, old)} → {show(field, new)}"
            for field, old, new in changes
        ]
        if action == "changed" and not lines:
            lines = ["(no visible field changed)"]
        entries.append(HistoryEntry(record.history_date, record.history_user, what, action, lines))
    return entries


def _short(record) -> str:
    text = str(getattr(record, "summary", "") or getattr(record, "description", "") or "")
    if not text and hasattr(record, "kind"):
        text = dict(ValueRecord.Kind.choices).get(record.kind, record.kind)
        if record.amount is not None:
            text = f"{text} {record.amount} {record.unit}".strip()
    return text if len(text) <= 40 else text[:39] + "…"


# The board's order within a column: best health first, then by stakeholder name.
BOARD_ORDER = ("-health_score", "stakeholder__name", "id")
# What a card shows and what accounts.permissions asks of it: 125 cards are a page's worth
# of rows, and reading whole rows (purpose, notes, the stakeholder's description …) and
# building objects from them cost more than the query.
BOARD_CARD_FIELDS = (
    *("stage", "confidential", "health_score", "team", "manager", "stakeholder"),
    "stakeholder__name",
    *("manager__first_name", "manager__last_name", "manager__username"),
    "team__name",
)


def _all_rows(parts: list[QuerySet]) -> list[tuple]:
    """The rows of every part, in one query (UNION ALL) where the database allows a slice
    in each part (PostgreSQL); else one query a part (SQLite in development)."""
    if connections[parts[0].db].features.supports_slicing_ordering_in_compound:
        return list(parts[0].union(*parts[1:], all=True))
    return [row for part in parts for row in part]


def relationships_by_stage(
    queryset: QuerySet[Relationship], per_column: int = 50
) -> dict[str, tuple[list[Relationship], int]]:
    """The board: up to ``per_column`` cards per lifecycle stage (``BOARD_ORDER``) and each
    stage's total.

    At most four queries whatever the number of relationships, none sorting a whole stage:
    1. the totals per stage (an index-only scan of rel_board_idx);
    2. the health scores of each full column's first ``per_column`` cards (index only): the
       lowest of them is the column's cut;
    3. the ids of the cards: those above the cut, and the first of those at the cut by
       stakeholder name. Splitting at the cut is what keeps it fast: ordering a stage by
       health and then name would join and sort every card of the stage, and a stage often
       shares one score (every relationship without an interaction scores 60), whereas the
       cards at the cut alone can be read in name order from the stakeholder name index,
       stopping early;
    4. those cards, with what they show.
    """
    base = queryset.order_by()
    totals = dict(base.filter(stage__in=ACTIVE_STAGES).values_list("stage").annotate(n=Count("*")))
    full = [stage for stage in ACTIVE_STAGES if totals.get(stage, 0) > per_column]
    scores: dict[str, list[int]] = {stage: [] for stage in full}
    if full:
        firsts = [
            base.filter(stage=stage)
            .order_by("-health_score")
            .values_list("stage", "health_score")[:per_column]
            for stage in full
        ]
        for stage, score in _all_rows(firsts):
            scores[stage].append(score)

    # Columns with no more than per_column cards: all of them.
    short = [stage for stage in ACTIVE_STAGES if totals.get(stage) and stage not in scores]
    picks = [base.filter(stage__in=short).values_list("id")] if short else []
    for stage in full:
        column = base.filter(stage=stage).values_list("id")
        cut = min(scores[stage])
        # The cut's literal value (not a subquery) lets PostgreSQL estimate how many cards
        # share it, and so choose between the name index and a small sort.
        room = per_column - sum(score > cut for score in scores[stage])
        picks.append(column.filter(health_score__gt=cut))  # fewer than per_column
        picks.append(column.filter(health_score=cut).order_by("stakeholder__name", "id")[:room])
    columns: dict[str, tuple[list[Relationship], int]] = {
        stage: ([], totals.get(stage, 0)) for stage in ACTIVE_STAGES
    }
    if picks:
        # The ids first, then the cards by id: a query of its own is cheaper than compiling
        # the union into the cards' query, and the cards need none of ``queryset``'s filters.
        ids = [pk for (pk,) in _all_rows(picks)]
        cards = (
            Relationship.objects.filter(pk__in=ids)
            .select_related("stakeholder", "manager", "team")
            .only(*BOARD_CARD_FIELDS)
        )
        for card in cards.order_by(*BOARD_ORDER):
            cards_of_stage = columns[card.stage][0]
            if len(cards_of_stage) < per_column:  # more if rows were added since the totals
                cards_of_stage.append(card)
    return columns


def open_commitments_of(user, today: date) -> QuerySet[Commitment]:
    """The owner's page: their open commitments on relationships they may see, overdue first."""
    return (
        commitments_visible_to(user)
        .filter(owner=user, status=Commitment.Status.OPEN)
        .select_related("relationship__stakeholder", "relationship__team", "source_interaction")
        .annotate(
            overdue_first=Case(
                When(due_on__lt=today, then=Value(0)),
                When(due_on__isnull=True, then=Value(2)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("overdue_first", "due_on", "id")
    )
