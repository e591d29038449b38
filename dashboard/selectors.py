"""Every figure of the executive dashboard and the manager's home, as plain dicts and lists.

Each function takes the viewer and the resolved filters (dashboard.forms.DashboardFilters)
and runs one aggregate query (a handful at most), whatever the number of rows: counts are
conditional aggregates (``Count(..., filter=Q(...))``) grouped with ``.values().annotate()``,
never Python loops over records. Every query is restricted by
``accounts.permissions.relationship_scope`` first, so a total is always the sum of what the
viewer may see. The page, the CSV downloads and the API endpoint call these same functions.

Rules shown to users (the page prints them in <details>):
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Avg,
    Case,
    Count,
    DecimalField,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncMonth, TruncWeek
from django.utils import timezone

from accounts import permissions
from accounts.models import Role, Team, User
from plans.selectors import cascade_top_levels
from relationships.models import (
    ACTIVE_STAGES,
    HEALTH_BANDS,
    Commitment,
    Interaction,
    Relationship,
    Stage,
    StageTransition,
    ValueRecord,
)
from relationships.selectors import commitments_visible_to, relationships_visible_to
from reviews.models import FeedbackResponse, Review
from reviews.selectors import reviews_visible_to, with_state

from . import readmodels
from .figurecache import cached_figure
from .forms import DashboardFilters, _month_end, _month_start
from .models import (
    ContactTally,
    InteractionWeekTally,
    MapCellTally,
    Reach,
    RelationshipTally,
    StakeholderReachTally,
    StakeholderReachValueTally,
    StakeholderTally,
    StakeholderValueTally,
)

RETENTION_RULE = (
    "Active at the start: started on or before the period's first day (or, with no start "
    "date, created by then) and not ended by that day. Still active at the end: not ended "
    "on or before the period's last day. Retention = still active at the end ÷ active at "
    "the start. Relationships started during the period are left out of both numbers; one "
    "ended on the last day counts as lost; one marked ended without an end date counts as "
    "ended before the period."
)
ADOPTION_RULE = (
    "Contact windows count back from today, using each relationship's last logged "
    "interaction. A relationship has gone quiet when nobody has logged an interaction for "
    "{quiet_days} days, or ever. Interactions per person count what each person logged "
    "(by the date they logged it) in the 12 weeks ending with the period."
)
MAP_RULE = (
    "One dot per stakeholder with at least one active relationship you may see (matching the "
    "filters) and a power/interest assessment. Dot area follows the total quantitative value "
    "recorded in {unit}; its colour, the average health of those relationships. Only the "
    "{limit} most valuable stakeholders are drawn; each cell also counts the rest."
)

HEALTH_BUCKETS = [(low, low + 9 if low < 90 else 100) for low in range(0, 100, 10)]
MAP_DOT_LIMIT = 300
TREND_MONTHS = 12
WEEKS = 12
ZERO = Decimal("0")
MONEY = DecimalField(max_digits=18, decimal_places=2)


def quiet_days() -> int:
    return int(getattr(settings, "RAPPORT_QUIET_DAYS", 60))


def key_relationship_limit() -> int:
    return int(getattr(settings, "RAPPORT_KEY_RELATIONSHIP_LIMIT", 8))


def band_of(score: float | None) -> str:
    if score is None:
        return ""
    for band, (low, high) in HEALTH_BANDS.items():
        if low <= round(score) <= high:
            return band
    return "poor"


def _scope(user, filters: DashboardFilters, prefix: str = "") -> Q:
    """What the viewer may see, narrowed by the team/category/type filters."""
    q = permissions.relationship_scope(user, prefix=prefix)
    if filters.team is not None:
        q &= Q(**{f"{prefix}team_id": filters.team.pk})
    if filters.category is not None:
        q &= Q(**{f"{prefix}stakeholder__category_id": filters.category.pk})
    if filters.type is not None:
        q &= Q(**{f"{prefix}type_id": filters.type.pk})
    return q


def relationships_in_scope(user, filters: DashboardFilters) -> QuerySet[Relationship]:
    return Relationship.objects.filter(_scope(user, filters)).order_by()


def tallies_serve(filters: DashboardFilters) -> bool:
    """Whether the tallies (dashboard.models) can answer for these filters: they are kept
    on PostgreSQL, and slice relationships by team but not by stakeholder category or
    relationship type, so those filters read the raw tables."""
    return readmodels.maintained() and filters.category is None and filters.type is None


def _tally(model, user, filters: DashboardFilters) -> QuerySet:
    """The viewer's rows of a tally, narrowed to the team filter."""
    rows = model.objects.filter(permissions.tally_scope(user)).order_by()
    if filters.team is not None:
        rows = rows.filter(team_key=filters.team.pk)
    return rows


def _day_start(day: date) -> datetime:
    """Midnight at the start of ``day`` in the site's time zone (for datetime columns)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _percent(part: int | None, whole: int | None) -> float | None:
    return round(100 * (part or 0) / whole, 1) if whole else None


def _round(value, digits: int = 1) -> float | None:
    return round(float(value), digits) if value is not None else None


ACTIVE = Q(stage__in=ACTIVE_STAGES)


def _not_ended_by(day: date) -> Q:
    # A relationship marked ended without a date is treated as ended long ago.
    return Q(ended_on__gt=day) | (Q(ended_on__isnull=True) & ~Q(stage=Stage.ENDED))


# --- Portfolio: one aggregate over the relationships ----------------------------------


def _retention_row(user, filters: DashboardFilters, aggregates: dict | None = None) -> dict:
    """Retention and ends in the period: they depend on the period's dates, so they are
    counted from the relationships themselves (with ``aggregates``, in the same query)."""
    start, end = filters.start, filters.end
    existed_at_start = Q(started_on__lte=start) | Q(
        started_on__isnull=True, created_at__lt=_day_start(start + timedelta(days=1))
    )
    active_at_start = existed_at_start & _not_ended_by(start)
    return relationships_in_scope(user, filters).aggregate(
        at_start=Count("id", filter=active_at_start),
        retained=Count("id", filter=active_at_start & _not_ended_by(end)),
        ended_in_period=Count("id", filter=Q(ended_on__gte=start, ended_on__lte=end)),
        **(aggregates or {}),
    )


@cached_figure("relationships")
def retention_counts(user, filters: DashboardFilters) -> dict:
    return _retention_row(user, filters)


def _portfolio_row_from_tallies(user, filters: DashboardFilters) -> dict:
    """The raw aggregate's keys, summed from the tallies: two small grouped queries."""
    today = filters.today
    row: dict = {
        "active": 0,
        "health_total": 0,
        "no_manager": 0,
        "key_active": 0,
        **{f"stage_{stage}": 0 for stage in Stage.values},
        **{f"health_{low}": 0 for low, _ in HEALTH_BUCKETS},
    }
    groups = (
        _tally(RelationshipTally, user, filters)
        .values("stage", "health_bucket", "is_key", "managed")
        .annotate(n=Sum("relationships"), health=Sum("health_total"))
    )
    for group in groups:
        n = group["n"]
        row[f"stage_{group['stage']}"] += n
        if group["stage"] == Stage.ENDED:
            continue
        row["active"] += n
        row["health_total"] += group["health"]
        row[f"health_{HEALTH_BUCKETS[group['health_bucket']][0]}"] += n
        row["key_active"] += n if group["is_key"] else 0
        row["no_manager"] += 0 if group["managed"] else n
    row["health_average"] = row["health_total"] / row["active"] if row["active"] else None
    contact = _contact_counts(_tally(ContactTally, user, filters), today)
    row.update((name, contact[name]) for name in ("contacted_30", "contacted_90", "quiet"))
    return row


def _contact_counts(rows: QuerySet, today: date, group_by: tuple = ()) -> dict | QuerySet:
    """Active relationships contacted in the last 30 and 90 days, and gone quiet, from
    ContactTally rows (per ``group_by`` if given)."""
    quiet_cutoff = today - timedelta(days=quiet_days())
    sums = {
        "active": Sum("relationships"),
        "contacted_30": Sum("relationships", filter=Q(last_contact_on__gte=today - timedelta(30))),
        "contacted_90": Sum("relationships", filter=Q(last_contact_on__gte=today - timedelta(90))),
        "quiet": Sum("relationships", filter=Q(last_contact_on__lt=quiet_cutoff)),
    }
    if group_by:
        return rows.values(*group_by).annotate(**sums)
    return {name: value or 0 for name, value in rows.aggregate(**sums).items()}


def portfolio(user, filters: DashboardFilters) -> dict:
    """Active count, stage funnel, health average and distribution, retention, ends, quiet,
    contact windows and continuity counts: from the tallies plus one aggregate for what
    depends on the period's dates, or one aggregate over the relationships."""
    if tallies_serve(filters):
        row = _portfolio_row_from_tallies(user, filters) | retention_counts(user, filters)
    else:
        row = _portfolio_row_raw(user, filters)
    return _portfolio_result(row)


def _portfolio_row_raw(user, filters: DashboardFilters) -> dict:
    today = filters.today
    quiet_cutoff = today - timedelta(days=quiet_days())
    aggregates = {
        "active": Count("id", filter=ACTIVE),
        "health_average": Avg("health_score", filter=ACTIVE),
        "quiet": Count(
            "id",
            filter=ACTIVE
            & (Q(last_interaction_on__isnull=True) | Q(last_interaction_on__lt=quiet_cutoff)),
        ),
        "contacted_30": Count(
            "id", filter=ACTIVE & Q(last_interaction_on__gte=today - timedelta(days=30))
        ),
        "contacted_90": Count(
            "id", filter=ACTIVE & Q(last_interaction_on__gte=today - timedelta(days=90))
        ),
        "no_manager": Count("id", filter=ACTIVE & Q(manager__isnull=True)),
        "key_active": Count("id", filter=ACTIVE & Q(is_key=True)),
    }
    for stage in Stage.values:
        aggregates[f"stage_{stage}"] = Count("id", filter=Q(stage=stage))
    for low, high in HEALTH_BUCKETS:
        aggregates[f"health_{low}"] = Count(
            "id", filter=ACTIVE & Q(health_score__gte=low, health_score__lte=high)
        )
    return _retention_row(user, filters, aggregates)


def _portfolio_result(row: dict) -> dict:
    active = row["active"]
    labels = dict(Stage.choices)
    return {
        "active": active,
        "stages": [
            {"stage": stage, "label": labels[stage], "count": row[f"stage_{stage}"]}
            for stage in Stage.values
        ],
        "health": {
            "average": _round(row["health_average"]),
            "band": band_of(row["health_average"]),
            "buckets": [
                {
                    "low": low,
                    "high": high,
                    "band": band_of(low),
                    "count": row[f"health_{low}"],
                }
                for low, high in HEALTH_BUCKETS
            ],
            "bands": {
                band: sum(row[f"health_{low}"] for low, _ in HEALTH_BUCKETS if band_of(low) == band)
                for band in HEALTH_BANDS
            },
        },
        "retention": {
            "active_at_start": row["at_start"],
            "still_active_at_end": row["retained"],
            "rate": _percent(row["retained"], row["at_start"]),
        },
        "ended_in_period": row["ended_in_period"],
        "quiet": {"count": row["quiet"], "days": quiet_days()},
        "contact": {
            "last_30_days": row["contacted_30"],
            "last_90_days": row["contacted_90"],
            "share_30": _percent(row["contacted_30"], active),
            "share_90": _percent(row["contacted_90"], active),
        },
        "no_manager": row["no_manager"],
        "key_active": row["key_active"],
    }


@cached_figure("relationships")
def ended_relationships(user, filters: DashboardFilters, limit: int = 25) -> dict:
    """Relationships ended in the period with the recorded reason, newest first."""
    rows = list(
        relationships_in_scope(user, filters)
        .filter(ended_on__gte=filters.start, ended_on__lte=filters.end)
        .order_by("-ended_on", "-id")
        .values("id", "stakeholder__name", "team__name", "ended_on", "end_reason")[:limit]
    )
    return {
        "limit": limit,
        "rows": [
            {
                "id": r["id"],
                "stakeholder": r["stakeholder__name"],
                "team": r["team__name"] or "",
                "ended_on": r["ended_on"],
                "reason": r["end_reason"],
            }
            for r in rows
        ],
    }


@cached_figure("relationships", "unmanaged")
def unmanaged_relationships(user, filters: DashboardFilters, limit: int = 10) -> list[dict]:
    """Active relationships nobody manages (a continuity risk), lowest health first."""
    return [
        {"id": r["id"], "stakeholder": r["stakeholder__name"], "health": r["health_score"]}
        for r in relationships_in_scope(user, filters)
        .filter(ACTIVE, manager__isnull=True)
        .order_by("health_score", "stakeholder__name", "id")
        .values("id", "stakeholder__name", "health_score")[:limit]
    ]


# --- Reviews, adoption, continuity ----------------------------------------------------


@cached_figure("relationships", "reviews")
def review_figures(user, filters: DashboardFilters) -> dict:
    """Open reviews overdue and due this month (reviews.selectors' due/overdue rule)."""
    today = filters.today
    reviews = with_state(
        reviews_visible_to(user).filter(_scope(user, filters, "relationship__")), today
    ).filter(status=Review.Status.SCHEDULED)
    row = reviews.aggregate(
        overdue=Count("id", filter=Q(state="overdue")),
        due_this_month=Count("id", filter=Q(due_on__gte=today, due_on__lte=_month_end(today))),
        overdue_relationships=Count(
            "relationship",
            distinct=True,
            filter=Q(state="overdue", relationship__stage__in=ACTIVE_STAGES),
        ),
    )
    return row


def adoption_by_team(user, filters: DashboardFilters) -> list[dict]:
    """Per team: active relationships, share contacted in the last 30 and 90 days, quiet."""
    if tallies_serve(filters):
        rows = _adoption_rows_from_tallies(user, filters)
    else:
        rows = _adoption_rows_raw(user, filters)
    return [
        {
            "team_id": r["team_id"],
            "team": r["team__name"] or "No team",
            "active": r["active"],
            "contacted_30": r["contacted_30"],
            "contacted_90": r["contacted_90"],
            "share_30": _percent(r["contacted_30"], r["active"]),
            "share_90": _percent(r["contacted_90"], r["active"]),
            "quiet": r["quiet"],
        }
        for r in rows
    ]


def _adoption_rows_from_tallies(user, filters: DashboardFilters) -> list[dict]:
    teams: dict[int, dict] = {}
    for group in _contact_counts(
        _tally(ContactTally, user, filters), filters.today, group_by=("team_key",)
    ):
        teams[group["team_key"]] = {"team_id": group["team_key"] or None} | {
            name: group[name] or 0 for name in ("active", "contacted_30", "contacted_90", "quiet")
        }
    names = dict(Team.objects.filter(pk__in=list(teams)).values_list("pk", "name"))
    rows = [
        team | {"team__name": names.get(team["team_id"])}
        for team in teams.values()
        if team["active"]
    ]
    # As the raw query orders them: by team name, relationships without a team last.
    rows.sort(key=lambda r: (r["team__name"] is None, r["team__name"] or ""))
    return rows


def _adoption_rows_raw(user, filters: DashboardFilters):
    today = filters.today
    quiet_cutoff = today - timedelta(days=quiet_days())
    rows = (
        relationships_in_scope(user, filters)
        .filter(ACTIVE)
        .values("team_id", "team__name")
        .annotate(
            active=Count("id"),
            contacted_30=Count("id", filter=Q(last_interaction_on__gte=today - timedelta(30))),
            contacted_90=Count("id", filter=Q(last_interaction_on__gte=today - timedelta(90))),
            quiet=Count(
                "id",
                filter=Q(last_interaction_on__isnull=True)
                | Q(last_interaction_on__lt=quiet_cutoff),
            ),
        )
        .order_by(F("team__name").asc(nulls_last=True))
    )
    return rows


def interactions_per_week(user, filters: DashboardFilters, max_people: int = 40) -> dict:
    """Interactions each person logged per week over the 12 weeks ending with the period
    (or today, if the period ends later): one grouped query."""
    last_day = min(filters.end, filters.today)
    first_week = last_day - timedelta(days=last_day.weekday()) - timedelta(weeks=WEEKS - 1)
    weeks = [first_week + timedelta(weeks=i) for i in range(WEEKS)]
    if tallies_serve(filters):
        # Whole weeks from the tally. A period that ends before today may end in the middle
        # of its last week: those few days come from the interactions themselves. (Ending
        # today needs no such care: nothing is logged after now.)
        ends_early = last_day < filters.today
        rows = list(
            _tally(InteractionWeekTally, user, filters)
            .filter(week__gte=first_week)
            .filter(Q(week__lt=weeks[-1]) if ends_early else Q(week__lte=weeks[-1]))
            .values("week", created_by_id=F("person_key"))
            .annotate(n=Sum("interactions"))
            .filter(n__gt=0)  # rows emptied by deletions stay until a rebuild
        )
        if ends_early:
            rows += _logged_per_week(user, filters, weeks[-1], last_day)
        for row in rows:
            row["created_by_id"] = row["created_by_id"] or None
    else:
        rows = _logged_per_week(user, filters, first_week, last_day)
    people: dict = {}
    for r in rows:  # at most people × 12 grouped rows, not interactions
        person = people.setdefault(r["created_by_id"], {"user_id": r["created_by_id"], "weeks": {}})
        week = r["week"]
        week = timezone.localdate(week) if isinstance(week, datetime) else week
        person["weeks"][week] = person["weeks"].get(week, 0) + r["n"]
    # Names in a second, small query: joining users into the big grouping costs more.
    names = {
        u.pk: str(u) for u in User.objects.filter(pk__in=[pk for pk in people if pk is not None])
    }
    for pk, person in people.items():
        person["name"] = names.get(pk, "Unknown")
    result = []
    for person in people.values():
        counts = [person["weeks"].get(week, 0) for week in weeks]
        result.append(
            {
                "user_id": person["user_id"],
                "name": person["name"],
                "counts": counts,
                "total": sum(counts),
                "per_week": round(sum(counts) / WEEKS, 1),
            }
        )
    result.sort(key=lambda p: (-p["total"], p["name"]))
    return {
        "weeks": weeks,
        "people": result[:max_people],
        "more_people": max(0, len(result) - max_people),
        "max": max((max(p["counts"]) for p in result), default=0),
    }


def _logged_per_week(user, filters: DashboardFilters, first_day: date, last_day: date) -> list:
    return list(
        Interaction.objects.filter(
            _scope(user, filters, "relationship__"),
            created_at__gte=_day_start(first_day),
            created_at__lt=_day_start(last_day + timedelta(days=1)),
        )
        .annotate(week=TruncWeek("created_at"))
        .values("week", "created_by_id")
        .annotate(n=Count("id"))
        .order_by()
    )


def key_relationship_load(user, filters: DashboardFilters) -> dict:
    """Managers carrying more active key relationships than the configured limit."""
    return _key_relationship_load(user, filters, key_relationship_limit())


@cached_figure("relationships")
def _key_relationship_load(user, filters: DashboardFilters, limit: int) -> dict:
    rows = (
        relationships_in_scope(user, filters)
        .filter(ACTIVE, is_key=True, manager__isnull=False)
        .values("manager_id", "manager__username", "manager__first_name", "manager__last_name")
        .annotate(key_relationships=Count("id"))
        .filter(key_relationships__gt=limit)
        .order_by("-key_relationships", "manager__username")
    )
    return {
        "limit": limit,
        "managers": [
            {
                "manager_id": r["manager_id"],
                "name": f"{r['manager__first_name']} {r['manager__last_name']}".strip()
                or r["manager__username"],
                "key_relationships": r["key_relationships"],
            }
            for r in rows
        ],
    }


# --- Value ----------------------------------------------------------------------------


@cached_figure("relationships", "value")
def value_summary(user, filters: DashboardFilters) -> dict:
    """Value this period vs the previous one: quantitative kinds summed per unit, qualitative
    records counted. One grouped query."""
    current = Q(recorded_on__gte=filters.start, recorded_on__lte=filters.end)
    previous = Q(recorded_on__gte=filters.previous_start, recorded_on__lte=filters.previous_end)
    rows = (
        ValueRecord.objects.filter(
            _scope(user, filters, "relationship__"),
            recorded_on__gte=filters.previous_start,
            recorded_on__lte=filters.end,
        )
        .values("kind", "unit")
        .annotate(
            current=Sum("amount", filter=current),
            previous=Sum("amount", filter=previous),
            current_records=Count("id", filter=current),
            previous_records=Count("id", filter=previous),
        )
        .order_by("kind", "unit")
    )
    labels = dict(ValueRecord.Kind.choices)
    kinds, units, qualitative = [], {}, {"current": 0, "previous": 0}
    for r in rows:  # one row per kind and unit
        if r["kind"] == ValueRecord.Kind.QUALITATIVE:
            qualitative["current"] += r["current_records"]
            qualitative["previous"] += r["previous_records"]
            continue
        unit = r["unit"] or "(no unit)"
        entry = {
            "kind": r["kind"],
            "kind_label": labels.get(r["kind"], r["kind"]),
            "unit": unit,
            "current": r["current"] or ZERO,
            "previous": r["previous"] or ZERO,
            "current_records": r["current_records"],
            "previous_records": r["previous_records"],
        }
        kinds.append(entry)
        total = units.setdefault(
            unit, {"unit": unit, "current": ZERO, "previous": ZERO, "records": 0}
        )
        total["current"] += entry["current"]
        total["previous"] += entry["previous"]
        total["records"] += entry["current_records"] + entry["previous_records"]
    for total in units.values():
        total["change"] = (
            _round(100 * (total["current"] - total["previous"]) / total["previous"])
            if total["previous"]
            else None
        )
    by_unit = sorted(units.values(), key=lambda u: (-u["records"], u["unit"]))
    return {
        "kinds": kinds,
        "units": by_unit,
        "qualitative": qualitative,
        "main_unit": by_unit[0]["unit"] if by_unit else "",
    }


def _trend_months(filters: DashboardFilters) -> list[date]:
    last = _month_start(filters.end)
    months = [last]
    while len(months) < TREND_MONTHS:
        months.append(_month_start(months[-1] - timedelta(days=1)))
    return list(reversed(months))


@cached_figure("relationships", "value")
def value_trend(user, filters: DashboardFilters, max_units: int = 3) -> dict:
    """Quantitative value per month and unit over the 12 months ending with the period."""
    months = _trend_months(filters)
    rows = (
        ValueRecord.objects.filter(
            _scope(user, filters, "relationship__"),
            recorded_on__gte=months[0],
            recorded_on__lte=_month_end(months[-1]),
        )
        .exclude(kind=ValueRecord.Kind.QUALITATIVE)
        .annotate(month=TruncMonth("recorded_on"))
        .values("month", "unit")
        .annotate(total=Sum("amount"), records=Count("id"))
        .order_by()
    )
    units: dict[str, dict] = {}
    for r in rows:
        unit = r["unit"] or "(no unit)"
        entry = units.setdefault(unit, {"unit": unit, "records": 0, "months": {}})
        entry["records"] += r["records"]
        month = r["month"]
        month = month.date() if isinstance(month, datetime) else month
        entry["months"][month] = entry["months"].get(month, ZERO) + (r["total"] or ZERO)
    series = sorted(units.values(), key=lambda u: (-u["records"], u["unit"]))
    return {
        "months": months,
        "series": [
            {"unit": s["unit"], "values": [s["months"].get(m, ZERO) for m in months]}
            for s in series[:max_units]
        ],
        "more_units": [s["unit"] for s in series[max_units:]],
    }


# --- Satisfaction ---------------------------------------------------------------------


def _on_five(feedback_average: float | None) -> float | None:
    # FeedbackResponse.satisfaction_on_five: 0–10 mapped onto the review's 1–5 scale.
    return None if feedback_average is None else 1 + feedback_average * 0.4


@cached_figure("relationships", "satisfaction")
def satisfaction(user, filters: DashboardFilters) -> dict:
    """Stakeholder feedback (0–10) and completed reviews' overall rating (1–5) in the period,
    and both combined on the 1–5 scale, weighted by the number of answers. Two queries."""
    feedback = FeedbackResponse.objects.filter(
        _scope(user, filters, "relationship__"),
        submitted_at__gte=_day_start(filters.start),
        submitted_at__lt=_day_start(filters.end + timedelta(days=1)),
    ).aggregate(
        responses=Count("id"),
        average=Avg("satisfaction"),
        promoters=Count("id", filter=Q(satisfaction__gte=9)),
        detractors=Count("id", filter=Q(satisfaction__lte=6)),
    )
    reviews = Review.objects.filter(
        _scope(user, filters, "relationship__"),
        status=Review.Status.COMPLETED,
        completed_on__gte=filters.start,
        completed_on__lte=filters.end,
        overall__isnull=False,
    ).aggregate(reviews=Count("id"), average=Avg("overall"))
    responses, reviewed = feedback["responses"], reviews["reviews"]
    combined = None
    if responses or reviewed:
        total = (_on_five(feedback["average"]) or 0) * responses + (
            float(reviews["average"] or 0) * reviewed
        )
        combined = round(total / (responses + reviewed), 2)
    return {
        "feedback_responses": responses,
        "feedback_average": _round(feedback["average"]),
        "net_score": round(100 * (feedback["promoters"] - feedback["detractors"]) / responses)
        if responses
        else None,
        "reviews": reviewed,
        "review_average": _round(reviews["average"]),
        "combined_on_five": combined,
    }


@cached_figure("relationships", "satisfaction")
def satisfaction_trend(user, filters: DashboardFilters) -> dict:
    """Monthly averages over the 12 months ending with the period: two grouped queries."""
    months = _trend_months(filters)
    since, until = months[0], _month_end(months[-1])
    feedback = (
        FeedbackResponse.objects.filter(
            _scope(user, filters, "relationship__"),
            submitted_at__gte=_day_start(since),
            submitted_at__lt=_day_start(until + timedelta(days=1)),
        )
        .annotate(month=TruncMonth("submitted_at"))
        .values("month")
        .annotate(average=Avg("satisfaction"), n=Count("id"))
        .order_by()
    )
    reviews = (
        Review.objects.filter(
            _scope(user, filters, "relationship__"),
            status=Review.Status.COMPLETED,
            completed_on__gte=since,
            completed_on__lte=until,
            overall__isnull=False,
        )
        .annotate(month=TruncMonth("completed_on"))
        .values("month")
        .annotate(average=Avg("overall"), n=Count("id"))
        .order_by()
    )

    def by_month(rows) -> dict:
        result = {}
        for r in rows:
            month = r["month"]
            month = timezone.localdate(month) if isinstance(month, datetime) else month
            result[month.replace(day=1)] = (float(r["average"]), r["n"])
        return result

    fb, rv = by_month(feedback), by_month(reviews)
    points = []
    for month in months:
        f_avg, f_n = fb.get(month, (None, 0))
        r_avg, r_n = rv.get(month, (None, 0))
        combined = None
        if f_n or r_n:
            combined = round(((_on_five(f_avg) or 0) * f_n + (r_avg or 0) * r_n) / (f_n + r_n), 2)
        points.append(
            {
                "month": month,
                "feedback_average": _round(f_avg),
                "feedback_responses": f_n,
                "review_average": _round(r_avg),
                "reviews": r_n,
                "combined_on_five": combined,
            }
        )
    return {"months": months, "points": points}


# --- Stakeholder map ------------------------------------------------------------------


def stakeholder_map(user, filters: DashboardFilters, unit: str, limit: int = MAP_DOT_LIMIT):
    """Power × interest (1–5 each): the ``limit`` most valuable stakeholders as dots, and
    per-cell counts of all of them. Two grouped queries (four small ones on the tallies)."""
    if tallies_serve(filters):
        dots, cells = _map_from_tallies(user, filters, unit, limit)
    else:
        dots, cells = _map_raw(user, filters, unit, limit)
    return _map_result(dots, cells, unit, limit)


MAPPED = Q(stakeholder__power__isnull=False, stakeholder__interest__isnull=False)
PLACE_FIELDS = ("stakeholder__name", "stakeholder__power", "stakeholder__interest")
DOT_FIELDS = ("stakeholder_id", *PLACE_FIELDS)


def _ranked_dots(dots: list[dict], value_of: dict, present: QuerySet, limit: int) -> list[dict]:
    """The valued stakeholders' dots, most valuable first (ties by name), then, if places
    are left (a small database), the rest of ``present`` by name; with value and health."""
    dots = sorted(
        dots,
        key=lambda d: (-value_of[d["stakeholder_id"]], d["stakeholder__name"], d["stakeholder_id"]),
    )[:limit]
    if len(dots) < limit:
        dots += list(
            present.exclude(stakeholder_id__in=list(value_of))
            .values(*DOT_FIELDS)
            .annotate(relationships=Sum("relationships"), health_total=Sum("health_total"))
            .order_by("stakeholder__name", "stakeholder_id")[: limit - len(dots)]
        )
    for dot in dots:
        dot["value"] = value_of.get(dot["stakeholder_id"], ZERO)
        dot["health"] = dot["health_total"] / dot["relationships"]
    return dots


def _map_from_tallies(user, filters: DashboardFilters, unit: str, limit: int):
    if filters.team is None and user.is_active:
        return _map_from_reach(user, filters, unit, limit)
    # One team's slices: as many rows as that team has stakeholders.
    present = _tally(StakeholderTally, user, filters).filter(MAPPED, relationships__gt=0)
    valued = list(
        _tally(StakeholderValueTally, user, filters)
        .filter(MAPPED, unit=unit)
        .values("stakeholder_id")
        .annotate(value=Sum("amount"))
        .filter(value__gt=0)
        .order_by("-value", "stakeholder__name", "stakeholder_id")
        .values_list("stakeholder_id", "value")[:limit]
    )
    value_of = dict(valued)
    # The most valuable first, then (as the raw query's ties at zero) by name.
    dots = list(
        present.filter(stakeholder_id__in=list(value_of))
        .values(*DOT_FIELDS)
        .annotate(relationships=Sum("relationships"), health_total=Sum("health_total"))
    )
    dots = _ranked_dots(dots, value_of, present, limit)
    cells = [
        cell | {"health": cell["health_total"] / cell["relationships"]}
        for cell in present.values("stakeholder__power", "stakeholder__interest").annotate(
            stakeholders=Count("stakeholder_id", distinct=True),
            relationships=Sum("relationships"),
            health_total=Sum("health_total"),
        )
    ]
    return dots, cells


def _map_from_reach(user, filters: DashboardFilters, unit: str, limit: int):
    """The map without a team filter, from the reach tallies: a viewer who reads everything
    reads the "all" reach; anyone else the "open" one plus their own confidential slices
    (their teams' and the ones they manage), which are few. The cells are 25 rows and the
    most valuable stakeholders the top of an index, however many the database holds."""
    present = _tally(StakeholderTally, user, filters).filter(MAPPED, relationships__gt=0)
    if permissions.reads_everything(user):
        reach, own_confidential = Reach.ALL, Q(pk__in=[])
    else:
        reach, own_confidential = Reach.OPEN, permissions.confidential_tally_scope(user)

    # Value: the reach's top, widened by one place per stakeholder the viewer's confidential
    # slices add to (each can push at most one of the top below the rest: amounts may be
    # negative) and by the ties of the last place (they may win on their name); plus those
    # stakeholders, with their reach value beside. Their visible totals are then exact.
    ranked = StakeholderReachValueTally.objects.filter(reach=reach, unit=unit)
    named: dict[int, dict] = {}  # the stakeholders' names and places, read on the way
    confidential_value = {}
    for row in (
        StakeholderValueTally.objects.filter(own_confidential, MAPPED, unit=unit)
        .values("stakeholder_id", *PLACE_FIELDS)
        .annotate(
            amount=Sum("amount"),
            reach_amount=Subquery(
                ranked.filter(stakeholder_id=OuterRef("stakeholder_id")).values("amount")[:1]
            ),
        )
    ):
        confidential_value[row["stakeholder_id"]] = (row["amount"], row["reach_amount"] or ZERO)
        named[row["stakeholder_id"]] = row
    places = limit + len(confidential_value)
    ranked = ranked.filter(MAPPED)
    last_place = ranked.order_by("-amount").values("amount")[places - 1 : places]
    reach_value = {}
    for row in ranked.filter(
        amount__gt=0, amount__gte=Coalesce(Subquery(last_place, output_field=MONEY), Value(ZERO))
    ).values("stakeholder_id", "amount", *PLACE_FIELDS):
        reach_value[row["stakeholder_id"]] = row["amount"]
        named[row["stakeholder_id"]] = row
    for pk, (_, reach_amount) in confidential_value.items():
        reach_value.setdefault(pk, reach_amount)
    value_of = {
        pk: amount + (confidential_value[pk][0] if pk in confidential_value else ZERO)
        for pk, amount in reach_value.items()
    }
    value_of = {pk: amount for pk, amount in value_of.items() if amount > 0}
    # Summed without joining stakeholders (that leads PostgreSQL to read the whole table):
    # the names came with the values.
    dots = [
        dict(row, **{field: named[row["stakeholder_id"]][field] for field in PLACE_FIELDS})
        for row in _tally(StakeholderTally, user, filters)
        .filter(stakeholder_id__in=list(value_of), relationships__gt=0)
        .values("stakeholder_id")
        .annotate(relationships=Sum("relationships"), health_total=Sum("health_total"))
    ]
    dots = _ranked_dots(dots, value_of, present, limit)

    # The reach's cells, and what the viewer's confidential slices add to them: their
    # relationships, and the stakeholders not already counted through an open one.
    counted = StakeholderReachTally.objects.filter(
        stakeholder_id=OuterRef("stakeholder_id"), reach=Reach.OPEN, relationships__gt=0
    )
    added = (
        StakeholderTally.objects.filter(own_confidential, MAPPED, relationships__gt=0)
        .values("stakeholder__power", "stakeholder__interest")
        .annotate(
            new_stakeholders=Count("stakeholder_id", distinct=True, filter=~Exists(counted)),
            more_relationships=Sum("relationships"),
            more_health=Sum("health_total"),
        )
        .values_list(
            "stakeholder__power",
            "stakeholder__interest",
            "new_stakeholders",
            "more_relationships",
            "more_health",
        )
        .order_by()
    )
    cells: dict[tuple, dict] = {}
    for power, interest, stakeholders, relationships, health_total in (
        MapCellTally.objects.filter(reach=reach, relationships__gt=0)
        .values_list("power", "interest", "stakeholders", "relationships", "health_total")
        .union(added, all=True)
    ):
        cell = cells.setdefault(
            (power, interest), {"stakeholders": 0, "relationships": 0, "health_total": 0}
        )
        cell["stakeholders"] += stakeholders
        cell["relationships"] += relationships
        cell["health_total"] += health_total
    return dots, [
        {
            "stakeholder__power": power,
            "stakeholder__interest": interest,
            "stakeholders": cell["stakeholders"],
            "health": cell["health_total"] / cell["relationships"],
        }
        for (power, interest), cell in cells.items()
    ]


def _map_raw(user, filters: DashboardFilters, unit: str, limit: int):
    base = relationships_in_scope(user, filters).filter(
        ACTIVE, stakeholder__power__isnull=False, stakeholder__interest__isnull=False
    )
    value = (
        ValueRecord.objects.filter(relationship=OuterRef("pk"), unit=unit)
        .exclude(kind=ValueRecord.Kind.QUALITATIVE)
        .order_by()
        .values("relationship")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = DecimalField(max_digits=16, decimal_places=2)
    dots = list(
        base.annotate(rel_value=Coalesce(Subquery(value, output_field=money), Value(ZERO)))
        .values(
            "stakeholder_id",
            "stakeholder__name",
            "stakeholder__power",
            "stakeholder__interest",
        )
        .annotate(
            value=Sum("rel_value", output_field=money),
            health=Avg("health_score"),
            relationships=Count("id"),
        )
        .order_by("-value", "stakeholder__name", "stakeholder_id")[:limit]
    )
    cells = (
        base.values("stakeholder__power", "stakeholder__interest")
        .annotate(stakeholders=Count("stakeholder_id", distinct=True), health=Avg("health_score"))
        .order_by()
    )
    return dots, cells


def _map_result(dots: list[dict], cells, unit: str, limit: int) -> dict:
    drawn: dict[tuple[int, int], int] = {}
    for d in dots:
        key = (d["stakeholder__power"], d["stakeholder__interest"])
        drawn[key] = drawn.get(key, 0) + 1
    cell_rows = []
    for c in cells:
        key = (c["stakeholder__power"], c["stakeholder__interest"])
        cell_rows.append(
            {
                "power": key[0],
                "interest": key[1],
                "stakeholders": c["stakeholders"],
                "not_drawn": c["stakeholders"] - drawn.get(key, 0),
                "health": _round(c["health"]),
            }
        )
    cell_rows.sort(key=lambda c: (-c["power"], c["interest"]))
    return {
        "unit": unit,
        "limit": limit,
        "dots": [
            {
                "stakeholder_id": d["stakeholder_id"],
                "name": d["stakeholder__name"],
                "power": d["stakeholder__power"],
                "interest": d["stakeholder__interest"],
                "value": d["value"] or ZERO,
                "health": _round(d["health"]),
                "band": band_of(d["health"]),
                "relationships": d["relationships"],
            }
            for d in dots
        ],
        "cells": cell_rows,
        "stakeholders": sum(c["stakeholders"] for c in cell_rows),
        "not_drawn": sum(c["not_drawn"] for c in cell_rows),
    }


# --- Objective cascade ----------------------------------------------------------------


def objective_cascade(user, filters: DashboardFilters, depth: int = 1, limit: int = 30):
    """The top levels of the objective cascade with rolled-up progress (cached by plans).
    Objectives are organisation-wide, so the filters do not narrow them."""
    return cascade_top_levels(depth=depth, limit=limit)


# --- The whole page -------------------------------------------------------------------


# Figures whose query reads the whole interaction table or every stakeholder: the page loads
# them after it has answered (HTMX), the print view and the API compute them inline.
DEFERRED = frozenset({"weekly", "map"})


def dashboard_figures(user, filters: DashboardFilters, skip: frozenset = frozenset()) -> dict:
    """Every figure of the executive dashboard (but ``skip``), in a fixed number of queries,
    computed for each request: the counts come from the tallies PostgreSQL keeps current,
    so there is no cache to go stale or cold."""
    value = value_summary(user, filters)
    figures = {
        "filters": {
            "start": filters.start,
            "end": filters.end,
            "previous_start": filters.previous_start,
            "previous_end": filters.previous_end,
            "period": filters.period,
            "team": filters.team.pk if filters.team else None,
            "category": filters.category.pk if filters.category else None,
            "type": filters.type.pk if filters.type else None,
        },
        "value": value,
    }
    parts = {
        "portfolio": lambda: portfolio(user, filters),
        "ended": lambda: ended_relationships(user, filters),
        "unmanaged": lambda: unmanaged_relationships(user, filters),
        "reviews": lambda: review_figures(user, filters),
        "adoption": lambda: adoption_by_team(user, filters),
        "weekly": lambda: interactions_per_week(user, filters),
        "key_load": lambda: key_relationship_load(user, filters),
        "value_trend": lambda: value_trend(user, filters),
        "satisfaction": lambda: satisfaction(user, filters),
        "satisfaction_trend": lambda: satisfaction_trend(user, filters),
        "map": lambda: stakeholder_map(user, filters, value["main_unit"]),
        "cascade": lambda: objective_cascade(user, filters),
    }
    for name, compute in parts.items():
        if name not in skip:
            figures[name] = compute()
    return figures


# --- The manager's home ---------------------------------------------------------------


HOME_UNSHOWN_FIELDS = (
    "health_reasons",
    "health_lifts",
    "purpose",
    "end_reason",
    "partnering_session_notes",
    "manager_rating_note",
)


def _my_relationships(user, prefix: str = "") -> Q:
    """Whose relationships "mine" means: contributors work on their teams' relationships;
    everyone else on those they manage."""
    if user.role == Role.CONTRIBUTOR:
        return Q(**{f"{prefix}team_id__in": permissions.team_ids(user)})
    return Q(**{f"{prefix}manager_id": user.pk})


def home_overview(user, today: date, lookahead_days: int = 14, limit: int = 50) -> dict:
    """The start of a manager's day, in a fixed number of queries (each served by an index
    on the manager, the reviewer or the owner, so it costs what the page shows)."""
    mine = _my_relationships(user)
    mine_via = _my_relationships(user, prefix="relationship__")
    # "Mine" and "asked of me" are fetched separately and merged: one OR across the join
    # would keep PostgreSQL from using the manager and reviewer indexes.
    asked = Review.reviewers.through.objects.filter(user_id=user.pk).values("review_id")
    open_reviews = with_state(reviews_visible_to(user), today).filter(
        status=Review.Status.SCHEDULED, due_on__lte=today + timedelta(days=lookahead_days)
    )
    reviews = {
        review.pk: review
        for part in (open_reviews.filter(mine_via), open_reviews.filter(pk__in=asked))
        for review in part.order_by("due_on", "id")[:limit]
    }
    reviews = sorted(reviews.values(), key=lambda r: (r.due_on, r.pk))[:limit]

    open_commitments = (
        commitments_visible_to(user)
        .filter(status=Commitment.Status.OPEN)
        .annotate(
            overdue_first=Case(
                When(due_on__lt=today, then=Value(0)),
                When(due_on__isnull=True, then=Value(2)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
    )
    order = ("overdue_first", "due_on", "id")
    commitments = {
        commitment.pk: commitment
        for part in (open_commitments.filter(owner_id=user.pk), open_commitments.filter(mine_via))
        for commitment in part.order_by(*order)[:limit]
    }
    commitments = sorted(
        commitments.values(),
        key=lambda c: (c.overdue_first, c.due_on is None, c.due_on or today, c.pk),
    )[:limit]
    for commitment in commitments:
        commitment.overdue = commitment.is_overdue(today)

    quiet_cutoff = today - timedelta(days=quiet_days())
    relationships_qs = relationships_visible_to(user).filter(mine, ACTIVE)
    relationships = list(
        # Only what the page shows (and may_change_relationship reads): the long text and
        # JSON columns would cost more to load than the rest of the page.
        relationships_qs.defer(*HOME_UNSHOWN_FIELDS)
        .annotate(
            quiet=Case(
                When(last_interaction_on__isnull=True, then=Value(True)),
                When(last_interaction_on__lt=quiet_cutoff, then=Value(True)),
                default=Value(False),
            ),
        )
        .order_by("health_score", "stakeholder__name", "id")[:limit]
    )
    totals = relationships_qs.order_by().aggregate(
        total=Count("id"),
        quiet=Count(
            "id",
            filter=Q(last_interaction_on__isnull=True) | Q(last_interaction_on__lt=quiet_cutoff),
        ),
    )

    # Recent activity: the latest interactions and stage changes across my relationships.
    activity_limit = 15
    interactions = list(
        Interaction.objects.filter(mine_via, permissions.relationship_scope(user, "relationship__"))
        .select_related("relationship__stakeholder", "created_by")
        .order_by("-created_at", "-id")[:activity_limit]
    )
    transitions = list(
        StageTransition.objects.filter(
            mine_via, permissions.relationship_scope(user, "relationship__")
        )
        .select_related("relationship__stakeholder", "by")
        .order_by("-at", "-id")[:activity_limit]
    )
    activity = [
        {"kind": "interaction", "at": i.created_at, "item": i, "relationship": i.relationship}
        for i in interactions
    ] + [
        {"kind": "transition", "at": t.at, "item": t, "relationship": t.relationship}
        for t in transitions
    ]
    activity.sort(key=lambda a: a["at"], reverse=True)
    return {
        "overdue_reviews": [r for r in reviews if r.state == "overdue"],
        "due_reviews": [r for r in reviews if r.state != "overdue"],
        "lookahead_days": lookahead_days,
        "commitments": commitments,
        "relationships": relationships,
        "relationship_total": totals["total"],
        "quiet_total": totals["quiet"],
        "quiet_days": quiet_days(),
        "activity": activity[:activity_limit],
        "limit": limit,
    }
