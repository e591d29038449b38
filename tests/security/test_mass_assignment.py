"""Mass assignment: fields a request must not be able to set, through the API and the forms.

Each attempt is either ignored (the field is not writable there: the record keeps the value
the server decides) or refused with a 400/403/404 that says what is wrong. Where the rules do
allow a change (a team's manager renaming the relationship manager), the test asserts that too,
so the rules stay what accounts/permissions.py and the services say.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken, Role
from accounts.tokens import token_create
from notifications.services import notification_create
from plans.tests.factories import InitiativeFactory, PlanFactory
from relationships.models import Commitment, Interaction, Relationship, ValueRecord
from reviews.models import Review
from reviews.services import review_ask_reviewer
from stakeholders.models import Contact, Stakeholder
from tests.api.conftest import field_errors, make_records
from tests.factories import (
    TEST_PASSWORD,
    ContactFactory,
    RelationshipTypeFactory,
    StakeholderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def api_as(user, scope: str = "write") -> APIClient:
    """A client authenticated the way integrations are: a bearer token of ``user``."""
    _, raw = token_create(user=user, name=f"test {scope}", scope=scope)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


def web_as(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(team_a, team_b, manager_a, manager_b, contributor_a, executive, admin_user):
    """own: team A's, managed by manager_a; secret: team B's, confidential."""
    return {
        "own": make_records(team=team_a, manager=manager_a, type=RelationshipTypeFactory()),
        "secret": make_records(team=team_b, manager=manager_b, confidential=True),
    }


# --- Relationships through the API -----------------------------------------------------------

PROTECTED_RELATIONSHIP_FIELDS = {
    "stage": "build",
    "health_score": 99,
    "health_reasons": ["forged"],
    "last_interaction_on": "2020-01-01",
    "started_on": "2020-01-01",
    "ended_on": "2020-01-02",
    "end_reason": "forged",
    "next_review_on": "2020-01-03",
    "manager_rating": 5,
    "manager_rating_on": "2020-01-01",
    "version": 40,
    "created_at": "2020-01-01T00:00:00Z",
}


def test_creating_a_relationship_ignores_fields_the_server_owns(world, manager_a, manager_b):
    stakeholder = StakeholderFactory()
    body = {"stakeholder": stakeholder.pk, **PROTECTED_RELATIONSHIP_FIELDS}
    body["created_by"] = manager_b.pk
    response = api_as(manager_a).post("/api/v1/relationships/", body, format="json")

    assert response.status_code == 201, response.json()
    created = Relationship.objects.get(pk=response.json()["id"])
    assert created.stage == "identify"
    assert created.created_by == manager_a
    assert created.version == 1
    assert created.health_score != 99 and created.health_reasons != ["forged"]
    assert created.started_on is None and created.ended_on is None and not created.end_reason
    assert created.manager_rating is None and created.last_interaction_on is None


def test_editing_a_relationship_ignores_its_stage_and_computed_fields(world, manager_a, manager_b):
    relationship = world["own"].relationship
    before = Relationship.objects.values().get(pk=relationship.pk)
    body = {**PROTECTED_RELATIONSHIP_FIELDS, "version": relationship.version, "purpose": "New"}
    body["created_by"] = manager_b.pk
    response = api_as(manager_a).patch(
        f"/api/v1/relationships/{relationship.pk}/", body, format="json"
    )

    assert response.status_code == 200, response.json()
    after = Relationship.objects.values().get(pk=relationship.pk)
    assert after["purpose"] == "New"
    assert after["version"] == before["version"] + 1
    for name in ("stage", "health_score", "health_reasons", "started_on", "ended_on"):
        assert after[name] == before[name], name
    assert after["created_by_id"] == before["created_by_id"]
    assert after["manager_rating"] == before["manager_rating"]


def test_the_stage_moves_only_through_a_transition_with_its_guards(world, manager_a):
    relationship = world["own"].relationship
    client = api_as(manager_a)
    client.patch(
        f"/api/v1/relationships/{relationship.pk}/",
        {"version": relationship.version, "stage": "review"},
        format="json",
    )
    relationship.refresh_from_db()
    assert relationship.stage == "identify"
    response = client.post(
        f"/api/v1/relationships/{relationship.pk}/transition/", {"to_stage": "build"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "illegal_transition"


@pytest.mark.parametrize(
    ("who", "change", "status", "code"),
    [
        # Its team's manager may name another manager (any manager or admin: the web form
        # offers the same list) and set it confidential.
        ("manager_a", {"manager": "manager_b"}, 200, None),
        ("manager_a", {"confidential": True}, 200, None),
        # Into a team that is not theirs: refused, naming the field.
        ("manager_a", {"team": "team_b"}, 400, "team_not_allowed"),
        # A contributor of the team may log work on it, not edit it.
        ("contributor_a", {"confidential": True}, 403, "permission_denied"),
        ("contributor_a", {"manager": "admin_user"}, 403, "permission_denied"),
        # A manager of another team sees the (open) relationship but may not change it.
        ("manager_b", {"manager": "manager_b"}, 403, "permission_denied"),
        ("manager_b", {"team": "team_b"}, 403, "permission_denied"),
        # Executives read everything and write nothing here.
        ("executive", {"confidential": True}, 403, "permission_denied"),
        # Admins may move it to any team.
        ("admin_user", {"team": "team_b"}, 200, None),
    ],
)
def test_who_may_change_owner_team_and_confidentiality(world, request, who, change, status, code):
    relationship = world["own"].relationship
    user = request.getfixturevalue(who)
    field, value = next(iter(change.items()))
    wire = value if isinstance(value, bool) else request.getfixturevalue(value).pk
    before = getattr(Relationship.objects.get(pk=relationship.pk), f"{field}_id", None)

    response = api_as(user).patch(
        f"/api/v1/relationships/{relationship.pk}/",
        {"version": relationship.version, field: wire},
        format="json",
    )

    assert response.status_code == status, response.json()
    relationship.refresh_from_db()
    saved = getattr(relationship, f"{field}_id", None) or getattr(relationship, field)
    if status == 200:
        assert saved == wire
    else:
        assert response.json()["code"] == code and response.json()["detail"]
        if field in ("team", "manager"):
            assert saved == before


def test_a_contributor_cannot_become_the_relationship_manager(world, manager_a, contributor_a):
    relationship = world["own"].relationship
    response = api_as(manager_a).patch(
        f"/api/v1/relationships/{relationship.pk}/",
        {"version": relationship.version, "manager": contributor_a.pk},
        format="json",
    )
    assert response.status_code == 400
    assert "manager" in field_errors(response)
    relationship.refresh_from_db()
    assert relationship.manager_id != contributor_a.pk


# --- Records on a relationship: no pointing them at one you cannot see -----------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/interactions/", {"occurred_on": "2025-01-02", "channel": "call", "summary": "x"}),
        ("/api/v1/commitments/", {"direction": "ours", "description": "x"}),
        (
            "/api/v1/value-records/",
            {"recorded_on": "2025-01-02", "kind": "revenue", "amount": "5", "unit": "GBP"},
        ),
        ("/api/v1/reviews/start/", {}),
    ],
)
def test_records_cannot_be_attached_to_an_invisible_relationship(world, manager_a, path, body):
    secret = world["secret"].relationship
    counts = [m.objects.count() for m in (Interaction, Commitment, ValueRecord, Review)]
    response = api_as(manager_a).post(path, {**body, "relationship": secret.pk}, format="json")

    assert response.status_code == 400
    assert "does not exist" in str(field_errors(response)["relationship"])
    assert [m.objects.count() for m in (Interaction, Commitment, ValueRecord, Review)] == counts


def test_an_interaction_records_its_real_author_and_keeps_its_relationship(
    world, contributor_a, manager_b
):
    own = world["own"].relationship
    body = {
        "relationship": own.pk,
        "occurred_on": date.today().isoformat(),
        "channel": "call",
        "summary": "Called",
        "created_by": manager_b.pk,
        "created_at": "2020-01-01T00:00:00Z",
        "id": world["secret"].interaction.pk,
    }
    response = api_as(contributor_a).post("/api/v1/interactions/", body, format="json")

    assert response.status_code == 201, response.json()
    interaction = Interaction.objects.get(pk=response.json()["id"])
    assert interaction.created_by == contributor_a
    assert interaction.relationship == own
    assert interaction.pk != world["secret"].interaction.pk
    # Interactions have no edit endpoint: nobody can move one to another relationship later.
    moved = api_as(contributor_a).patch(
        f"/api/v1/interactions/{interaction.pk}/", {"relationship": world["secret"].relationship.pk}
    )
    assert moved.status_code == 405


def test_a_follow_up_owner_must_be_in_the_relationship_team(world, manager_a, manager_b):
    response = api_as(manager_a).post(
        "/api/v1/commitments/",
        {
            "relationship": world["own"].relationship.pk,
            "direction": "ours",
            "description": "Send it",
            "owner": manager_b.pk,
        },
        format="json",
    )
    assert response.status_code == 400
    assert "not in the relationship's team" in str(field_errors(response)["owner"])


def test_a_commitment_status_cannot_be_set_by_someone_outside_the_relationship(world, manager_b):
    commitment = world["own"].commitment
    response = api_as(manager_b).post(
        f"/api/v1/commitments/{commitment.pk}/status/", {"status": "kept"}, format="json"
    )
    assert response.status_code == 403
    commitment.refresh_from_db()
    assert commitment.status == "open"


# --- The registry, plans -----------------------------------------------------------------------


def test_stakeholder_and_contact_creation_ignore_server_owned_fields(manager_a, manager_b):
    client = api_as(manager_a)
    stakeholder = client.post(
        "/api/v1/stakeholders/",
        {
            "name": "Fjord Trust",
            "created_by": manager_b.pk,
            "value_fit": 99,
            "power": 5,
            "interest": 5,
            "version": 9,
            "normalised_name": "forged",
            "relationship_count": 50,
        },
        format="json",
    )
    assert stakeholder.status_code == 201, stakeholder.json()
    saved = Stakeholder.objects.get(pk=stakeholder.json()["id"])
    assert (saved.created_by, saved.value_fit, saved.power, saved.version) == (
        manager_a,
        0,
        None,
        1,
    )
    assert saved.normalised_name == "fjord trust"

    contact = client.post(
        "/api/v1/contacts/",
        {"name": "Ann Lee", "created_by": manager_b.pk, "version": 9, "email_domain": "x.org"},
        format="json",
    )
    assert contact.status_code == 201, contact.json()
    saved_contact = Contact.objects.get(pk=contact.json()["id"])
    assert (saved_contact.created_by, saved_contact.version) == (manager_a, 1)
    assert saved_contact.email_domain == ""


def test_only_admins_merge_stakeholders(manager_a):
    survivor, duplicate = StakeholderFactory(), StakeholderFactory()
    response = api_as(manager_a).post(
        f"/api/v1/stakeholders/{survivor.pk}/merge/", {"duplicate": duplicate.pk}, format="json"
    )
    assert response.status_code == 403
    assert Stakeholder.objects.filter(pk=duplicate.pk).exists()


def test_an_initiative_stays_in_its_plan_and_links_only_visible_relationships(
    world, manager_a, manager_b
):
    plan, other_plan = PlanFactory(owner=manager_a), PlanFactory(owner=manager_a)
    initiative = InitiativeFactory(plan=plan, owner=manager_a)
    client = api_as(manager_a)

    moved = client.patch(
        f"/api/v1/initiatives/{initiative.pk}/",
        {"plan": other_plan.pk, "created_by": manager_b.pk, "title": "Renamed"},
        format="json",
    )
    assert moved.status_code == 200, moved.json()
    initiative.refresh_from_db()
    assert (initiative.plan, initiative.title) == (plan, "Renamed")
    assert initiative.created_by_id != manager_b.pk

    linked = client.patch(
        f"/api/v1/initiatives/{initiative.pk}/",
        {"relationships": [world["secret"].relationship.pk]},
        format="json",
    )
    assert linked.status_code == 400
    assert not initiative.relationships.filter(pk=world["secret"].relationship.pk).exists()


def test_plans_are_written_by_managers_and_admins_only(contributor_a, executive):
    for user in (contributor_a, executive):
        response = api_as(user).post(
            "/api/v1/plans/", {"title": "Mine", "period": "FY27"}, format="json"
        )
        assert response.status_code == 403, user
        assert response.json()["detail"]


# --- Reviews -----------------------------------------------------------------------------------

RATINGS = {"trust": 4, "communication": 4, "value_to_us": 4, "value_to_them": 4, "overall": 4}


@pytest.fixture
def open_review(world):
    relationship = world["own"].relationship
    Relationship.objects.filter(pk=relationship.pk).update(stage="build")
    review, _ = Review.objects.get_or_create(
        relationship=relationship, status=Review.Status.SCHEDULED, defaults={"due_on": date.today()}
    )
    return review


@pytest.mark.parametrize("who", ["contributor_a", "manager_b", "executive"])
def test_a_review_decision_cannot_be_taken_by_someone_not_allowed(open_review, request, who):
    response = api_as(request.getfixturevalue(who)).post(
        f"/api/v1/reviews/{open_review.pk}/complete/",
        {**RATINGS, "decision": "end", "decision_note": "Forged"},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "You may not complete this review."
    open_review.refresh_from_db()
    assert open_review.status == "scheduled" and not open_review.decision
    assert open_review.relationship.stage == "build"


def test_an_asked_executive_records_advice_that_is_not_applied(
    open_review, manager_a, executive, admin_user
):
    review_ask_reviewer(review=open_review, reviewer=executive, by=manager_a)
    response = api_as(executive).post(
        f"/api/v1/reviews/{open_review.pk}/complete/",
        {
            **RATINGS,
            "decision": "end",
            "decision_note": "Not working",
            "decision_applied": True,
            "completed_by": admin_user.pk,
            "stage_after": "ended",
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    open_review.refresh_from_db()
    assert open_review.decision == "end" and open_review.decision_applied is False
    assert open_review.completed_by == executive
    assert Relationship.objects.get(pk=open_review.relationship_id).stage == "build"


# --- Tokens: no escalation from read to write ----------------------------------------------


def test_a_read_token_cannot_write_or_mint_a_write_token(manager_a):
    _, raw = token_create(user=manager_a, name="reader", scope="read")
    reader = APIClient()
    reader.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    before = ApiToken.objects.count()

    refused = reader.post("/api/v1/stakeholders/", {"name": "X"}, format="json")
    assert refused.status_code == 403
    assert refused.json()["detail"] == "This API token is read-only."
    # The token endpoint wants the password, whatever token comes with the request.
    minted = reader.post("/api/v1/auth/token/", {"scope": "write"}, format="json")
    assert minted.status_code == 400
    assert set(field_errors(minted)) >= {"username", "password"}
    # The profile page's token form needs a signed-in session, not a bearer token.
    page = Client().post(
        reverse("token_new"),
        {"name": "escalated", "scope": "write"},
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert page.status_code == 302 and reverse("login") in page["Location"]
    assert ApiToken.objects.count() == before


def test_the_token_form_cannot_choose_an_unknown_scope_or_owner(manager_a, manager_b):
    response = web_as(manager_a).post(
        reverse("token_new"), {"name": "sneaky", "scope": "admin", "user": manager_b.pk}
    )
    assert response.status_code == 400
    assert "scope" in response.context["token_form"].errors
    assert not ApiToken.objects.filter(name="sneaky").exists()
    web_as(manager_a).post(
        reverse("token_new"), {"name": "mine", "scope": "read", "user": manager_b.pk}
    )
    assert ApiToken.objects.get(name="mine").user == manager_a


def test_another_users_token_cannot_be_revoked(manager_a, manager_b):
    token, _ = token_create(user=manager_b, name="theirs")
    response = web_as(manager_a).post(reverse("token_revoke", args=[token.pk]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


# --- Users, roles and teams ------------------------------------------------------------------


def test_the_profile_form_changes_names_and_email_only(contributor_a, team_b):
    team_ids = set(contributor_a.teams.values_list("pk", flat=True))
    response = web_as(contributor_a).post(
        reverse("profile"),
        {
            "first_name": "Cara",
            "last_name": "Ng",
            "email": "cara@example.org",
            "current_password": TEST_PASSWORD,  # a new e-mail address takes the password
            "role": Role.ADMIN,
            "is_staff": "on",
            "is_superuser": "on",
            "is_active": "",
            "teams": [team_b.pk],
            "username": "root",
        },
    )
    assert response.status_code == 302
    contributor_a.refresh_from_db()
    assert (contributor_a.first_name, contributor_a.email) == ("Cara", "cara@example.org")
    assert contributor_a.role == Role.CONTRIBUTOR
    assert not contributor_a.is_staff and not contributor_a.is_superuser
    assert contributor_a.is_active and contributor_a.username == "contributor_a"
    assert set(contributor_a.teams.values_list("pk", flat=True)) == team_ids


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("patch", "/api/v1/users/{me}/"),
        ("put", "/api/v1/users/{me}/"),
        ("post", "/api/v1/users/"),
        ("post", "/api/v1/teams/"),
        ("patch", "/api/v1/teams/{team}/"),
    ],
)
def test_users_and_teams_are_read_only_in_the_api(contributor_a, team_a, method, path):
    url = path.format(me=contributor_a.pk, team=team_a.pk)
    body = {"role": "admin", "teams": [team_a.pk], "name": "Renamed", "is_staff": True}
    response = getattr(api_as(contributor_a), method)(url, body, format="json")
    assert response.status_code == 405
    contributor_a.refresh_from_db()
    assert contributor_a.role == Role.CONTRIBUTOR and not contributor_a.is_staff
    team_a.refresh_from_db()
    assert team_a.name == "Team A"


# --- The HTML forms ----------------------------------------------------------------------------


def test_the_relationship_edit_form_ignores_stage_and_computed_fields(world, manager_a, manager_b):
    relationship = world["own"].relationship
    response = web_as(manager_a).post(
        reverse("relationships:edit", args=[relationship.pk]),
        {
            "version": relationship.version,
            "type": relationship.type_id,
            "manager": manager_a.pk,
            "team": relationship.team_id,
            "purpose": "Edited",
            "stage": "ended",
            "health_score": "1",
            "created_by": manager_b.pk,
            "end_reason": "forged",
        },
    )
    assert response.status_code == 302
    relationship.refresh_from_db()
    assert relationship.purpose == "Edited"
    assert relationship.stage == "identify" and relationship.health_score != 1
    assert relationship.end_reason == "" and relationship.created_by_id != manager_b.pk


def test_the_relationship_forms_offer_only_the_users_teams(world, manager_a, team_b):
    relationship = world["own"].relationship
    client = web_as(manager_a)
    edit = client.post(
        reverse("relationships:edit", args=[relationship.pk]),
        {"version": relationship.version, "team": team_b.pk, "manager": manager_a.pk},
    )
    assert "team" in edit.context["form"].errors
    relationship.refresh_from_db()
    assert relationship.team != team_b

    stakeholder = StakeholderFactory()
    create = client.post(
        reverse("relationships:create"),
        {"stakeholder": stakeholder.pk, "team": team_b.pk, "stage": "build"},
    )
    assert "team" in create.context["form"].errors
    assert not Relationship.objects.filter(stakeholder=stakeholder).exists()


@pytest.mark.parametrize(
    ("who", "name", "record"),
    [
        # Visible but not theirs to change: the edit page answers 404, as if absent.
        ("contributor_a", "relationships:edit", "own"),
        ("manager_b", "relationships:edit", "own"),
        # Invisible: every write answers 404 and changes nothing.
        ("manager_a", "relationships:interaction_new", "secret"),
        ("manager_a", "relationships:transition", "secret"),
        ("manager_a", "relationships:rating", "secret"),
    ],
)
def test_the_html_writes_refuse_a_relationship_the_user_may_not_change(
    world, request, who, name, record
):
    relationship = world[record].relationship
    before = Relationship.objects.values().get(pk=relationship.pk)
    data = {
        "version": relationship.version,
        "purpose": "Hijacked",
        "to_stage": "ended",
        "note": "Hijacked",
        "rating": 1,
        "occurred_on": "2025-01-02",
        "channel": "call",
        "summary": "Hijacked",
        "sentiment": 0,
    }
    response = web_as(request.getfixturevalue(who)).post(
        reverse(name, args=[relationship.pk]), data
    )
    assert response.status_code == 404
    assert Relationship.objects.values().get(pk=relationship.pk) == before
    assert not Interaction.objects.filter(summary="Hijacked").exists()


def test_the_interaction_form_refuses_participants_from_outside_the_team(
    world, manager_a, manager_b
):
    relationship = world["own"].relationship
    response = web_as(manager_a).post(
        reverse("relationships:interaction_new", args=[relationship.pk]),
        {
            "occurred_on": date.today().isoformat(),
            "channel": "call",
            "summary": "With an outsider",
            "sentiment": 0,
            "participant_users": [manager_b.pk],
            "participant_contacts": [ContactFactory().pk],  # another stakeholder's contact
        },
    )
    assert response.status_code in (200, 400)
    assert not Interaction.objects.filter(summary="With an outsider").exists()


def test_commitment_status_from_outside_the_relationship_is_refused(world, manager_b):
    commitment = world["secret"].commitment
    outsider = UserFactory(username="outsider", role="manager")
    response = web_as(outsider).post(
        reverse("relationships:commitment_status", args=[commitment.pk]), {"status": "kept"}
    )
    assert response.status_code == 404
    commitment.refresh_from_db()
    assert commitment.status == "open"


def test_webhooks_are_admin_only(manager_a):
    response = web_as(manager_a).post(
        reverse("webhooks:create"),
        {"url": "https://evil.example/", "event_types": ["relationship.created"]},
    )
    assert response.status_code == 404
    from webhooks.models import WebhookEndpoint

    assert not WebhookEndpoint.objects.exists()


def test_someone_elses_notification_cannot_be_marked_read(manager_a, manager_b):
    theirs = notification_create(recipient=manager_b, kind="x", title="For B")
    assert (
        web_as(manager_a).post(reverse("notifications:mark_read", args=[theirs.pk])).status_code
        == 404
    )
    api = api_as(manager_a).post(f"/api/v1/notifications/{theirs.pk}/read/")
    assert api.status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_feedback_cannot_be_requested_from_another_stakeholders_contact(world, manager_a):
    stranger = ContactFactory(email="stranger@example.org")
    response = api_as(manager_a).post(
        "/api/v1/feedback-requests/",
        {"relationship": world["own"].relationship.pk, "contact": stranger.pk},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "contact_elsewhere"
    assert response.json()["field"] == "contact"
