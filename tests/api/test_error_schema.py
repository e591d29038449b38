"""One error shape, as documented, for every refusal of every operation.

Every 4xx (and 5xx) answers ``ApiError``: ``code`` (stable), ``detail`` (for people),
``field`` (the input at fault, or null) and ``problems`` (every problem as
``{code, detail, field}``, never empty; the top level repeats the first one's code and
field). Field validation used to answer DRF's ``{"<field>": ["…"]}`` instead, and the
document promised ApiError for both (issue #16).

The bad requests are generated from the OpenAPI document, so a new operation is covered
without a line here: for each operation, no credentials (401), a read-only token on a
write (403), an id that does not exist (404), each typed query parameter with a value of
the wrong type (400, naming the parameter), a malformed JSON body, a body whose every
property has the wrong type (400, each problem naming a documented property), a form body
where JSON is due (415), and a method the path does not take (405). Each answer must have
a status the operation documents (405 excepted: no operation documents a method it has
not) and a body matching the documented schema, and the ApiError shape in full."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import jsonschema
import pytest
from django.core.cache import cache
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from events.backfill import events_backfill
from events.models import Event
from notifications.models import Notification
from plans.models import ObjectiveLevel
from plans.tests.factories import InitiativeFactory, ObjectiveFactory, PlanFactory
from relationships.models import RelationshipType
from reviews.models import FeedbackRequest, Review
from stakeholders.models import Assessment, Category, Value
from tests.api.conftest import api_error, make_records
from tests.factories import RelationshipFactory

pytestmark = pytest.mark.django_db

DOCUMENT = SchemaGenerator().get_schema(request=None, public=True)
HTTP_METHODS = ("get", "post", "put", "patch", "delete")
OPERATIONS = [
    (method, path)
    for path, operations in DOCUMENT["paths"].items()
    for method in operations
    if method in HTTP_METHODS
]
WRITES = ("post", "put", "patch", "delete")


def _resolve(node, document: dict = DOCUMENT):
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


def _documented(path: str, method: str, status: int) -> dict | None:
    response = DOCUMENT["paths"][path][method]["responses"].get(str(status))
    if response is None:
        return None
    return _resolve(response["content"]["application/json"]["schema"])


API_ERROR = _resolve({"$ref": "#/components/schemas/ApiError"})


# --- The document ------------------------------------------------------------------------------


def test_the_error_schemas_require_the_whole_shape():
    schemas = DOCUMENT["components"]["schemas"]
    assert schemas["ApiError"]["required"] == ["code", "detail", "field", "problems"]
    assert schemas["Problem"]["required"] == ["code", "detail", "field"]
    # A conflict is an ApiError that also says what the other person changed.
    assert set(schemas["ConflictError"]["required"]) == {
        "code",
        "detail",
        "field",
        "problems",
        "changes",
    }
    for gone in ("BusinessRuleError", "TokenError", "DashboardFilterErrors"):
        assert gone not in schemas


def test_every_documented_4xx_is_one_of_the_shared_error_schemas():
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if not status.startswith("4"):
                    continue
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                assert schema in (
                    {"$ref": "#/components/schemas/ApiError"},
                    {"$ref": "#/components/schemas/ConflictError"},
                ), (method, path, status)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=lambda v: str(v))
def test_every_operation_documents_the_refusals_every_operation_can_give(method, path):
    operation = DOCUMENT["paths"][path][method]
    documented = set(operation["responses"])
    expected = {"429"}
    if operation.get("security"):
        expected.add("401")
        if method in WRITES:
            expected.add("403")
    if "requestBody" in operation:
        expected |= {"400", "413", "415"}
    if "{" in path:
        expected.add("404")
    assert expected <= documented, expected - documented


# --- The records the requests name -------------------------------------------------------------


@pytest.fixture
def ids(team_a, manager_a, admin_user) -> dict[str, object]:
    """A real id of every resource, by its path's first part."""
    records = make_records(team=team_a, manager=manager_a)
    relationship = records.relationship
    review_relationship = RelationshipFactory(team=team_a, manager=manager_a, stage="review")
    review = Review.objects.filter(relationship=review_relationship).first() or (
        Review.objects.create(relationship=review_relationship, due_on=timezone.localdate())
    )
    feedback = FeedbackRequest.objects.create(
        relationship=relationship,
        contact=records.contact,
        sent_by=manager_a,
        expires_at=timezone.now() + timedelta(days=7),
    )
    objective = ObjectiveFactory(owner=manager_a)
    plan = PlanFactory(owner=manager_a)
    notification = Notification.objects.create(
        recipient=admin_user, kind="note", title="Hello", created_at=timezone.now()
    )
    events_backfill()
    return {
        "relationships": relationship.pk,
        "interactions": records.interaction.pk,
        "commitments": records.commitment.pk,
        "value-records": records.value_record.pk,
        "stakeholders": relationship.stakeholder_id,
        "contacts": records.contact.pk,
        "values": Value.objects.create(name="Candour").pk,
        "assessments": Assessment.objects.create(
            stakeholder=relationship.stakeholder,
            assessed_on=timezone.localdate(),
            assessed_by=manager_a,
            power=3,
            interest=3,
        ).pk,
        "categories": Category.objects.first().pk,
        "relationship-types": RelationshipType.objects.first().pk,
        "reviews": review.pk,
        "feedback-requests": feedback.pk,
        "objectives": objective.pk,
        "objective-levels": ObjectiveLevel.objects.first().pk,
        "plans": plan.pk,
        "initiatives": InitiativeFactory(plan=plan, objective=objective, owner=manager_a).pk,
        "notifications": notification.pk,
        "events": str(Event.objects.first().uuid),
        "users": manager_a.pk,
        "teams": team_a.pk,
    }


def _resource(path: str) -> str:
    return path.split("/")[3]


def _missing_id(path: str, method: str):
    parameter = next(p for p in DOCUMENT["paths"][path][method]["parameters"] if p["in"] == "path")
    return str(uuid.uuid4()) if parameter["schema"].get("format") == "uuid" else 999_999_999


# --- Bad requests, generated from the document -------------------------------------------------


def _bad_query_value(schema: dict):
    """A value of the wrong type for a query parameter's schema, or None (free text)."""
    if schema.get("type") == "array":
        inner = _bad_query_value(schema["items"])
        return None if inner is None else [inner]
    if "enum" in schema:
        return "not-one-of-them"
    return {
        "integer": "forty-two",
        "number": "forty-two",
        "boolean": "perhaps",
    }.get(schema.get("type")) or {
        "date": "2026-13-45",
        "date-time": "yesterday-ish",
    }.get(schema.get("format"))


def _wrong_type(schema: dict):
    """A JSON value no property of this schema accepts."""
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next(k for k in kind if k != "null")
    if kind == "array":
        return {"not": "a list"}
    if kind in ("integer", "number", "boolean"):
        return "not-a-" + kind
    if kind == "object":
        return ["not", "an", "object"]
    return {"not": "text"}  # strings, enums (also behind oneOf)


def _request_schema(path: str, method: str) -> dict | None:
    body = DOCUMENT["paths"][path][method].get("requestBody")
    if body is None:
        return None
    return _resolve(body["content"]["application/json"]["schema"])


def _check(failures: list, what: str, path: str, method: str, response, status: int) -> dict:
    """The answer has the expected status, a status the operation documents and the
    documented body, in the ApiError shape; returns the body."""
    if response.status_code != status:
        failures.append(
            f"{what}: expected {status}, got {response.status_code} {response.content[:300]!r}"
        )
        return {}
    schema = _documented(path, method, status)
    if schema is None and status != 405:
        failures.append(f"{what}: {status} is not documented")
    try:
        body = api_error(response)
        jsonschema.validate(body, schema or API_ERROR)
    except (AssertionError, jsonschema.ValidationError) as error:
        failures.append(f"{what}: not the documented ApiError: {str(error)[:400]}")
        return {}
    return body


def _url(path: str, ids: dict, method: str, *, missing: bool = False) -> str:
    if "{id}" not in path:
        return path
    value = _missing_id(path, method) if missing else ids[_resource(path)]
    return path.replace("{id}", str(value))


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=lambda v: str(v))
def test_every_bad_request_of_every_operation_answers_the_documented_api_error(
    as_user, api, admin_user, manager_a, ids, method, path
):
    operation = DOCUMENT["paths"][path][method]
    failures: list[str] = []
    call = getattr(api, method)
    cache.clear()

    # No credentials.
    if operation.get("security"):
        response = call(_url(path, ids, method), {}, format="json")
        body = _check(failures, "no credentials", path, method, response, 401)
        if body and not response.headers.get("WWW-Authenticate"):
            failures.append("401 without WWW-Authenticate")

    # A read-only token on a write.
    if operation.get("security") and method in WRITES:
        as_user(manager_a, scope="read")
        response = call(_url(path, ids, method), {}, format="json")
        _check(failures, "read-only token", path, method, response, 403)

    # From here on, the admin (who may make every write) with a read-write token.
    as_user(admin_user)

    # An id that does not exist.
    if "{id}" in path:
        response = call(_url(path, ids, method, missing=True), {}, format="json")
        _check(failures, "unknown id", path, method, response, 404)

    # Each typed query parameter, alone, with a value of the wrong type.
    for parameter in operation.get("parameters", []):
        if parameter["in"] != "query":
            continue
        value = _bad_query_value(parameter["schema"])
        if value is None:
            continue
        name = parameter["name"]
        url = _url(path, ids, method)
        query = "&".join(f"{name}={v}" for v in (value if isinstance(value, list) else [value]))
        response = (
            call(f"{url}?{query}", {}, format="json")
            if method != "get"
            else api.get(f"{url}?{query}")
        )
        body = _check(failures, f"?{name}={value}", path, method, response, 400)
        if body and body["field"] != name:
            failures.append(f"?{name}={value}: field {body['field']!r}, not {name!r}")

    schema = _request_schema(path, method)
    if schema is not None:
        url = _url(path, ids, method)
        # A malformed JSON body.
        response = api.generic(method.upper(), url, '{"unfinished', "application/json")
        body = _check(failures, "malformed JSON", path, method, response, 400)
        if body and body["code"] != "malformed_json":
            failures.append(f"malformed JSON: code {body['code']!r}")

        # Every property with a value of the wrong type.
        properties = schema.get("properties", {})
        if properties:
            wrong = {name: _wrong_type(prop) for name, prop in properties.items()}
            response = api.generic(method.upper(), url, json.dumps(wrong), "application/json")
            body = _check(failures, "wrong types", path, method, response, 400)
            for problem in body.get("problems", []):
                top = (problem["field"] or "").split(".")[0].split("[")[0]
                if top not in properties:
                    failures.append(
                        f"wrong types: problem about {problem['field']!r}, "
                        f"not a property of the body: {problem}"
                    )

        # A form where JSON is due (the token endpoint takes forms: it names the missing
        # fields instead).
        content = DOCUMENT["paths"][path][method]["requestBody"]["content"]
        response = api.generic(method.upper(), url, "a=1", "application/x-www-form-urlencoded")
        if "application/x-www-form-urlencoded" in content:
            _check(failures, "form body", path, method, response, 400)
        else:
            body = _check(failures, "form body", path, method, response, 415)
            if body and (body["code"], "application/json" in body["detail"]) != (
                "unsupported_media_type",
                True,
            ):
                failures.append(f"form body: {body}")

    # A method the path does not take.
    taken = set(DOCUMENT["paths"][path])
    other = next(m for m in ("put", "delete", "patch", "post", "get") if m not in taken)
    response = getattr(api, other)(_url(path, ids, method), {}, format="json")
    body = _check(failures, f"{other.upper()} (not taken)", path, method, response, 405)
    if body and body["code"] != "method_not_allowed":
        failures.append(f"{other.upper()}: code {body['code']!r}")

    assert not failures, "\n".join(failures)


# --- Particular refusals, by hand ----------------------------------------------------------------


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


def test_real_400s_match_the_documented_schema(as_user, manager_a, review):
    api = as_user(manager_a)
    for method, path, url, body in _calls(review):
        response = api.get(url) if method == "get" else api.post(url, body, format="json")
        assert response.status_code == 400, (url, response.content)
        jsonschema.validate(api_error(response), _documented(path, method, 400))


def test_field_errors_are_problems_with_the_first_at_the_top(as_user, manager_a, team_a):
    relationship = RelationshipFactory(team=team_a, manager=manager_a)
    response = as_user(manager_a).post(
        "/api/v1/interactions/",
        {
            "relationship": relationship.pk,
            "channel": "telepathy",
            "sentiment": 9,
            "follow_up": {"description": "", "owner": 10**30},
            "participant_users": [manager_a.pk, "x"],
        },
        format="json",
    )
    assert response.status_code == 400
    body = api_error(response)
    problems = {(p["field"], p["code"]) for p in body["problems"]}
    assert problems == {
        ("occurred_on", "required"),
        ("channel", "invalid_choice"),
        ("summary", "required"),
        ("sentiment", "max_value"),
        ("participant_users", "incorrect_type"),
        ("follow_up.description", "blank"),
        ("follow_up.owner", "does_not_exist"),
    }
    assert (body["code"], body["field"]) == (
        body["problems"][0]["code"],
        body["problems"][0]["field"],
    )
    # For people: every field named, with its message.
    assert "occurred_on: This field is required." in body["detail"]
    assert "follow_up.owner: " in body["detail"]


def test_a_business_rule_with_several_conditions_names_each_and_the_first_field(
    as_user, manager_a, team_a
):
    relationship = RelationshipFactory(team=team_a, type=None, manager=None)
    response = as_user(manager_a).post(
        f"/api/v1/relationships/{relationship.pk}/transition/",
        {"to_stage": "present"},
        format="json",
    )
    assert response.status_code == 400
    body = api_error(response)
    assert body["code"] == "type_required" and body["field"] == "type"
    assert [p["field"] for p in body["problems"]] == ["type", "manager"]


def test_a_conflict_is_an_api_error_with_the_changes(as_user, manager_a, team_a):
    relationship = RelationshipFactory(team=team_a, manager=manager_a)
    api = as_user(manager_a)
    url = f"/api/v1/relationships/{relationship.pk}/"
    version = relationship.version
    assert api.patch(url, {"version": version, "purpose": "A"}, format="json").status_code == 200
    stale = api.patch(url, {"version": version, "purpose": "B"}, format="json")
    assert stale.status_code == 409
    body = api_error(stale)
    assert body["code"] == "conflict" and body["changes"]
    jsonschema.validate(body, _documented("/api/v1/relationships/{id}/", "patch", 409))


def test_an_address_no_operation_has_answers_404_in_the_error_shape(as_user, manager_a):
    response = as_user(manager_a).get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert api_error(response)["code"] == "not_found"


def test_a_throttled_call_answers_429_in_the_error_shape_with_retry_after(
    as_user, manager_a, settings, monkeypatch
):
    from core.throttling import UserRateThrottle

    monkeypatch.setattr(UserRateThrottle, "get_rate", lambda self: "1/min")
    api = as_user(manager_a)
    assert api.get("/api/v1/teams/").status_code == 200
    response = api.get("/api/v1/teams/")
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    body = api_error(response)
    assert body["code"] == "throttled"
    jsonschema.validate(body, _documented("/api/v1/teams/", "get", 429))
