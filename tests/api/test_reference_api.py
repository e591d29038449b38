"""The reference lists an integrator needs the ids of: stakeholder categories, relationship
types (and our values), read by every signed-in user, written by nobody through the API."""

from __future__ import annotations

import pytest

from relationships.models import RelationshipType
from stakeholders.models import Category, Value
from tests.api.conftest import api_error
from tests.factories import StakeholderFactory

pytestmark = pytest.mark.django_db

# (list URL, model, fields of a row, the row's expected fields)
REFERENCE = {
    "categories": (
        Category,
        ["id", "name", "position"],
        lambda row: {"id": row.pk, "name": row.name, "position": row.position},
    ),
    "relationship-types": (
        RelationshipType,
        ["id", "name", "default_review_cadence_days"],
        lambda row: {
            "id": row.pk,
            "name": row.name,
            "default_review_cadence_days": row.default_review_cadence_days,
        },
    ),
    "values": (
        Value,
        ["id", "name", "description", "weight", "active"],
        lambda row: {
            "id": row.pk,
            "name": row.name,
            "description": row.description,
            "weight": row.weight,
            "active": row.active,
        },
    ),
}


def _fill(model, count: int) -> None:
    start = model.objects.count()
    for n in range(start, start + count):
        if model is Category:
            Category.objects.create(name=f"Category {n}", position=n)
        elif model is RelationshipType:
            RelationshipType.objects.create(name=f"Type {n}", default_review_cadence_days=30)
        else:
            Value.objects.create(name=f"Value {n}", weight=1 + n % 10)


@pytest.mark.parametrize("resource", REFERENCE)
@pytest.mark.parametrize("role", ["manager_a", "contributor_a", "executive", "admin_user"])
def test_every_signed_in_role_reads_the_list_and_each_row(request, as_user, resource, role):
    model, fields, expected = REFERENCE[resource]
    _fill(model, 3)
    api = as_user(request.getfixturevalue(role), scope="read")  # a read-only token suffices
    response = api.get(f"/api/v1/{resource}/", {"page_size": 200})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == model.objects.count()
    assert [row["id"] for row in body["results"]] == list(
        model.objects.values_list("pk", flat=True)  # the forms' order: the model's ordering
    )
    first = model.objects.first()
    assert body["results"][0] == expected(first)
    detail = api.get(f"/api/v1/{resource}/{first.pk}/")
    assert detail.status_code == 200
    assert list(detail.json()) == fields
    assert detail.json() == expected(first)


@pytest.mark.parametrize("resource", REFERENCE)
def test_without_credentials_it_is_a_401_in_the_error_shape(api, resource):
    model = REFERENCE[resource][0]
    _fill(model, 1)
    for url in (f"/api/v1/{resource}/", f"/api/v1/{resource}/{model.objects.first().pk}/"):
        response = api.get(url)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert api_error(response)["code"] == "not_authenticated"


@pytest.mark.parametrize("resource", ["categories", "relationship-types"])
@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_nobody_writes_categories_or_types_through_the_api(as_user, admin_user, resource, method):
    model = REFERENCE[resource][0]
    _fill(model, 1)
    row = model.objects.first()
    before = list(model.objects.values())
    api = as_user(admin_user)
    for url in (f"/api/v1/{resource}/", f"/api/v1/{resource}/{row.pk}/"):
        response = getattr(api, method)(url, {"name": "Renamed"}, format="json")
        assert response.status_code == 405, url
        body = api_error(response)
        assert body["code"] == "method_not_allowed"
        assert "Allowed here: GET" in body["detail"]
    assert list(model.objects.values()) == before


@pytest.mark.parametrize("resource", REFERENCE)
def test_an_unknown_id_is_a_404_in_the_error_shape(as_user, manager_a, resource):
    response = as_user(manager_a).get(f"/api/v1/{resource}/999999/")
    assert response.status_code == 404
    assert api_error(response)["code"] == "not_found"


@pytest.mark.parametrize("resource", REFERENCE)
def test_search_and_ordering(as_user, manager_a, resource):
    model = REFERENCE[resource][0]
    _fill(model, 4)
    api = as_user(manager_a)
    wanted = model.objects.order_by("-pk").first()
    found = api.get(f"/api/v1/{resource}/", {"search": wanted.name}).json()["results"]
    assert [row["id"] for row in found] == [wanted.pk]
    by_id = api.get(f"/api/v1/{resource}/", {"ordering": "-id", "page_size": 200}).json()
    assert [row["id"] for row in by_id["results"]] == sorted(
        model.objects.values_list("pk", flat=True), reverse=True
    )


# The token with its user, COUNT(*), the page: however many rows there are.
QUERIES = {"categories": 3, "relationship-types": 3, "values": 3}


@pytest.mark.parametrize("resource", REFERENCE)
def test_lists_cost_the_same_queries_at_any_size(
    as_user, manager_a, resource, django_assert_num_queries
):
    """QUERIES, pinned exactly, at 30 rows more and at 60."""
    model = REFERENCE[resource][0]
    api = as_user(manager_a)
    api.get(f"/api/v1/{resource}/")  # the token's "last used" is written at most once a minute
    for added in (30, 60):
        _fill(model, added)
        with django_assert_num_queries(QUERIES[resource]):
            response = api.get(f"/api/v1/{resource}/", {"page_size": 200})
        assert response.json()["count"] == model.objects.count()


def test_the_ids_it_lists_are_the_ones_writes_and_filters_take(as_user, manager_a):
    """What the lists are for: an id read from them is accepted where it is due."""
    api = as_user(manager_a)
    category = api.get("/api/v1/categories/").json()["results"][0]["id"]
    created = api.post(
        "/api/v1/stakeholders/", {"name": "Listed Ids Ltd", "category": category}, format="json"
    )
    assert created.status_code == 201, created.json()
    assert created.json()["category"] == category
    relationship_type = api.get("/api/v1/relationship-types/").json()["results"][0]["id"]
    stakeholder = StakeholderFactory()
    opened = api.post(
        "/api/v1/relationships/",
        {"stakeholder": stakeholder.pk, "type": relationship_type},
        format="json",
    )
    assert opened.status_code == 201, opened.json()
    assert opened.json()["type"] == relationship_type
    listed = api.get("/api/v1/relationships/", {"type": relationship_type}).json()
    assert opened.json()["id"] in {row["id"] for row in listed["results"]}
