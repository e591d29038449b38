"""Fixtures for the REST API tests: a client, token helpers and a small world of records
owned by team A, by team B in the open and by team B in confidence."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.tokens import token_create
from tests.factories import (
    CommitmentFactory,
    ContactFactory,
    InteractionFactory,
    RelationshipFactory,
    StakeholderFactory,
    ValueRecordFactory,
)


@pytest.fixture(autouse=True)
def _clear_throttles():
    # Throttle counters live in the cache: never let one test's calls count in another.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def bearer(raw: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def api_error(response) -> dict:
    """The body of a refusal, checked to be the API's one error shape (ApiError): code,
    detail, field and a non-empty list of problems, the top level naming the first."""
    body = response.json()
    assert {"code", "detail", "field", "problems"} <= body.keys(), body
    assert isinstance(body["code"], str) and body["code"], body
    assert isinstance(body["detail"], str) and body["detail"], body
    assert body["problems"], body
    for problem in body["problems"]:
        assert set(problem) == {"code", "detail", "field"}, problem
    assert (body["code"], body["field"]) == (
        body["problems"][0]["code"],
        body["problems"][0]["field"],
    ), body
    return body


def field_errors(response) -> dict[str | None, list[str]]:
    """A refusal's messages by the field they are about (None: not about one field)."""
    errors: dict[str | None, list[str]] = {}
    for problem in api_error(response)["problems"]:
        errors.setdefault(problem["field"], []).append(problem["detail"])
    return errors


@pytest.fixture
def as_user(api):
    """Authenticate the client with a fresh write token of ``user`` (the real auth path)."""

    def login(user, scope: str = "write") -> APIClient:
        _, raw = token_create(user=user, name=f"test {scope}", scope=scope)
        api.credentials(**bearer(raw))
        return api

    return login


@dataclass
class Records:
    relationship: object
    interaction: object
    commitment: object
    value_record: object
    contact: object


def make_records(**relationship_fields) -> Records:
    stakeholder = StakeholderFactory()
    relationship = RelationshipFactory(stakeholder=stakeholder, **relationship_fields)
    return Records(
        relationship=relationship,
        interaction=InteractionFactory(relationship=relationship),
        commitment=CommitmentFactory(relationship=relationship),
        value_record=ValueRecordFactory(relationship=relationship),
        contact=ContactFactory(stakeholder=stakeholder),
    )


@pytest.fixture
def world(team_a, team_b, manager_a, manager_b, contributor_a, executive, admin_user):
    """own: team A's; other: team B's, open; secret: team B's, confidential."""
    return {
        "own": make_records(team=team_a, manager=manager_a),
        "other": make_records(team=team_b, manager=manager_b),
        "secret": make_records(team=team_b, manager=manager_b, confidential=True),
    }
