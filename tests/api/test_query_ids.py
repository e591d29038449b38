"""Ids in query strings: out of range, negative or unknown, they answer 400 or nothing, never
a 500 (``pk__in`` with an id beyond 64 bits was an OverflowError on SQLite). Every id filter
of every list is covered: they are read from the OpenAPI document, so a new one is too."""

from __future__ import annotations

import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from tests.api.conftest import field_errors, make_records
from tests.factories import ContactFactory, StakeholderFactory

pytestmark = pytest.mark.django_db

HUGE = "99999999999999999999999"
ODD_IDS = [HUGE, f"-{HUGE}", str(2**63), "-1", "0"]
NOT_IDS = {"page", "page_size"}


def _is_integer(parameter: dict) -> bool:
    schema = parameter.get("schema", {})
    if schema.get("type") == "array":
        schema = schema.get("items", {})
    return schema.get("type") == "integer"


def _id_parameters() -> list[tuple[str, str]]:
    document = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, operations in document["paths"].items():
        if "{" in path or "get" not in operations:
            continue
        for parameter in operations["get"].get("parameters", []):
            name = parameter["name"]
            if parameter["in"] == "query" and name not in NOT_IDS and _is_integer(parameter):
                found.append((path, name))
    return found


ID_PARAMETERS = _id_parameters()


def test_the_scan_finds_the_filters_that_overflowed():
    assert ("/api/v1/users/", "teams") in ID_PARAMETERS
    assert ("/api/v1/initiatives/", "relationships") in ID_PARAMETERS
    assert len(ID_PARAMETERS) > 15


@pytest.fixture
def manager_api(as_user, manager_a, team_a):
    make_records(team=team_a, manager=manager_a)
    return as_user(manager_a)


@pytest.mark.parametrize(("path", "name"), ID_PARAMETERS)
def test_odd_ids_in_a_filter_answer_400_or_nothing(manager_api, path, name):
    for value in ODD_IDS:
        response = manager_api.get(path, {name: value})
        assert response.status_code in (200, 400), (value, response.content)
        body = response.json()
        if response.status_code == 200 and isinstance(body, dict) and "results" in body:
            assert body["results"] == [], value


@pytest.mark.parametrize(
    ("path", "name"),
    [("/api/v1/users/", "teams"), ("/api/v1/initiatives/", "relationships")],
)
def test_a_huge_id_among_good_ones_is_a_field_error(manager_api, path, name):
    response = manager_api.get(f"{path}?{name}=1&{name}={HUGE}")
    assert response.status_code == 400
    assert name in field_errors(response)


def test_users_still_filter_by_any_of_several_teams(as_user, manager_a, manager_b, team_a, team_b):
    api = as_user(manager_a)
    both = api.get(f"/api/v1/users/?teams={team_a.pk}&teams={team_b.pk}").json()
    assert {manager_a.pk, manager_b.pk} <= {u["id"] for u in both["results"]}
    one = api.get("/api/v1/users/", {"teams": team_b.pk}).json()
    assert manager_a.pk not in {u["id"] for u in one["results"]}


@pytest.mark.parametrize("root", ["²", HUGE, "-1", "x"])
def test_the_objective_tree_refuses_an_odd_root(manager_api, root):
    response = manager_api.get("/api/v1/objectives/tree/", {"root": root})
    assert response.status_code == 400
    assert response.json()["field"] == "root"


# --- Country choices after the schema was built ----------------------------------------


def test_a_new_country_filters_after_the_schema_was_built(as_user, client, manager_a):
    # Building the schema reads the filters' form fields; they used to keep the countries
    # of that moment, so any country added later answered 400 (and the web list ignored it).
    SchemaGenerator().get_schema(request=None, public=True)
    StakeholderFactory(name="Nuuk Trust", country="Greenland")
    greenlander = StakeholderFactory(name="Ilulissat Fund", country="Greenland")
    ContactFactory(name="Aka Qaavigaq", stakeholder=greenlander)
    ContactFactory(
        name="Ola Nordmann", stakeholder=StakeholderFactory(name="Oslo", country="Norway")
    )

    api = as_user(manager_a)
    listed = api.get("/api/v1/stakeholders/", {"country": "Greenland"})
    assert listed.status_code == 200, listed.content
    assert {s["name"] for s in listed.json()["results"]} == {"Nuuk Trust", "Ilulissat Fund"}
    contacts = api.get("/api/v1/contacts/", {"country": "Greenland"})
    assert [c["name"] for c in contacts.json()["results"]] == ["Aka Qaavigaq"]

    client.force_login(manager_a)
    page = client.get(reverse("stakeholders:index"), {"country": "Greenland"})
    assert page.status_code == 200
    assert b"Nuuk Trust" in page.content
    assert b"Oslo" not in page.content
    contact_page = client.get(reverse("stakeholders:contacts"), {"country": "Greenland"})
    assert b"Aka Qaavigaq" in contact_page.content
    assert b"Ola Nordmann" not in contact_page.content
