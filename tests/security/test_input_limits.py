"""Input no view can use is refused up front, with a message saying what to fix — never a 500,
a traceback or an ERROR in the log (a client's mistake is not an incident):

- a NUL character (\\x00) anywhere a value reaches the database — a query parameter on any
  route, a form field (urlencoded or multipart), a JSON key or string at any depth, a CSV
  cell — answers 400 naming the parameter, field or cell (PostgreSQL text cannot hold one:
  ``GET /search/?q=ab%00`` was a 500);
- a body over DATA_UPLOAD_MAX_MEMORY_SIZE answers 413 with the limit, for anyone;
- JSON nested too deep (``[`` × 100,000 was a RecursionError and a 500) or malformed
  answers 400.

Pages answer with the 400 page (the reason on it); /api/ with the API's
{code, detail, field} body (core.errors.InputRefused).
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import jsonschema
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from accounts.tokens import token_create
from core.api import MAX_JSON_DEPTH
from relationships.models import Interaction
from stakeholders.imports import NUL_IN_CELL
from stakeholders.models import Contact, Stakeholder
from tests.api.conftest import api_error, field_errors
from tests.factories import RelationshipFactory
from tests.security.every_route import build_world, iter_urls

pytestmark = pytest.mark.django_db

LIMIT = 2_621_440  # Django's DATA_UPLOAD_MAX_MEMORY_SIZE, which Rapport keeps
THREE_MB = 3 * 1024 * 1024


@pytest.fixture(autouse=True)
def _no_error_logged(caplog):
    """Every refusal here is the client's mistake: a WARNING at most, never an ERROR."""
    caplog.set_level(logging.WARNING)
    yield
    errors = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, "logged as errors:\n" + "\n".join(errors)


def _client(user=None) -> Client:
    client = Client(raise_request_exception=False)  # a crash is an answer to assert on
    if user is not None:
        client.force_login(user)
    return client


def _api(user=None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        _, raw = token_create(user=user, name="input limits")
        client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    return client


def _post_json(client: Client, url: str, body: str | bytes, method: str = "post"):
    return getattr(client, method)(url, body, content_type="application/json")


def assert_api_refusal(response, status: int, code: str, field: str | None = None) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = api_error(response)  # the whole ApiError shape
    assert body["code"] == code, body
    if field is not None:
        assert body["field"] == field, body
    return body


def assert_page_refusal(response, status: int, *phrases: str) -> str:
    assert response.status_code == status, response.content[:500]
    html = response.content.decode()
    assert "We could not understand that request" in html  # the product's 400 page
    assert f"Error {status}" in html
    for phrase in phrases:
        assert phrase in html, phrase
    assert "Traceback" not in html
    return html


# --- NUL characters: query parameters ----------------------------------------------------


@pytest.fixture
def crawl_world(admin_user, manager_a, team_a):
    return build_world(admin_user=admin_user, manager=manager_a, team=team_a)


def test_a_nul_byte_in_a_query_parameter_answers_400_naming_it_on_every_route(
    crawl_world, admin_user
):
    client = _client(admin_user)
    problems, crawled = [], 0
    for route, url in iter_urls(crawl_world):
        response = client.get(url, {"q": "ab\x00"})
        crawled += 1
        where = f"{url} ({route.name or route.path}) → {response.status_code}"
        if response.status_code != 400:
            problems.append(f"{where}: expected 400")
        elif url.startswith("/api/"):
            body = response.json()
            if (body.get("code"), body.get("field")) != ("nul_character", "q"):
                problems.append(f"{where}: {body}")
        elif "“q”" not in response.content.decode():
            problems.append(f"{where}: the page does not name the parameter")
    assert crawled > 100
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


PAGE_PARAMETERS = [
    ("/search/", "q", "ab\x00"),  # the reported 500
    ("/search/", "q", "\x00"),
    ("/relationships/", "q", "acme\x00"),
    ("/relationships/", "team", "1\x00"),
    ("/relationships/", "sort", "\x00health"),
    ("/stakeholders/", "country", "France\x00"),
    ("/stakeholders/contacts/", "q", "ann\x00"),
    ("/relationships/export.csv", "q", "x\x00"),
    ("/dashboard/", "period", "this_quarter\x00"),
]


@pytest.mark.parametrize(("path", "name", "value"), PAGE_PARAMETERS)
def test_a_nul_byte_in_a_page_parameter_answers_the_400_page_naming_it(
    manager_a, path, name, value
):
    response = _client(manager_a).get(path, {name: value})
    assert_page_refusal(response, 400, f"“{name}”", "NUL character")


API_PARAMETERS = [
    ("/api/v1/relationships/", "q", "acme\x00"),
    ("/api/v1/relationships/", "team", "1\x00"),
    ("/api/v1/reviews/", "relationship", "\x00"),
    ("/api/v1/interactions/", "search", "call\x00"),
    ("/api/v1/interactions/", "cursor", "\x00"),
    ("/api/v1/commitments/", "ordering", "due_on\x00"),
    ("/api/v1/users/", "teams", "1\x00"),
    ("/api/v1/stakeholders/", "page", "1\x00"),
    ("/api/v1/dashboard/", "from", "2026-01-01\x00"),
]


@pytest.mark.parametrize(("path", "name", "value"), API_PARAMETERS)
def test_a_nul_byte_in_an_api_parameter_answers_400_naming_it(manager_a, path, name, value):
    response = _api(manager_a).get(path, {name: value})
    body = assert_api_refusal(response, 400, "nul_character", name)
    assert f"“{name}”" in body["detail"] and "NUL character" in body["detail"]


def test_a_nul_byte_in_a_parameter_name_is_named_visibly(manager_a):
    response = _api(manager_a).get("/api/v1/relationships/?te%00am=1")
    assert_api_refusal(response, 400, "nul_character", "te\\x00am")
    page = _client(manager_a).get("/relationships/?te%00am=1")
    assert_page_refusal(page, 400, "te\\x00am")


def test_anonymous_visitors_get_the_same_answer():
    assert_page_refusal(_client().get("/accounts/login/", {"next": "/\x00"}), 400, "“next”")
    assert_api_refusal(_api().get("/api/v1/relationships/", {"q": "\x00"}), 400, "nul_character")


# --- NUL characters: form fields -----------------------------------------------------------


def test_a_nul_byte_in_a_urlencoded_form_field_answers_the_400_page_naming_it(manager_a):
    data = {"first_name": "Ann\x00", "last_name": "Lee", "email": "ann@example.org"}
    response = _client(manager_a).post(
        reverse("profile"), urlencode(data), content_type="application/x-www-form-urlencoded"
    )
    assert_page_refusal(response, 400, "“first_name”", "NUL character")
    manager_a.refresh_from_db()
    assert manager_a.first_name != "Ann\x00"


def test_a_nul_byte_in_a_multipart_form_field_answers_the_400_page_naming_it(manager_a):
    data = {"kind": "organisation", "name": "Acme\x00 Ltd", "country": "Spain"}
    response = _client(manager_a).post(reverse("stakeholders:create"), data)  # multipart
    assert_page_refusal(response, 400, "“name”", "NUL character")
    assert not Stakeholder.objects.filter(name__startswith="Acme").exists()


def test_a_nul_byte_in_the_sign_in_form_answers_the_400_page():
    response = _client().post(reverse("login"), {"username": "ann\x00", "password": "x"})
    assert_page_refusal(response, 400, "“username”")


def test_a_nul_byte_in_a_form_field_name_is_refused_too(manager_a):
    response = _client(manager_a).post(reverse("stakeholders:create"), {"na\x00me": "Acme"})
    assert_page_refusal(response, 400, "na\\x00me")


# --- NUL characters: JSON bodies -----------------------------------------------------------


@pytest.fixture
def own_relationship(manager_a, team_a):
    return RelationshipFactory(team=team_a, manager=manager_a)


def _interaction(relationship, **changes) -> dict:
    return {
        "relationship": relationship.pk,
        "occurred_on": "2026-01-05",
        "channel": "call",
        "summary": "Caught up",
        **changes,
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"summary": "Caught up\x00"}, "summary"),  # a string value
        ({"channel": "call\x00"}, "channel"),  # a choice, not a text field
        ({"occurred_on": "2026-01-05\x00"}, "occurred_on"),
        ({"follow_up": {"description": "Send\x00 notes"}}, "follow_up.description"),  # nested
        ({"participant_users": ["\x00"]}, "participant_users[0]"),  # in a list
        ({"summ\x00ary": "ignored until now"}, "summ\\x00ary"),  # a key, which DRF ignored
        ({"extra": {"deep": [{"er": "\x00"}]}}, "extra.deep[0].er"),
    ],
)
def test_a_nul_byte_anywhere_in_an_api_json_body_answers_400_naming_the_field(
    manager_a, own_relationship, change, field
):
    body = json.dumps(_interaction(own_relationship, **change))
    response = _post_json(_api(manager_a), "/api/v1/interactions/", body)
    assert_api_refusal(response, 400, "nul_character", field)
    assert not Interaction.objects.exists()


def test_a_nul_byte_in_a_json_patch_is_refused_too(manager_a, own_relationship):
    url = f"/api/v1/relationships/{own_relationship.pk}/"
    body = json.dumps({"version": own_relationship.version, "purpose": "Grow\x00"})
    response = _post_json(_api(manager_a), url, body, method="patch")
    assert_api_refusal(response, 400, "nul_character", "purpose")
    own_relationship.refresh_from_db()
    assert "\x00" not in own_relationship.purpose


def test_a_nul_byte_in_the_token_request_answers_400_anonymously():
    body = json.dumps({"username": "ann\x00", "password": "x"})
    response = _post_json(_api(), "/api/v1/auth/token/", body)
    assert_api_refusal(response, 400, "nul_character", "username")


def test_a_json_body_that_is_only_a_string_with_a_nul_names_the_body(manager_a):
    response = _post_json(_api(manager_a), "/api/v1/interactions/", json.dumps("\x00"))
    body = assert_api_refusal(response, 400, "nul_character")
    assert body["field"] is None and "body" in body["detail"]


# --- NUL characters: CSV import ------------------------------------------------------------


def _upload(client: Client, kind: str, content: bytes, name: str = "data.csv"):
    upload = SimpleUploadedFile(name, content, content_type="text/csv")
    return client.post(reverse("stakeholders:import"), {"kind": kind, "file": upload})


def _report(response) -> list[tuple]:
    return [(e.row, e.column, e.message) for e in response.context["report"].errors]


@pytest.mark.parametrize(
    ("kind", "content", "row", "column"),
    [
        ("organisations", b"name,sector\nAcme,Charity\nGlobex,Ener\x00gy\n", 3, "sector"),
        ("organisations", b"name,sector\n\x00Acme,Charity\n", 2, "name"),
        ("contacts", b"name,role\nAnn Lee,CE\x00O\n", 2, "role"),
    ],
)
def test_a_nul_byte_in_a_csv_cell_answers_400_naming_its_row_and_column(
    manager_a, kind, content, row, column
):
    response = _upload(_client(manager_a), kind, content)
    assert response.status_code == 400
    assert _report(response) == [(row, column, NUL_IN_CELL)]
    html = response.content.decode()
    assert "NUL character" in html
    assert not Stakeholder.objects.exists() and not Contact.objects.exists()


def test_nul_bytes_in_the_csv_header_mean_a_binary_file(manager_a):
    content = "name,sector\nAcme,Charity\n".encode("utf-16-le")  # no BOM: UTF-8 decodes it
    response = _upload(_client(manager_a), "organisations", content)
    assert response.status_code == 400
    [(row, column, message)] = _report(response)
    assert row is None and "binary data" in message and "CSV UTF-8" in message


# --- Bodies too large ------------------------------------------------------------------------


def test_an_oversized_json_body_answers_413_with_the_limit_even_anonymously():
    body = json.dumps({"username": "ann", "password": "x" * THREE_MB})
    response = _post_json(_api(), "/api/v1/auth/token/", body)
    refusal = assert_api_refusal(response, 413, "too_large")
    assert "2.5 MB" in refusal["detail"] and f"{LIMIT:,} bytes" in refusal["detail"]


def test_an_oversized_json_body_answers_413_when_signed_in_too(manager_a, own_relationship):
    body = json.dumps(_interaction(own_relationship, summary="x" * THREE_MB))
    response = _post_json(_api(manager_a), "/api/v1/interactions/", body)
    assert_api_refusal(response, 413, "too_large")
    assert not Interaction.objects.exists()


def test_the_413_states_the_configured_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"username": "ann", "password": "x" * 20_000})
    response = _post_json(_api(), "/api/v1/auth/token/", body)
    assert "9.76562 KB (10,000 bytes)" in assert_api_refusal(response, 413, "too_large")["detail"]


def test_a_json_body_without_a_content_length_over_the_limit_answers_413(settings):
    # Django's own check (request.body) raises RequestDataTooBig; the API answers it alike.
    from rest_framework.test import APIRequestFactory

    from accounts.api import ObtainTokenView

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    request = APIRequestFactory().post(
        "/api/v1/auth/token/", json.dumps({"username": "a" * 200}), content_type="application/json"
    )
    response = ObtainTokenView.as_view()(request)
    assert response.status_code == 413 and response.data["code"] == "too_large"


def test_an_oversized_urlencoded_form_answers_the_413_page_with_the_limit(manager_a):
    body = urlencode({"first_name": "x" * THREE_MB})
    response = _client(manager_a).post(
        reverse("profile"), body, content_type="application/x-www-form-urlencoded"
    )
    assert_page_refusal(response, 413, "2.5 MB")


def test_an_oversized_multipart_form_answers_the_413_page(manager_a):
    data = {"kind": "organisation", "name": "Acme", "description": "x" * THREE_MB}
    response = _client(manager_a).post(reverse("stakeholders:create"), data)
    assert_page_refusal(response, 413, "2.5 MB")
    assert not Stakeholder.objects.exists()


def test_an_uploaded_file_does_not_count_towards_the_limit(manager_a):
    # 3 MB of CSV (blank lines after the row): over the form limit, under the importer's 5 MB.
    content = b"name,sector\nAcme,Charity\n" + b"\n" * THREE_MB
    response = _upload(_client(manager_a), "organisations", content)
    assert response.status_code == 302
    assert Stakeholder.objects.get().name == "Acme"


def test_a_form_with_too_many_fields_answers_400(manager_a):
    body = "&".join(f"f{i}=1" for i in range(1_001))
    response = _client(manager_a).post(
        reverse("profile"), body, content_type="application/x-www-form-urlencoded"
    )
    assert_page_refusal(response, 400, "more than 1,000 fields")


def test_an_address_with_too_many_parameters_answers_400(manager_a):
    query = "&".join(f"f{i}=1" for i in range(1_001))
    assert_page_refusal(_client(manager_a).get(f"/relationships/?{query}"), 400, "1,000")
    response = _api(manager_a).get(f"/api/v1/relationships/?{query}")
    assert_api_refusal(response, 400, "too_many_fields")


def test_a_malformed_multipart_body_answers_400(manager_a):
    response = _client(manager_a).post(
        reverse("profile"), b"--x\r\nnonsense", content_type="multipart/form-data; boundary="
    )
    assert_page_refusal(response, 400)


# --- JSON nested too deep, or malformed ------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ["[" * 100_000, '{"a":' * 100_000],  # the first was the reported 500 (a RecursionError)
    ids=["lists", "objects"],
)
def test_json_nested_absurdly_deep_answers_400_anonymously(body):
    response = _post_json(_api(), "/api/v1/auth/token/", body)
    refusal = assert_api_refusal(response, 400, "too_deep")
    assert str(MAX_JSON_DEPTH) in refusal["detail"]


def _nested(depth: int):
    value: object = "x"
    for _ in range(depth):
        value = [value]
    return value


def test_json_nested_past_the_limit_answers_400_and_at_the_limit_is_parsed():
    deep = json.dumps({"username": _nested(MAX_JSON_DEPTH)})  # the object is one level more
    assert_api_refusal(_post_json(_api(), "/api/v1/auth/token/", deep), 400, "too_deep")
    fits = json.dumps({"username": _nested(MAX_JSON_DEPTH - 1)})
    response = _post_json(_api(), "/api/v1/auth/token/", fits)
    assert response.status_code == 400
    assert "username" in field_errors(response)  # the serializer's own answer: it was parsed


@pytest.mark.parametrize("body", ['{"username": ', "{'username': 'ann'}", "[1, 2", "\ufeff{}"])
def test_malformed_json_answers_400_in_the_api_error_shape(body):
    response = _post_json(_api(), "/api/v1/auth/token/", body.encode())
    refusal = assert_api_refusal(response, 400, "malformed_json")
    assert "JSON parse error" in refusal["detail"]


# --- The documented answers ------------------------------------------------------------------


def _schema(document: dict, node):
    """The response schema with its $refs inlined."""
    if isinstance(node, list):
        return [_schema(document, item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _schema(document, document["components"]["schemas"][node["$ref"].split("/")[-1]])
    resolved = {key: _schema(document, value) for key, value in node.items()}
    if resolved.pop("nullable", False) and "type" in resolved:  # OpenAPI's, as JSON Schema
        resolved["type"] = [resolved["type"], "null"]
    return resolved


def test_the_refusals_match_the_documented_error_schema(manager_a, own_relationship):
    document = SchemaGenerator().get_schema(request=None, public=True)
    api = _api(manager_a)
    answers = [
        (413, _post_json(api, "/api/v1/interactions/", json.dumps({"summary": "x" * THREE_MB}))),
        (400, _post_json(api, "/api/v1/interactions/", "[" * 100_000)),
        (400, _post_json(api, "/api/v1/interactions/", json.dumps({"summary": "\x00"}))),
        (400, _post_json(api, "/api/v1/interactions/", "{")),
    ]
    for status, response in answers:
        assert response.status_code == status
        documented = document["paths"]["/api/v1/interactions/"]["post"]["responses"][str(status)]
        schema = _schema(document, documented["content"]["application/json"]["schema"])
        jsonschema.validate(response.json(), schema)
