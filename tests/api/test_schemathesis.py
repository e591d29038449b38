"""Property-based run of every operation in the OpenAPI schema (schemathesis).

The schema document is the one /api/schema/ serves (same generator, checked below), built
in-process when the module is collected; requests go to the Django app through WSGI, no
server. Each operation gets a bounded, derandomized set of generated requests, so a run is
reproducible. Every response must not be a server error and must match the documented
schema for its status code. The caller is a manager with real data (relationships,
interactions, commitments, value records; one confidential relationship of another team).
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core import signals
from django.core.cache import cache
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from accounts.tokens import token_create
from config.wsgi import application
from tests.api.conftest import bearer, make_records

MAX_EXAMPLES = 10  # per operation (plus schemathesis' coverage phase): about a minute in all

pytestmark = pytest.mark.django_db


def _document() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


schema = schemathesis.openapi.from_dict(_document())
schema.app = application  # calls go through WSGI, in this process and this test's transaction


@pytest.fixture
def api_token(team_a, manager_a, team_b, manager_b):
    for _ in range(3):
        make_records(team=team_a, manager=manager_a)
    make_records(team=team_b, manager=manager_b, confidential=True)
    _, raw = token_create(user=manager_a, name="schemathesis")
    return raw


@pytest.fixture(autouse=True)
def _keep_test_connection():
    """Calls go through the real WSGI handler, whose request signals close "old" database
    connections: that would close the test's transaction. Django's test client disconnects
    the same handlers while it makes a request; do so for the run."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_the_fuzzed_document_is_the_one_the_api_serves(api, api_token):
    served = api.get("/api/schema/", {"format": "json"}, **bearer(api_token))
    assert served.status_code == 200
    assert served.json()["paths"].keys() == schema.raw_schema["paths"].keys()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_and_responses_match_the_schema(case, api_token):
    cache.clear()  # throttling is tested elsewhere; here every request must reach the view
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {api_token}"}
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
