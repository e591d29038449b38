"""What the dashboard caches, and what makes it stale: the tallies are read on every view,
the slower figures are cached under the topics they read, a write makes stale exactly the
figures its events touch, and viewers who may see different relationships never share."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from dashboard import selectors
from dashboard.forms import DashboardFilterForm
from relationships.services import (
    interaction_log,
    relationship_transition,
    value_record_create,
)
from tests.factories import RelationshipFactory

pytestmark = pytest.mark.django_db


def _filters():
    return DashboardFilterForm({}, today=timezone.localdate()).filters()


def _figures(user) -> dict:
    return selectors.dashboard_figures(user, _filters())


def test_unchanged_data_costs_only_the_tallies(executive, team_b, django_assert_max_num_queries):
    RelationshipFactory(team=team_b, stage="build")
    assert _figures(executive)["portfolio"]["active"] == 1
    # Portfolio (2 tally queries on PostgreSQL, 1 raw on SQLite), adoption (+ team names),
    # weekly, the map (3), the cascade: the cached figures run none.
    with django_assert_max_num_queries(9):
        assert _figures(executive)["portfolio"]["active"] == 1


def test_logging_an_interaction_leaves_value_figures_cached(
    executive, manager_b, team_b, django_capture_on_commit_callbacks, django_assert_num_queries
):
    relationship = RelationshipFactory(team=team_b, manager=manager_b, stage="build")
    filters = _filters()
    selectors.value_summary(executive, filters)
    with django_capture_on_commit_callbacks(execute=True):
        interaction_log(
            relationship=relationship,
            by=manager_b,
            occurred_on=timezone.localdate(),
            channel="call",
            summary="Caught up",
        )
    with django_assert_num_queries(0):
        selectors.value_summary(executive, filters)


def test_recording_value_makes_the_value_figures_stale(
    executive, manager_b, team_b, django_capture_on_commit_callbacks
):
    relationship = RelationshipFactory(team=team_b, manager=manager_b, stage="build")
    filters = _filters()
    assert selectors.value_summary(executive, filters)["units"] == []
    with django_capture_on_commit_callbacks(execute=True):
        value_record_create(
            relationship=relationship,
            by=manager_b,
            recorded_on=timezone.localdate(),
            kind="revenue",
            amount=Decimal("1200"),
            unit="GBP",
        )
    units = selectors.value_summary(executive, filters)["units"]
    assert [(u["unit"], u["current"]) for u in units] == [("GBP", Decimal("1200"))]


@pytest.mark.parametrize("change", ["create", "end", "delete"])
def test_any_write_is_seen_by_the_next_view(
    change, executive, manager_b, team_b, django_capture_on_commit_callbacks
):
    relationship = RelationshipFactory(team=team_b, manager=manager_b, stage="build")
    assert _figures(executive)["portfolio"]["active"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        if change == "create":
            RelationshipFactory(team=team_b, stage="pilot")
            expected = 2
        elif change == "end":
            relationship_transition(
                relationship=relationship, to_stage="ended", by=manager_b, note="Done."
            )
            expected = 0
        else:
            relationship.delete()
            expected = 0
    figures = _figures(executive)
    assert figures["portfolio"]["active"] == expected
    if change == "end":
        assert [row["id"] for row in figures["ended"]["rows"]] == [relationship.pk]


def test_viewers_never_get_each_others_cached_figures(manager_a, manager_b, team_b):
    RelationshipFactory(team=team_b, manager=manager_b, stage="build", confidential=True)
    assert _figures(manager_b)["portfolio"]["active"] == 1
    assert _figures(manager_a)["portfolio"]["active"] == 0  # cached for b, not a's scope
    assert _figures(manager_b)["ended"] == _figures(manager_a)["ended"]


def test_an_event_on_an_unmanaged_relationship_refreshes_the_unmanaged_list(
    executive, manager_b, team_b, django_capture_on_commit_callbacks
):
    low = RelationshipFactory(team=team_b, stage="build")
    RelationshipFactory(team=team_b, stage="build", health_score=50)
    filters = _filters()
    assert [r["id"] for r in selectors.unmanaged_relationships(executive, filters)][0] == low.pk
    with django_capture_on_commit_callbacks(execute=True):
        interaction_log(
            relationship=low,
            by=manager_b,
            occurred_on=timezone.localdate(),
            channel="meeting",
            summary="Warm meeting",
            sentiment=2,
        )
    low.refresh_from_db()
    shown = {r["id"]: r["health"] for r in selectors.unmanaged_relationships(executive, filters)}
    assert shown[low.pk] == low.health_score
