"""GET /api/v1/dashboard/: the page's figures as JSON, for the same filters."""

from __future__ import annotations

import pytest
import time_machine
from rest_framework.test import APIClient

from dashboard.tests.fixtures import NOW, PERIOD, build_portfolio
from tests.api.conftest import field_errors

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def portfolio(manager_a, contributor_a, team_a, team_b):
    with time_machine.travel(NOW, tick=False):
        yield build_portfolio(manager_a, contributor_a, team_a, team_b)


def get(api, user, params):
    api.force_authenticate(user)
    with time_machine.travel(NOW, tick=False):
        return api.get("/api/v1/dashboard/", params)


def test_it_returns_the_figures_for_the_filters(api, portfolio, executive):
    response = get(api, executive, PERIOD)
    assert response.status_code == 200
    body = response.json()
    assert body["filters"]["start"] == "2026-01-01" and body["filters"]["end"] == "2026-03-31"
    assert body["portfolio"]["active"] == 5
    assert body["portfolio"]["retention"]["rate"] == 66.7
    assert body["reviews"] == {"overdue": 2, "due_this_month": 2, "overdue_relationships": 2}
    assert body["satisfaction"]["combined_on_five"] == 4.4
    gbp = next(u for u in body["value"]["units"] if u["unit"] == "GBP")
    assert float(gbp["current"]) == 1500
    assert {"map", "weekly", "cascade", "adoption", "value_trend"} <= set(body)


def test_a_team_filter_narrows_the_figures(api, portfolio, executive, team_b):
    body = get(api, executive, {**PERIOD, "team": team_b.pk}).json()
    assert body["portfolio"]["active"] == 1 and body["filters"]["team"] == team_b.pk


def test_a_manager_gets_only_what_they_may_see(api, portfolio, manager_b):
    body = get(api, manager_b, PERIOD).json()
    assert body["portfolio"]["active"] == 4


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "custom", "from": "2026-03-01", "to": "2026-01-01"}, "to"),
        ({"period": "forever"}, "period"),
        ({"team": "999999"}, "team"),
        ({"category": "abc"}, "category"),
    ],
)
def test_invalid_filters_are_a_400_with_the_field_error(api, executive, params, field):
    response = get(api, executive, params)
    assert response.status_code == 400
    assert field in field_errors(response)


def test_it_needs_authentication(api):
    assert api.get("/api/v1/dashboard/").status_code in (401, 403)


def test_the_schema_documents_the_parameters(api, admin_user):
    api.force_authenticate(admin_user)
    response = api.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    text = response.content.decode()
    operation = text[text.index('"/api/v1/dashboard/"') :][:6000]
    for name in ("period", "from", "to", "team", "category", "type"):
        assert f'"name":"{name}"' in operation.replace(" ", "")
    assert "DashboardFigures" in text
