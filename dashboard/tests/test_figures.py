"""Each dashboard figure against the hand-computed portfolio in fixtures.py."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from accounts.permissions import relationship_scope
from dashboard import selectors
from dashboard.forms import DashboardFilterForm, period_bounds
from dashboard.tests.fixtures import NOW, PERIOD, TODAY, build_portfolio
from relationships.models import ACTIVE_STAGES, Relationship

pytestmark = pytest.mark.django_db


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def portfolio(frozen, manager_a, contributor_a, team_a, team_b):
    return build_portfolio(manager_a, contributor_a, team_a, team_b)


def filters_for(**params):
    form = DashboardFilterForm({**PERIOD, **params}, today=TODAY)
    assert form.is_valid(), form.errors
    return form.filters()


def test_it_counts_active_relationships_and_the_stage_funnel(portfolio, executive):
    figures = selectors.portfolio(executive, filters_for())
    assert figures["active"] == 5
    stages = {s["stage"]: s["count"] for s in figures["stages"]}
    assert stages == {
        "identify": 1,
        "present": 0,
        "pilot": 1,
        "build": 2,
        "review": 1,
        "ended": 3,
    }


def test_health_average_and_distribution_cover_active_relationships_only(portfolio, executive):
    health = selectors.portfolio(executive, filters_for())["health"]
    assert health["average"] == 66.0  # (80 + 50 + 35 + 95 + 70) / 5
    buckets = {b["low"]: b["count"] for b in health["buckets"]}
    assert buckets == {0: 0, 10: 0, 20: 0, 30: 1, 40: 0, 50: 1, 60: 0, 70: 1, 80: 1, 90: 1}
    assert health["bands"] == {"good": 3, "fair": 1, "poor": 1}


def test_retention_counts_the_edge_cases_as_documented(portfolio, executive):
    retention = selectors.portfolio(executive, filters_for())["retention"]
    # At start: r1, r2 (started on the first day), r3 (ended on the last day), r6 (no
    # start date, created before), r7, r8. Not r4 (ended before), not r5 (started during).
    assert retention["active_at_start"] == 6
    # Lost: r3 (ended on the last day) and r7.
    assert retention["still_active_at_end"] == 4
    assert retention["rate"] == 66.7


def test_retention_of_an_empty_start_is_not_a_division_by_zero(portfolio, executive):
    filters = filters_for(**{"from": "2020-01-01", "to": "2020-12-31"})
    retention = selectors.portfolio(executive, filters)["retention"]
    assert retention == {"active_at_start": 0, "still_active_at_end": 0, "rate": None}


def test_adoption_windows_and_gone_quiet_respect_their_boundaries(portfolio, executive):
    figures = selectors.portfolio(executive, filters_for())
    # 30 days: r1, r6 (exactly 30 days ago). 90 days: and r2, r8.
    assert figures["contact"] == {
        "last_30_days": 2,
        "last_90_days": 4,
        "share_30": 40.0,
        "share_90": 80.0,
    }
    # Quiet after 60 days: r5 (never) and r8 (61 days), not r2 (exactly 60).
    assert figures["quiet"] == {"count": 2, "days": 60}


def test_quiet_days_come_from_settings(portfolio, executive, settings):
    settings.RAPPORT_QUIET_DAYS = 30
    # Now r2 (60 days) and r8 join r5; r6 (exactly 30 days) is not quiet.
    assert selectors.portfolio(executive, filters_for())["quiet"]["count"] == 3


def test_adoption_per_team(portfolio, executive):
    rows = {row["team"]: row for row in selectors.adoption_by_team(executive, filters_for())}
    assert rows["Team A"] | {} == {
        "team_id": rows["Team A"]["team_id"],
        "team": "Team A",
        "active": 4,
        "contacted_30": 2,
        "contacted_90": 3,
        "share_30": 50.0,
        "share_90": 75.0,
        "quiet": 1,
    }
    assert (rows["Team B"]["active"], rows["Team B"]["share_30"]) == (1, 0.0)
    assert (rows["Team B"]["share_90"], rows["Team B"]["quiet"]) == (100.0, 1)


def test_interactions_logged_per_person_per_week(portfolio, executive, manager_a):
    weekly = selectors.interactions_per_week(executive, filters_for())
    assert weekly["weeks"][0] == date(2026, 1, 12)
    assert weekly["weeks"][-1] == date(2026, 3, 30)
    people = {p["name"]: p for p in weekly["people"]}
    manager = people[str(manager_a)]
    assert manager["counts"][-2:] == [2, 1] and manager["total"] == 3
    assert manager["per_week"] == 0.2
    contributor = next(p for p in weekly["people"] if p is not manager)
    assert contributor["counts"][0] == 1 and contributor["total"] == 1  # not 11 Jan


def test_continuity_figures(portfolio, executive, manager_a, settings):
    settings.RAPPORT_KEY_RELATIONSHIP_LIMIT = 1
    figures = selectors.portfolio(executive, filters_for())
    assert figures["no_manager"] == 1
    assert [
        u["stakeholder"] for u in selectors.unmanaged_relationships(executive, filters_for())
    ] == ["Hazel Water"]
    load = selectors.key_relationship_load(executive, filters_for())
    assert load["limit"] == 1
    assert load["managers"] == [
        {"manager_id": manager_a.pk, "name": str(manager_a), "key_relationships": 2}
    ]
    settings.RAPPORT_KEY_RELATIONSHIP_LIMIT = 2
    assert selectors.key_relationship_load(executive, filters_for())["managers"] == []


def test_reviews_overdue_and_due_this_month(portfolio, executive):
    assert selectors.review_figures(executive, filters_for()) == {
        "overdue": 2,  # r1, r8
        "due_this_month": 2,  # r6 (today), r2 (20 May); not r5 (June)
        "overdue_relationships": 2,
    }


def test_value_this_period_against_the_previous_one(portfolio, executive):
    value = selectors.value_summary(executive, filters_for())
    units = {u["unit"]: u for u in value["units"]}
    assert units["GBP"]["current"] == Decimal("1500")
    assert units["GBP"]["previous"] == Decimal("700")
    assert units["GBP"]["change"] == 114.3
    assert (units["hours"]["current"], units["hours"]["change"]) == (Decimal("10"), None)
    assert value["qualitative"] == {"current": 1, "previous": 1}
    assert value["main_unit"] == "GBP"


def test_value_trend_by_month(portfolio, executive):
    trend = selectors.value_trend(executive, filters_for())
    assert trend["months"][0] == date(2025, 4, 1) and trend["months"][-1] == date(2026, 3, 1)
    gbp = next(s for s in trend["series"] if s["unit"] == "GBP")
    by_month = dict(zip(trend["months"], gbp["values"], strict=True))
    assert by_month[date(2026, 1, 1)] == 1000
    assert by_month[date(2026, 3, 1)] == 500
    assert by_month[date(2025, 12, 1)] == 700


def test_satisfaction_combines_feedback_and_reviews(portfolio, executive):
    figures = selectors.satisfaction(executive, filters_for())
    assert figures["feedback_responses"] == 2
    assert figures["feedback_average"] == 9.0
    assert figures["net_score"] == 50  # one promoter (10), no detractor, of two
    assert (figures["reviews"], figures["review_average"]) == (1, 4.0)
    # Feedback 9/10 is 4.6 of 5; (4.6 × 2 + 4 × 1) / 3 = 4.4
    assert figures["combined_on_five"] == 4.4
    trend = selectors.satisfaction_trend(executive, filters_for())
    months = {p["month"]: p for p in trend["points"]}
    assert months[date(2026, 2, 1)]["combined_on_five"] == 4.6
    assert months[date(2026, 3, 1)]["combined_on_five"] == 4.0


def test_the_stakeholder_map_caps_the_dots_and_counts_the_rest(portfolio, executive):
    data = selectors.stakeholder_map(executive, filters_for(), "GBP", limit=1)
    assert [d["name"] for d in data["dots"]] == ["Alder Trust"]
    assert data["dots"][0]["value"] == Decimal("2200")  # all its GBP records
    cells = {(c["power"], c["interest"]): c for c in data["cells"]}
    assert cells[(5, 4)]["stakeholders"] == 2 and cells[(5, 4)]["not_drawn"] == 1
    assert cells[(5, 4)]["health"] == 65.0
    assert cells[(1, 1)]["not_drawn"] == 1
    assert data["stakeholders"] == 3 and data["not_drawn"] == 2


def test_ended_relationships_with_reasons(portfolio, executive):
    ended = selectors.ended_relationships(executive, filters_for())["rows"]
    assert [(e["stakeholder"], e["reason"]) for e in ended] == [
        ("Cedar Foods", "Values no longer aligned"),
        ("Gorse Energy", "Pilot failed"),
    ]
    assert selectors.portfolio(executive, filters_for())["ended_in_period"] == 2


@pytest.mark.parametrize(
    ("params", "active", "ended"),
    [
        ({}, 5, 2),
        ({"team": "team_b"}, 1, 0),
        ({"category": "Supplier"}, 1, 0),
        ({"type": "Donor"}, 1, 0),
        ({"period": "this_month"}, 5, 0),
    ],
)
def test_filters_change_the_figures(portfolio, executive, team_b, params, active, ended):
    from relationships.models import RelationshipType
    from stakeholders.models import Category

    resolved = dict(params)
    if "team" in params:
        resolved["team"] = team_b.pk
    if "category" in params:
        resolved["category"] = Category.objects.get(name=params["category"]).pk
    if "type" in params:
        resolved["type"] = RelationshipType.objects.get(name=params["type"]).pk
    if params.get("period"):
        filters = DashboardFilterForm(resolved, today=TODAY).filters()
    else:
        filters = filters_for(**resolved)
    figures = selectors.portfolio(executive, filters)
    assert (figures["active"], figures["ended_in_period"]) == (active, ended)


def test_a_manager_only_counts_what_they_may_see(portfolio, manager_b):
    figures = selectors.portfolio(manager_b, filters_for())
    visible_active = Relationship.objects.filter(
        relationship_scope(manager_b), stage__in=ACTIVE_STAGES
    )
    assert figures["active"] == visible_active.count() == 4  # not r2, team A's confidential
    assert {s["stage"]: s["count"] for s in figures["stages"]}["build"] == 1
    assert sum(b["count"] for b in figures["health"]["buckets"]) == 4
    assert figures["health"]["average"] == 70.0  # (80 + 35 + 95 + 70) / 4
    map_data = selectors.stakeholder_map(manager_b, filters_for(), "GBP")
    assert "Birch Housing" not in [d["name"] for d in map_data["dots"]]
    assert selectors.review_figures(manager_b, filters_for())["due_this_month"] == 1


def test_a_user_with_no_visible_relationship_sees_zeros(frozen, db):
    from tests.factories import RelationshipFactory, UserFactory

    RelationshipFactory(confidential=True, stage="pilot")
    outsider = UserFactory(username="outsider", role="contributor")
    figures = selectors.dashboard_figures(outsider, filters_for())
    assert figures["portfolio"]["active"] == 0
    assert figures["portfolio"]["health"]["average"] is None
    assert figures["value"]["units"] == []


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("this_month", date(2026, 5, 1), date(2026, 5, 31)),
        ("last_month", date(2026, 4, 1), date(2026, 4, 30)),
        ("this_quarter", date(2026, 4, 1), date(2026, 6, 30)),
        ("last_quarter", date(2026, 1, 1), date(2026, 3, 31)),
        ("this_year", date(2026, 1, 1), date(2026, 12, 31)),
        ("last_12_months", date(2025, 5, 16), date(2026, 5, 15)),
    ],
)
def test_named_periods(period, start, end):
    assert period_bounds(period, TODAY) == (start, end)


def test_the_previous_period_has_the_same_length_and_ends_the_day_before():
    filters = DashboardFilterForm(PERIOD, today=TODAY).filters()
    assert (filters.previous_start, filters.previous_end) == (date(2025, 10, 3), date(2025, 12, 31))
    january = DashboardFilterForm({"period": "last_quarter"}, today=date(2026, 1, 20)).filters()
    assert (january.start, january.end) == (date(2025, 10, 1), date(2025, 12, 31))


def test_last_12_months_from_a_leap_day():
    assert period_bounds("last_12_months", date(2028, 2, 29)) == (
        date(2027, 3, 1),
        date(2028, 2, 29),
    )


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"period": "custom", "from": "2026-03-01", "to": "2026-02-01"}, "to", "on or after"),
        ({"period": "custom", "from": "2015-01-01", "to": "2026-01-01"}, "to", "five years"),
        ({"period": "custom", "from": "2026-01-01"}, "to", "both dates"),
        ({"period": "custom", "from": "yesterday", "to": "2026-01-01"}, "from", "valid date"),
        ({"period": "decade"}, "period", "valid choice"),
        ({"team": "999999"}, "team", "valid choice"),
        ({"team": "abc"}, "team", "valid choice"),
    ],
)
def test_bad_filters_get_a_clear_error_and_fall_back(db, params, field, message):
    form = DashboardFilterForm(params, today=TODAY)
    assert not form.is_valid()
    assert message in " ".join(form.errors[field])
    filters = form.filters()
    assert (filters.start, filters.end) == period_bounds("last_12_months", TODAY)
    assert filters.team is None


def test_custom_periods_up_to_five_years_are_accepted(db):
    form = DashboardFilterForm(
        {"period": "custom", "from": "2021-01-01", "to": "2025-12-31"}, today=TODAY
    )
    assert form.is_valid(), form.errors
