"""Documented 400s match the real ones. A 400 is either a business rule's
``{code, detail, field?, problems?}`` or DRF's field errors ``{"<field>": ["message"]}``;
every operation documents it with the one ApiError schema, all of whose properties are
optional, so both shapes conform (they did not: the token endpoint required ``detail``, the
dashboard ``field``, the plans and reviews writes ``code``)."""

from __future__ import annotations

import jsonschema
import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from reviews.models import Review
from tests.factories import RelationshipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def document() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _resolve(node, document: dict):
    """The schema with its $refs inlined and OpenAPI's ``nullable`` as JSON Schema."""
    if isinstance(node, list):
        return [_resolve(item, document) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _resolve(document["components"]["schemas"][node["$ref"].split("/")[-1]], document)
    resolved = {key: _resolve(value, document) for key, value in node.items()}
    if resolved.pop("nullable", False) and "type" in resolved:
        resolved["type"] = [resolved["type"], "null"]
    return resolved


def _documented(document: dict, path: str, method: str, status: int) -> dict:
    response = document["paths"][path][method]["responses"][str(status)]
    return _resolve(response["content"]["application/json"]["schema"], document)


def test_error_schemas_require_nothing(document):
    schemas = document["components"]["schemas"]
    for name in ("ApiError", "Problem", "ConflictError"):
        assert not schemas[name].get("required"), name
    for gone in ("BusinessRuleError", "TokenError", "DashboardFilterErrors"):
        assert gone not in schemas


def test_every_documented_4xx_is_one_of_the_shared_error_schemas(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith("4"):
                    continue
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                assert schema in (
                    {"$ref": "#/components/schemas/ApiError"},
                    {"$ref": "#/components/schemas/ConflictError"},
                ), (method, path, status)


@pytest.fixture
def review(team_a, manager_a):
    relationship = RelationshipFactory(team=team_a, manager=manager_a, stage="review")
    review = Review.objects.filter(relationship=relationship).first()
    return review or Review.objects.create(relationship=relationship, due_on=timezone.localdate())


def _calls(review) -> list[tuple[str, str, str, dict]]:
    """(method, documented path, url, body): each answers 400."""
    return [
        ("post", "/api/v1/auth/token/", "/api/v1/auth/token/", {}),
        ("post", "/api/v1/auth/token/", "/api/v1/auth/token/", {"username": "x", "password": "y"}),
        ("get", "/api/v1/dashboard/", "/api/v1/dashboard/?period=nope", {}),
        ("get", "/api/v1/dashboard/", "/api/v1/dashboard/?period=custom", {}),
        ("post", "/api/v1/objectives/", "/api/v1/objectives/", {}),
        ("post", "/api/v1/objectives/", "/api/v1/objectives/", {"title": "x", "level": 10**30}),
        ("post", "/api/v1/plans/", "/api/v1/plans/", {}),
        ("post", "/api/v1/initiatives/", "/api/v1/initiatives/", {}),
        ("post", "/api/v1/feedback-requests/", "/api/v1/feedback-requests/", {}),
        ("post", "/api/v1/reviews/start/", "/api/v1/reviews/start/", {}),
        (
            "post",
            "/api/v1/reviews/{id}/reviewers/",
            f"/api/v1/reviews/{review.pk}/reviewers/",
            {"reviewer": -1},
        ),
    ]


def test_real_400s_match_the_documented_schema(as_user, manager_a, review, document):
    api = as_user(manager_a)
    for method, path, url, body in _calls(review):
        response = api.get(url) if method == "get" else api.post(url, body, format="json")
        assert response.status_code == 400, (url, response.content)
        jsonschema.validate(response.json(), _documented(document, path, method, 400))
