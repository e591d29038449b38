"""Who may do what through the API, as a table: role × resource × object × action.

Objects: "own" belongs to team A (the team of manager_a and contributor_a), "other" to team
B in the open, "secret" to team B and is confidential. The registry (stakeholders, contacts,
assessments) is shared by everyone signed in; relationships and their records follow
accounts.permissions. A record the caller may not see is absent from lists and answers
404; a body naming it answers 400 ("does not exist"); a visible record the caller may not
change answers 403.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from accounts.tokens import token_create
from tests.api.conftest import bearer, field_errors

pytestmark = pytest.mark.django_db

OBJECTS = ("own", "other", "secret")
ROLES = (
    "manager_a",
    "manager_b",
    "contributor_a",
    "executive",
    "admin_user",
    "readonly_a",  # manager_a through a read-only token
    "anonymous",
)

# Whether the role sees a relationship (and its records) that is own / other / secret.
SEES = {
    "manager_a": (True, True, False),
    "manager_b": (True, True, True),
    "contributor_a": (True, True, False),
    "executive": (True, True, True),
    "admin_user": (True, True, True),
    "readonly_a": (True, True, False),
}

OK = "ok"  # 200 for an update or action, 201 for a create
# The expected answer to a write, per family of resources: own / other / secret.
WRITES = {
    # Stakeholders, contacts, assessments: managers and admins maintain the shared registry.
    "registry": {
        "manager_a": (OK, OK, OK),
        "manager_b": (OK, OK, OK),
        "contributor_a": (403, 403, 403),
        "executive": (403, 403, 403),
        "admin_user": (OK, OK, OK),
        "readonly_a": (403, 403, 403),
    },
    # Editing or moving a relationship: its manager, its team's managers, admins.
    "relationship": {
        "manager_a": (OK, 403, 404),
        "manager_b": (403, OK, OK),
        "contributor_a": (403, 403, 404),
        "executive": (403, 403, 403),
        "admin_user": (OK, OK, OK),
        "readonly_a": (403, 403, 403),
    },
    # Logging a record on a relationship: also its team's contributors. The relationship is
    # named in the body, so an invisible one "does not exist" (400).
    "record": {
        "manager_a": (OK, 403, 400),
        "manager_b": (403, OK, OK),
        "contributor_a": (OK, 403, 400),
        "executive": (403, 403, 403),
        "admin_user": (OK, OK, OK),
        "readonly_a": (403, 403, 403),
    },
    # An action on an existing record (commitment status): the URL names it, so 404.
    "record_action": {
        "manager_a": (OK, 403, 404),
        "manager_b": (403, OK, OK),
        "contributor_a": (OK, 403, 404),
        "executive": (403, 403, 403),
        "admin_user": (OK, OK, OK),
        "readonly_a": (403, 403, 403),
    },
}


def _today() -> str:
    return timezone.localdate().isoformat()


# resource → (record of the world to read, family of "update", update request, family of
# "action", action request). A request is (method, url, body, success status).
def _requests(resource: str, records) -> dict:
    rel = records.relationship
    stakeholder = rel.stakeholder
    contact = records.contact
    if resource == "stakeholders":
        return {
            "object": stakeholder,
            "update": ("registry", "patch", f"stakeholders/{stakeholder.pk}/",
                       {"version": stakeholder.version, "sector": "Energy"}, 200),
            "action": ("registry", "post", "assessments/",
                       {"stakeholder": stakeholder.pk, "power": 4, "interest": 3}, 201),
        }  # fmt: skip
    if resource == "contacts":
        return {
            "object": contact,
            "update": ("registry", "patch", f"contacts/{contact.pk}/",
                       {"version": contact.version, "role": "CFO"}, 200),
            "action": ("registry", "post", "contacts/",
                       {"stakeholder": stakeholder.pk, "name": "New Person"}, 201),
        }  # fmt: skip
    if resource == "assessments":
        from stakeholders.services import assessment_record

        assessment = assessment_record(stakeholder=stakeholder, by=rel.manager, power=2, interest=2)
        return {
            "object": assessment,
            "update": ("registry", "post", "assessments/",
                       {"stakeholder": stakeholder.pk, "power": 5, "interest": 1}, 201),
            "action": ("registry", "post", "assessments/",
                       {"stakeholder": stakeholder.pk, "power": 1, "interest": 5,
                        "assessed_on": _today()}, 201),
        }  # fmt: skip
    if resource == "relationships":
        return {
            "object": rel,
            "update": ("relationship", "patch", f"relationships/{rel.pk}/",
                       {"version": rel.version, "purpose": "Changed"}, 200),
            "action": ("relationship", "post", f"relationships/{rel.pk}/transition/",
                       {"to_stage": "ended", "note": "It did not work."}, 201),
        }  # fmt: skip
    if resource == "interactions":
        body = {"relationship": rel.pk, "occurred_on": _today(), "channel": "call",
                "summary": "Caught up"}  # fmt: skip
        return {
            "object": records.interaction,
            "update": ("record", "post", "interactions/", body, 201),
            "action": ("record", "post", "interactions/",
                       {**body, "follow_up": {"description": "Send notes"}}, 201),
        }  # fmt: skip
    if resource == "commitments":
        return {
            "object": records.commitment,
            "update": ("record", "post", "commitments/",
                       {"relationship": rel.pk, "direction": "theirs",
                        "description": "Introduce us"}, 201),
            "action": ("record_action", "post", f"commitments/{records.commitment.pk}/status/",
                       {"status": "kept"}, 200),
        }  # fmt: skip
    if resource == "value-records":
        body = {"relationship": rel.pk, "recorded_on": _today(), "kind": "referral",
                "amount": "2", "unit": "referrals"}  # fmt: skip
        return {
            "object": records.value_record,
            "update": ("record", "post", "value-records/", body, 201),
            "action": ("record", "post", "value-records/",
                       {**body, "kind": "qualitative", "note": "Warm words"}, 201),
        }  # fmt: skip
    raise AssertionError(resource)


RESOURCES = (
    "stakeholders",
    "contacts",
    "assessments",
    "relationships",
    "interactions",
    "commitments",
    "value-records",
)
REGISTRY = {"stakeholders", "contacts", "assessments"}


def _expected_read(role: str, resource: str, obj: str) -> tuple[bool, int]:
    if role == "anonymous":
        return False, 401
    visible = resource in REGISTRY or SEES[role][OBJECTS.index(obj)]
    return visible, 200 if visible else 404


def _client(api, role: str, request):
    if role == "anonymous":
        return api
    if role == "readonly_a":
        _, raw = token_create(user=request.getfixturevalue("manager_a"), name="r", scope="read")
    else:
        _, raw = token_create(user=request.getfixturevalue(role), name="w")
    api.credentials(**bearer(raw))
    return api


@pytest.mark.parametrize("action", ["list", "retrieve", "update", "action"])
@pytest.mark.parametrize("obj", OBJECTS)
@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(api, world, request, role, resource, obj, action):
    requests = _requests(resource, world[obj])
    client = _client(api, role, request)
    target = requests["object"]

    if action in ("list", "retrieve"):
        visible, expected = _expected_read(role, resource, obj)
        if action == "retrieve":
            response = client.get(f"/api/v1/{resource}/{target.pk}/")
            assert response.status_code == expected, response.content
            return
        response = client.get(f"/api/v1/{resource}/?page_size=200")
        if role == "anonymous":
            assert response.status_code == 401
            assert response["WWW-Authenticate"] == 'Bearer realm="api"'
            return
        assert response.status_code == 200
        ids = {row["id"] for row in response.json()["results"]}
        assert (target.pk in ids) is visible
        return

    family, method, url, body, success = requests[action]
    if role == "anonymous":
        expected = 401
    else:
        expected = WRITES[family][role][OBJECTS.index(obj)]
        expected = success if expected == OK else expected
    response = getattr(client, method)(f"/api/v1/{url}", body, format="json")
    assert response.status_code == expected, response.content
    if expected == 400:
        # The confidential relationship is reported exactly like a nonexistent one.
        assert "does not exist" in str(field_errors(response)["relationship"])
    if expected in (403, 404) and role != "readonly_a":
        assert "detail" in response.json()
