"""The dashboard's figures are cached until the data behind them changes, and never shared
between viewers who may see different relationships."""

from __future__ import annotations

import pytest

from dashboard import selectors
from dashboard.forms import DashboardFilterForm
from relationships.services import relationship_transition
from tests.factories import RelationshipFactory

pytestmark = pytest.mark.django_db


def _active(user) -> int:
    from django.utils import timezone

    filters = DashboardFilterForm({}, today=timezone.localdate()).filters()
    return selectors.dashboard_figures(user, filters)["portfolio"]["active"]


def test_unchanged_data_is_served_from_the_cache(executive, team_b, django_assert_num_queries):
    RelationshipFactory(team=team_b, stage="build")
    assert _active(executive) == 1
    with django_assert_num_queries(0):
        assert _active(executive) == 1


@pytest.mark.parametrize("change", ["create", "end", "delete"])
def test_any_write_is_seen_by_the_next_view(change, executive, manager_b, team_b):
    relationship = RelationshipFactory(team=team_b, manager=manager_b, stage="build")
    assert _active(executive) == 1
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
    assert _active(executive) == expected


def test_viewers_never_get_each_others_cached_figures(manager_a, manager_b, team_b):
    RelationshipFactory(team=team_b, manager=manager_b, stage="build", confidential=True)
    assert _active(manager_b) == 1
    assert _active(manager_a) == 0  # cached for manager_b, but not for manager_a's scope
