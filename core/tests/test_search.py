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


# --- Names and e-mails: accents, case, prefix, ranking -----------------------------------


def test_search_ignores_accents_and_case_in_names_and_emails(client, manager_a):
    StakeholderFactory(name="Société Générale")
    ContactFactory(name="Hélène Dupont", email="h.dupont@banque.example")
    zurich = RelationshipFactory(stakeholder=StakeholderFactory(name="Zürich Versicherung"))
    client.force_login(manager_a)

    results = client.get(reverse("search"), {"q": "societe"}).context["results"]
    assert [s.name for s in results.stakeholders] == ["Société Générale"]
    results = client.get(reverse("search"), {"q": "HELENE"}).context["results"]
    assert [c.name for c in results.contacts] == ["Hélène Dupont"]
    results = client.get(reverse("search"), {"q": "DUPONT@BANQUE"}).context["results"]
    assert [c.name for c in results.contacts] == ["Hélène Dupont"]
    results = client.get(reverse("search"), {"q": "ZURICH"}).context["results"]
    assert results.relationships == [zurich]
    assert [s.name for s in results.stakeholders] == ["Zürich Versicherung"]


def test_search_lists_exact_then_prefix_then_word_then_inner_name_matches(client, manager_a):
    for name in ["Theron Ltd", "The Heron Group", "Heronsgate Trust", "Heron", "Blue Heron"]:
        StakeholderFactory(name=name)
    StakeholderFactory(name="Plain Org", description="Watched a heron fly by")
    client.force_login(manager_a)
    results = client.get(reverse("search"), {"q": "heron"}).context["results"]
    assert [s.name for s in results.stakeholders] == [
        "Heron",  # the whole name
        "Heronsgate Trust",  # the name starts with it
        "Blue Heron",  # a word starts with it, then by name
        "The Heron Group",
        "Plain Org",  # elsewhere (the description), then by name
        "Theron Ltd",
    ]


def test_a_short_search_matches_where_words_start(client, manager_a):
    StakeholderFactory(name="Zürich Versicherung")
    StakeholderFactory(name="Bazur Holdings")
    client.force_login(manager_a)
    results = client.get(reverse("search"), {"q": "zu"}).context["results"]
    assert [s.name for s in results.stakeholders] == ["Zürich Versicherung"]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("x" * 500, "at most 200 characters"),
        ("?! …", "Type letters or digits to search."),
        ("a", "Type at least two characters."),
    ],
)
def test_a_search_it_cannot_run_says_why(client, manager_a, query, message):
    StakeholderFactory(name="x" * 200)
    client.force_login(manager_a)
    response = client.get(reverse("search"), {"q": query})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["results"].total == 0
    fragment = client.get(reverse("search"), {"q": query}, headers={"HX-Request": "true"})
    assert message in fragment.content.decode()


def test_a_nul_character_in_the_search_answers_400_naming_q(client, manager_a):
    client.force_login(manager_a)
    response = client.get(reverse("search"), {"q": "heron\x00"})
    assert response.status_code == 400
    assert "“q”" in response.content.decode()


def test_a_name_search_does_not_reveal_confidential_relationships(
    client, manager_a, contributor_a, executive, world
):
    for user in (manager_a, contributor_a):
        client.force_login(user)
        response = client.get(reverse("search"), {"q": "SECRET hold"})
        assert world["secret"] not in response.context["results"].relationships
        assert world["secret"].get_absolute_url() not in response.content.decode()
    client.force_login(executive)
    results = client.get(reverse("search"), {"q": "SECRET hold"}).context["results"]
    assert results.relationships == [world["secret"]]


@pytest.mark.parametrize("rows", [10, 30])
def test_an_accent_free_search_runs_a_constant_number_of_queries(
    client, manager_a, django_assert_num_queries, rows
):
    for n in range(rows):
        stakeholder = StakeholderFactory(name=f"Zürich {n}")
        RelationshipFactory(stakeholder=stakeholder)
        ContactFactory(stakeholder=stakeholder, name=f"Zoé Zürcher {n}")
    client.force_login(manager_a)
    # Session and user, relationship types, stakeholders, contacts, relationships.
    with django_assert_num_queries(6):
        results = client.get(reverse("search"), {"q": "zurich"}).context["results"]
    assert (len(results.stakeholders), len(results.relationships)) == (8, 8)
