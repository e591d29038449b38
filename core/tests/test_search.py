from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import ContactFactory, RelationshipFactory, StakeholderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(team_a, team_b):
    return {
        "open": RelationshipFactory(
            stakeholder=StakeholderFactory(name="Heron Logistics"), team=team_b
        ),
        "secret": RelationshipFactory(
            stakeholder=StakeholderFactory(name="Heron Secret Holdings"),
            team=team_b,
            confidential=True,
            purpose="Heron takeover",
        ),
        "contact": ContactFactory(name="Harriet Heron", role="Buyer"),
    }


def test_search_finds_stakeholders_contacts_and_relationships(client, manager_a, world):
    client.force_login(manager_a)
    response = client.get(reverse("search"), {"q": "heron"})
    results = response.context["results"]
    assert {s.name for s in results.stakeholders} >= {"Heron Logistics"}
    assert [c.name for c in results.contacts] == ["Harriet Heron"]
    assert world["open"] in results.relationships


def test_search_hides_confidential_relationships_of_other_teams(client, manager_a, world):
    client.force_login(manager_a)
    results = client.get(reverse("search"), {"q": "takeover"}).context["results"]
    assert world["secret"] not in results.relationships
    html = client.get(reverse("search"), {"q": "takeover"}).content.decode()
    assert world["secret"].get_absolute_url() not in html
    assert "Heron Secret Holdings" not in html


def test_executives_find_confidential_relationships(client, executive, world):
    client.force_login(executive)
    results = client.get(reverse("search"), {"q": "Heron"}).context["results"]
    assert world["secret"] in results.relationships


def test_htmx_search_returns_the_fragment_only(client, manager_a, world):
    client.force_login(manager_a)
    response = client.get(reverse("search"), {"q": "heron"}, headers={"HX-Request": "true"})
    html = response.content.decode()
    assert "<html" not in html
    assert "Heron Logistics" in html
    assert "HX-Request" in response["Vary"]


@pytest.mark.parametrize("query", ["", "a", "x" * 5000, "'; DROP TABLE x; --", "<script>"])
def test_odd_queries_never_fail(client, manager_a, query):
    client.force_login(manager_a)
    response = client.get(reverse("search"), {"q": query})
    assert response.status_code == 200
    assert "<script>" not in response.content.decode().split("<main", 1)[1]


def test_search_query_count_does_not_grow_with_matches(
    client, manager_a, django_assert_max_num_queries
):
    for n in range(20):
        RelationshipFactory(stakeholder=StakeholderFactory(name=f"Heron {n}"))
        ContactFactory(name=f"Heron Contact {n}")
    client.force_login(manager_a)
    with django_assert_max_num_queries(8):
        client.get(reverse("search"), {"q": "heron"})
