"""Property-based run of every operation in the OpenAPI schema (schemathesis), as two users.

The schema document is the one /api/schema/ serves (same generator, checked below), built
in-process when the module is collected; requests go to the Django app through WSGI, no
server. Each operation gets a bounded, derandomized set of generated requests (plus
schemathesis' coverage phase), so a run is reproducible.

Every operation runs twice: as manager_a (team A) and as manager_b (team B), each with a
read-write token, in a world holding both teams' relationships, team B's confidential one
among them. Every response passes every check schemathesis has (``ALL_CHECKS``): no server
error, status code, content type, headers and body as documented, schema-invalid input
refused, schema-valid input accepted, authentication enforced (``ignored_auth`` replays
each call without and with bad credentials), and object-level authorisation
(``object_level_authorization`` replays each successful read as the other user, who must
not get a record that their own listing leaves out).

One check is configured rather than taken as is: ``positive_data_acceptance`` also accepts
400. A schema cannot say which ids exist — a filter or body naming an unknown or invisible
record is refused with 400 "does not exist"/"not one of the available choices" (the same
answer a confidential record of another team gets, by design) — nor state business rules
(a KPI needs a target, a custom period both dates); every such refusal is a 400 naming the
field at fault. The stateful checks (``use_after_free``, ``ensure_resource_availability``)
only act in schemathesis' stateful runs and pass here without effect.

On top of schemathesis' checks, one of ours (``api_error_shape``): every 4xx or 5xx answer
is the documented ``ApiError`` — code, detail, field and a non-empty list of problems, the
top level repeating the first problem's code and field — whatever the status, documented or
not (a 405, say). Schemathesis generates both valid and invalid requests (its positive and
negative modes, plus the coverage phase's boundary values), so every operation gets bad
requests of every kind the document allows it to express: wrong types, missing required
properties, values out of range, unknown enum members, malformed ids.

Finally, manager_a's token on every operation that names team B's confidential records by
id must answer 404, writes included, and change nothing.
"""

from __future__ import annotations

import copy
import json
import tempfile
from datetime import timedelta

import jsonschema
import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.config._auth import WFCAuthConfig
from schemathesis.generation.modes import GenerationMode
from schemathesis.wfc.integration import register_wfc_auth

from accounts.models import ApiToken
from accounts.tokens import hash_token
from config.wsgi import application
from events.backfill import events_backfill
from events.models import Event
from notifications.models import Notification
from relationships.models import RelationshipType
from reviews.models import FeedbackRequest, Review
from stakeholders.models import Category
from tests.api.conftest import bearer, make_records
from tests.security.conftest import fingerprint, fingerprint_change

MAX_EXAMPLES = 4  # per operation and user (plus the coverage phase): about two minutes in all

pytestmark = pytest.mark.django_db

load_all_checks()
ALL_CHECKS = CHECKS.get_all()

# Fixed test-only tokens, so the auth document can be written when the module loads; the
# fixture stores their hashes for each test.
TOKENS = {
    "manager_a": "rpt_schemathesis-manager-a-not-a-secret-00000000",
    "manager_b": "rpt_schemathesis-manager-b-not-a-secret-00000000",
}


def _document() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def _auth_document() -> str:
    """A Web Fuzzing Commons auth document naming both users (how schemathesis learns of
    more than one identity, which its object-level authorisation check needs)."""
    users = [
        {"name": name, "fixedHeaders": [{"name": "Authorization", "value": f"Bearer {raw}"}]}
        for name, raw in TOKENS.items()
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"auth": users}, handle)
    return handle.name


DOCUMENT = _document()
AUTH_DOCUMENT = _auth_document()


def _inline(node):
    """A schema of DOCUMENT with its $refs inlined and ``nullable`` as JSON Schema."""
    if isinstance(node, list):
        return [_inline(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return _inline(DOCUMENT["components"]["schemas"][node["$ref"].split("/")[-1]])
    resolved = {key: _inline(value) for key, value in node.items()}
    if resolved.pop("nullable", False) and "type" in resolved:
        resolved["type"] = [resolved["type"], "null"]
    return resolved


API_ERROR = _inline({"$ref": "#/components/schemas/ApiError"})


def api_error_shape(ctx, response, case) -> None:
    """Every refusal (4xx) and failure (5xx) answers the one documented error shape."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
    except ValueError:
        raise AssertionError(
            f"{response.status_code} is not JSON: {response.content[:200]!r}"
        ) from None
    jsonschema.validate(body, API_ERROR)
    if not body["problems"]:
        raise AssertionError(f"no problems listed: {body}")
    first = body["problems"][0]
    if (body["code"], body["field"]) != (first["code"], first["field"]):
        raise AssertionError(f"the top level is not the first problem: {body}")


CHECKS_TO_RUN = [*ALL_CHECKS, api_error_shape]


def _schema_as(user: str):
    loaded = schemathesis.openapi.from_dict(copy.deepcopy(DOCUMENT))
    loaded.app = application  # calls go through WSGI, in this process and this test's transaction
    # Every call as ``user``; the other user is the peer the authorisation check replays as.
    register_wfc_auth(loaded, WFCAuthConfig(path=AUTH_DOCUMENT, user=user, peers=list(TOKENS)))
    accepted = loaded.config.checks.positive_data_acceptance
    accepted.expected_statuses = [*accepted.expected_statuses, "400"]  # see the module doc
    return loaded


# Ids of the records the fixture made, by resource: generated requests reach real records
# half the time (random ids would nearly always miss), so the authorisation check has real
# reads to replay as the other user.
REAL_IDS: dict[str, list[int]] = {}


def _resource(path: str) -> str:
    return next(part for part in path.split("/") if part and part not in ("api", "v1"))


def _reach_real_records(ctx, path_parameters):
    ids = REAL_IDS.get(_resource(ctx.operation.path), [])
    if not ids or not path_parameters or type(path_parameters.get("id")) is not int:
        return st.just(path_parameters)  # no records of the kind, or deliberately bad input
    real = st.sampled_from(ids).map(lambda pk: {**path_parameters, "id": pk})
    return st.one_of(real, st.just(path_parameters))


schema_as_a = _schema_as("manager_a")
schema_as_b = _schema_as("manager_b")
for _schema in (schema_as_a, schema_as_b):
    _schema.hook("flatmap_path_parameters")(_reach_real_records)

FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture
def two_teams(team_a, manager_a, team_b, manager_b):
    """Team A's relationships, team B's open one and its confidential one, each with
    records; a feedback request and a notification for team B's; both users' tokens."""
    secret = make_records(team=team_b, manager=manager_b, confidential=True)
    feedback = FeedbackRequest.objects.create(
        relationship=secret.relationship,
        contact=secret.contact,
        sent_by=manager_b,
        expires_at=timezone.now() + timedelta(days=7),
    )
    notification = Notification.objects.create(
        recipient=manager_b,
        kind="note",
        title="About the confidential one",
        created_at=timezone.now(),
    )
    REAL_IDS.clear()
    # The confidential one first: the draws favour the first ids of each kind.
    records = [secret, make_records(team=team_b, manager=manager_b)]
    records += [make_records(team=team_a, manager=manager_a) for _ in range(2)]
    for resource, ids in {
        "relationships": [r.relationship.pk for r in records],
        "interactions": [r.interaction.pk for r in records],
        "commitments": [r.commitment.pk for r in records],
        "value-records": [r.value_record.pk for r in records],
        "contacts": [r.contact.pk for r in records],
        "stakeholders": [r.relationship.stakeholder_id for r in records],
        "reviews": list(Review.objects.values_list("pk", flat=True)),
        "feedback-requests": [feedback.pk],
        "notifications": [notification.pk],
        "users": [manager_a.pk, manager_b.pk],
        "teams": [team_a.pk, team_b.pk],
        "categories": list(Category.objects.values_list("pk", flat=True)),
        "relationship-types": list(RelationshipType.objects.values_list("pk", flat=True)),
    }.items():
        REAL_IDS[resource] = ids
    for user in (manager_a, manager_b):
        raw = TOKENS[user.username]
        ApiToken.objects.create(
            user=user, name="schemathesis", prefix=raw[:10], token_hash=hash_token(raw)
        )
    return {"secret": secret, "feedback": feedback, "notification": notification}


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """Calls go through the real WSGI handler, whose request signals close "old" database
    connections: that would close the test's transaction. Django's test client disconnects
    the same handlers while it makes a request; do so for the run."""
    _disconnect_close_old_connections()
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _disconnect_close_old_connections() -> None:
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)


def test_the_fuzzed_document_is_the_one_the_api_serves(api, two_teams):
    served = api.get("/api/schema/", {"format": "json"}, **bearer(TOKENS["manager_a"]))
    assert served.status_code == 200
    assert served.json()["paths"].keys() == DOCUMENT["paths"].keys()


def test_the_run_generates_invalid_requests_too():
    """Negative mode: the bad requests whose answers api_error_shape checks."""
    for loaded in (schema_as_a, schema_as_b):
        assert set(loaded.config.generation.modes) == set(GenerationMode)


class _Answer:
    def __init__(self, status_code: int, body):
        self.status_code, self._body, self.content = status_code, body, b""

    def json(self):
        return self._body


def test_the_error_shape_check_refuses_every_other_shape():
    good = {"code": "required", "detail": "x", "field": "a", "problems": []}
    good["problems"] = [{"code": "required", "detail": "x", "field": "a"}]
    api_error_shape(None, _Answer(400, good), None)
    api_error_shape(None, _Answer(200, {"anything": 1}), None)
    for bad in (
        {"summary": ["This field is required."]},  # DRF's own, as before issue #16
        {"detail": "Not found."},
        {**good, "problems": []},
        {**good, "field": "b"},
    ):
        with pytest.raises((AssertionError, jsonschema.ValidationError)):
            api_error_shape(None, _Answer(400, bad), None)


def _listed_ids(user: str, resource: str) -> set[int]:
    """Every id of ``resource`` that the user's own list shows, all pages."""
    client = APIClient()
    client.credentials(**bearer(TOKENS[user]))
    ids, url = set(), f"/api/v1/{resource}/?page_size=200"
    while url:
        cache.clear()
        body = client.get(url).json()
        ids |= {row["id"] for row in body["results"]}
        url = body.get("next")
    # The test client reconnects the handlers that close "old" connections after each of its
    # requests; the WSGI calls that follow must not close the test's transaction.
    _disconnect_close_old_connections()
    return ids


def _call_and_check(case, user: str) -> None:
    cache.clear()  # throttling is tested elsewhere; here every request must reach the view
    response = case.call()
    case.validate_response(response, checks=CHECKS_TO_RUN)
    # Object-level authorisation, the way this API promises it: a record the caller may read
    # by id is one their own list shows (a confidential record of another team is in
    # neither). Schemathesis' own check needs its stateful runner to know whose record is
    # whose; this one needs only the caller's list.
    resource = _resource(case.path)
    if (
        case.method == "GET"
        and "{id}" in case.path
        and response.status_code == 200
        and resource not in ("objective-levels",)  # not paged: a plain list, all rows
    ):
        assert case.path_parameters["id"] in _listed_ids(user, resource), (
            f"{user} read {case.formatted_path} but their list of {resource} leaves it out"
        )


@schema_as_a.parametrize()
@FUZZ
def test_every_operation_as_manager_a(case, two_teams):
    _call_and_check(case, "manager_a")


@schema_as_b.parametrize()
@FUZZ
def test_every_operation_as_manager_b(case, two_teams):
    _call_and_check(case, "manager_b")


# --- Team B's confidential records, by id, with manager_a's token ----------------------------

# Resources any signed-in user reads (the shared registry, plans, people): no confidential
# record to hide among them.
SHARED = {
    "stakeholders",
    "contacts",
    "assessments",
    "values",
    "objectives",
    "objective-levels",
    "plans",
    "initiatives",
    "users",
    "teams",
    "categories",
    "relationship-types",
}


def _secret_ids(two_teams) -> dict[str, int | str]:
    secret = two_teams["secret"]
    # Its rows were written around the services: give them their events, as seed_demo does.
    events_backfill()
    event = Event.objects.filter(relationship_id=secret.relationship.pk).order_by("id").first()
    return {
        "events": str(event.uuid),
        "relationships": secret.relationship.pk,
        "interactions": secret.interaction.pk,
        "commitments": secret.commitment.pk,
        "value-records": secret.value_record.pk,
        "reviews": Review.objects.get(relationship=secret.relationship).pk,
        "feedback-requests": two_teams["feedback"].pk,
        "notifications": two_teams["notification"].pk,
    }


def test_manager_a_gets_404_for_every_operation_on_team_b_confidential_ids(api, two_teams):
    ids = _secret_ids(two_teams)
    api.credentials(**bearer(TOKENS["manager_a"]))
    unclassified, answered = [], []
    for path, operations in DOCUMENT["paths"].items():
        if "{id}" not in path:
            continue
        resource = path.split("/")[3]
        if resource in SHARED:
            continue
        if resource not in ids:
            unclassified.append(path)
            continue
        url = path.replace("{id}", str(ids[resource]))
        for method in operations:
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            cache.clear()
            before = fingerprint()
            response = getattr(api, method)(url, {}, format="json")
            answered.append(f"{method.upper()} {path}")
            if response.status_code != 404:
                unclassified.append(f"{method.upper()} {path}: {response.status_code}")
            after = fingerprint()
            assert before == after, f"{method.upper()} {path}: {fingerprint_change(before, after)}"
    assert not unclassified, (
        "each needs 404 for another team's confidential record (or, for a resource shared by "
        f"design, a place in SHARED): {unclassified}"
    )
    assert len(answered) >= 10
