"""The relationship lifecycle and its records through the API: the same rules as the UI."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from relationships.models import Commitment, Interaction, Relationship, StageTransition
from tests.api.conftest import api_error, field_errors
from tests.factories import (
    CommitmentFactory,
    InteractionFactory,
    RelationshipFactory,
    StakeholderFactory,
)

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def transition(api, relationship, to_stage, **extra):
    body = {"to_stage": to_stage, **extra}
    return api.post(f"/api/v1/relationships/{relationship.pk}/transition/", body, format="json")


@pytest.fixture
def owner_api(as_user, manager_a):
    return as_user(manager_a)


@pytest.fixture
def own(team_a, manager_a):
    return RelationshipFactory(team=team_a, manager=manager_a)


# --- Lifecycle guards -----------------------------------------------------------------


def test_it_refuses_present_without_type_and_manager_listing_both(owner_api, team_a):
    relationship = RelationshipFactory(team=team_a, type=None, manager=None)
    response = transition(owner_api, relationship, "present")
    assert response.status_code == 400
    body = response.json()
    assert {p["code"] for p in body["problems"]} == {"type_required", "manager_required"}
    assert "relationship manager" in body["detail"]
    relationship.refresh_from_db()
    assert relationship.stage == "identify"
    assert not StageTransition.objects.exists()


def test_it_presents_records_history_and_returns_the_new_state(owner_api, own, manager_a):
    response = transition(owner_api, own, "present", note="Agreed", expected_stage="identify")
    assert response.status_code == 201
    body = response.json()
    assert (body["from_stage"], body["to_stage"], body["by"]) == (
        "identify",
        "present",
        manager_a.pk,
    )
    assert body["relationship_state"]["stage"] == "present"
    assert body["relationship_state"]["version"] == own.version + 1
    own.refresh_from_db()
    assert own.stage == "present" and own.started_on == TODAY()

    history = owner_api.get(f"/api/v1/relationships/{own.pk}/transitions/").json()
    assert history["count"] == 1
    assert history["results"][0]["note"] == "Agreed"
    assert history["results"][0]["by_name"]


def test_it_refuses_pilot_without_a_partnering_session(owner_api, team_a, manager_a):
    relationship = RelationshipFactory(team=team_a, manager=manager_a, stage="present")
    response = transition(owner_api, relationship, "pilot")
    assert response.status_code == 400
    assert response.json()["code"] == "partnering_session_required"
    InteractionFactory(relationship=relationship, channel="partnering_session")
    assert transition(owner_api, relationship, "pilot").status_code == 201


def test_it_refuses_build_without_key_experience(owner_api, team_a, manager_a):
    relationship = RelationshipFactory(team=team_a, manager=manager_a, stage="pilot")
    response = transition(owner_api, relationship, "build")
    assert response.status_code == 400
    assert response.json()["code"] == "key_experience_required"
    InteractionFactory(relationship=relationship, is_key_experience=True, outcome="learning")
    assert transition(owner_api, relationship, "build").status_code == 201


def test_it_refuses_to_end_without_a_reason(owner_api, own):
    response = transition(owner_api, own, "ended", note="  ")
    assert response.status_code == 400
    problem = {
        "code": "reason_required",
        "detail": "Ending a relationship needs a reason: say why it ends.",
        "field": "note",
    }
    assert response.json() == {**problem, "problems": [problem]}
    response = transition(owner_api, own, "ended", note="Not a fit")
    assert response.status_code == 201
    own.refresh_from_db()
    assert (own.stage, own.end_reason, own.ended_on) == ("ended", "Not a fit", TODAY())


def test_an_illegal_move_names_the_allowed_ones(owner_api, own):
    response = transition(owner_api, own, "build")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "illegal_transition"
    assert body["field"] == "to_stage"
    assert "Present" in body["detail"]


def test_nothing_moves_out_of_ended(owner_api, team_a, manager_a):
    relationship = RelationshipFactory(team=team_a, manager=manager_a, stage="ended")
    response = transition(owner_api, relationship, "present")
    assert response.status_code == 400
    assert response.json()["code"] == "illegal_transition"


def test_a_stale_expected_stage_is_refused(owner_api, team_a, manager_a):
    relationship = RelationshipFactory(team=team_a, manager=manager_a, stage="present")
    response = transition(owner_api, relationship, "ended", note="x", expected_stage="identify")
    assert response.status_code == 400
    assert response.json()["code"] == "stage_changed"
    relationship.refresh_from_db()
    assert relationship.stage == "present"


def test_an_unknown_stage_is_a_field_error(owner_api, own):
    response = transition(owner_api, own, "heaven")
    assert response.status_code == 400
    assert "to_stage" in field_errors(response)


def test_a_contributor_may_not_move_a_relationship(as_user, contributor_a, own):
    response = transition(as_user(contributor_a), own, "ended", note="No")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    own.refresh_from_db()
    assert own.stage == "identify"


def test_an_invisible_relationship_answers_404_everywhere(as_user, manager_a, team_b, manager_b):
    secret = RelationshipFactory(team=team_b, manager=manager_b, confidential=True)
    api = as_user(manager_a)
    assert transition(api, secret, "ended", note="x").status_code == 404
    assert api.get(f"/api/v1/relationships/{secret.pk}/transitions/").status_code == 404
    assert api.post(f"/api/v1/relationships/{secret.pk}/rating/", {"rating": 3}).status_code == 404
    assert api.get("/api/v1/interactions/", {"relationship": secret.pk}).status_code == 400


# --- Edits: optimistic concurrency and mass assignment --------------------------------


def test_a_stale_version_answers_409_and_saves_nothing(owner_api, own, manager_b, team_a):
    from relationships import services

    services.relationship_update(
        relationship=own, by=own.manager, expected_version=own.version, purpose="Theirs"
    )
    response = owner_api.patch(
        f"/api/v1/relationships/{own.pk}/",
        {"version": 1, "purpose": "Mine", "is_key": True},
        format="json",
    )
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "conflict"
    assert any("Theirs" in change for change in body["changes"])
    own.refresh_from_db()
    assert (own.purpose, own.is_key, own.version) == ("Theirs", False, 2)


def test_a_patch_without_version_is_refused(owner_api, own):
    response = owner_api.patch(f"/api/v1/relationships/{own.pk}/", {"purpose": "x"}, format="json")
    assert response.status_code == 400
    assert "version" in field_errors(response)


def test_stage_health_and_authorship_cannot_be_mass_assigned(owner_api, own, manager_b):
    response = owner_api.patch(
        f"/api/v1/relationships/{own.pk}/",
        {
            "version": own.version,
            "purpose": "Edited",
            "stage": "build",
            "health_score": 100,
            "created_by": manager_b.pk,
            "ended_on": "2020-01-01",
            "end_reason": "x",
            "manager_rating": 5,
        },
        format="json",
    )
    assert response.status_code == 200
    own.refresh_from_db()
    assert own.purpose == "Edited"
    assert own.stage == "identify"
    assert own.health_score != 100
    assert own.created_by_id is None
    assert own.ended_on is None and own.end_reason == "" and own.manager_rating is None
    assert own.version == 2


def test_create_ignores_stage_and_defaults_the_team(owner_api, manager_a, team_a):
    stakeholder = StakeholderFactory()
    response = owner_api.post(
        "/api/v1/relationships/",
        {"stakeholder": stakeholder.pk, "stage": "build", "health_score": 99, "version": 7},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert (body["stage"], body["version"], body["team"]) == ("identify", 1, team_a.pk)
    relationship = Relationship.objects.get(pk=body["id"])
    assert relationship.created_by == manager_a


def test_a_manager_cannot_put_a_relationship_in_another_team(owner_api, team_b):
    stakeholder = StakeholderFactory()
    response = owner_api.post(
        "/api/v1/relationships/", {"stakeholder": stakeholder.pk, "team": team_b.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "team_not_allowed"
    assert not Relationship.objects.exists()


def test_only_managers_and_admins_can_be_relationship_managers(owner_api, own, contributor_a):
    response = owner_api.patch(
        f"/api/v1/relationships/{own.pk}/",
        {"version": own.version, "manager": contributor_a.pk},
        format="json",
    )
    assert response.status_code == 400
    assert "manager" in field_errors(response)


def test_rating_goes_through_the_service(owner_api, own):
    response = owner_api.post(
        f"/api/v1/relationships/{own.pk}/rating/", {"rating": 4, "note": "Good"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["manager_rating"] == 4
    assert (
        owner_api.post(
            f"/api/v1/relationships/{own.pk}/rating/", {"rating": 9}, format="json"
        ).status_code
        == 400
    )


# --- Interactions, follow-ups, commitments, value -------------------------------------


def test_an_interaction_with_a_follow_up_creates_a_commitment(
    owner_api, own, manager_a, contributor_a
):
    due = (TODAY() + timedelta(days=7)).isoformat()
    response = owner_api.post(
        "/api/v1/interactions/",
        {
            "relationship": own.pk,
            "occurred_on": TODAY().isoformat(),
            "channel": "partnering_session",
            "summary": "Planned the roll-out",
            "sentiment": 2,
            "participant_users": [contributor_a.pk],
            "follow_up": {"description": "Send the plan", "due_on": due},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    commitment = Commitment.objects.get()
    assert body["follow_ups"] == [commitment.pk]
    assert body["participant_users"] == [contributor_a.pk]
    assert (commitment.owner, commitment.direction, commitment.due_on.isoformat()) == (
        manager_a,
        "ours",
        due,
    )
    assert commitment.source_interaction_id == body["id"]
    own.refresh_from_db()
    assert own.last_interaction_on == TODAY()


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"is_key_experience": True}, "outcome_required"),
        ({"outcome": "success"}, "outcome_without_key_experience"),
        ({"summary": "   "}, None),  # blank after trimming: a field error
        ({"occurred_on": "2999-01-01"}, "future_date"),
    ],
)
def test_interaction_rules_refuse_and_save_nothing(owner_api, own, changes, code):
    body = {
        "relationship": own.pk,
        "occurred_on": TODAY().isoformat(),
        "channel": "call",
        "summary": "Called",
        "follow_up": {"description": "Call back"},
        **changes,
    }
    response = owner_api.post("/api/v1/interactions/", body, format="json")
    assert response.status_code == 400
    if code:
        assert response.json()["code"] == code
    assert not Interaction.objects.exists()
    assert not Commitment.objects.exists()


def test_participants_must_belong_to_the_relationship(owner_api, own, manager_b):
    other_contact = __import__("tests.factories", fromlist=["x"]).ContactFactory()
    base = {
        "relationship": own.pk,
        "occurred_on": TODAY().isoformat(),
        "channel": "call",
        "summary": "Called",
    }
    response = owner_api.post(
        "/api/v1/interactions/", {**base, "participant_users": [manager_b.pk]}, format="json"
    )
    assert response.status_code == 400
    assert "participant_users" in field_errors(response)
    response = owner_api.post(
        "/api/v1/interactions/", {**base, "participant_contacts": [other_contact.pk]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "contact_elsewhere"
    response = owner_api.post(
        "/api/v1/interactions/",
        {**base, "follow_up": {"description": "x", "owner": manager_b.pk}},
        format="json",
    )
    assert response.status_code == 400
    assert not Interaction.objects.exists()


def test_no_interaction_on_an_ended_relationship(owner_api, team_a, manager_a):
    ended = RelationshipFactory(team=team_a, manager=manager_a, stage="ended")
    response = owner_api.post(
        "/api/v1/interactions/",
        {"relationship": ended.pk, "occurred_on": TODAY().isoformat(), "channel": "call",
         "summary": "x"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["code"] == "relationship_ended"


def test_commitment_status_is_set_and_closed(owner_api, own):
    commitment = CommitmentFactory(relationship=own, owner=own.manager)
    response = owner_api.post(
        f"/api/v1/commitments/{commitment.pk}/status/", {"status": "kept"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "kept"
    assert response.json()["closed_on"] == TODAY().isoformat()
    response = owner_api.post(
        f"/api/v1/commitments/{commitment.pk}/status/", {"status": "forgotten"}, format="json"
    )
    assert response.status_code == 400
    assert "status" in field_errors(response)
    commitment.refresh_from_db()
    assert commitment.status == "kept"


def test_a_commitment_defaults_its_owner_to_the_caller(owner_api, own, manager_a):
    response = owner_api.post(
        "/api/v1/commitments/",
        {"relationship": own.pk, "direction": "ours", "description": "Visit"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["owner"] == manager_a.pk


@pytest.mark.parametrize(
    ("body", "status", "code_or_field"),
    [
        ({"kind": "revenue", "unit": "GBP"}, 400, "amount_required"),
        ({"kind": "revenue", "amount": "10"}, 400, "unit_required"),
        ({"kind": "revenue", "amount": "-1", "unit": "GBP"}, 400, "amount"),
        ({"kind": "revenue", "amount": "1e20", "unit": "GBP"}, 400, "amount"),
        ({"kind": "revenue", "amount": "1.234", "unit": "GBP"}, 400, "amount"),
        ({"kind": "qualitative"}, 400, "note_required"),
        ({"kind": "barter", "amount": "1", "unit": "x"}, 400, "kind"),
        ({"kind": "revenue", "amount": "10", "unit": "x" * 21}, 400, "unit"),
        ({"kind": "revenue", "amount": "10", "unit": "GBP", "recorded_on": "2999-01-01"}, 400,
         "future_date"),
        ({"kind": "revenue", "amount": "10.50", "unit": "eur"}, 201, None),
    ],
)  # fmt: skip
def test_value_record_validation(owner_api, own, body, status, code_or_field):
    payload = {"relationship": own.pk, "recorded_on": TODAY().isoformat(), **body}
    response = owner_api.post("/api/v1/value-records/", payload, format="json")
    assert response.status_code == status, response.content
    if status == 201:
        assert (response.json()["amount"], response.json()["unit"]) == ("10.50", "EUR")
    else:  # a rule names its code, a malformed field the field
        body = api_error(response)
        assert code_or_field in (body["code"], body["field"])


# --- Lists: filters, ordering, pagination, query counts -------------------------------


def test_relationship_list_uses_the_web_filters_and_stable_order(owner_api, team_a, manager_a):
    for name in ("Beta", "Alpha", "Gamma"):
        RelationshipFactory(
            team=team_a, manager=manager_a, stakeholder=StakeholderFactory(name=name)
        )
    RelationshipFactory(team=team_a, stage="pilot", stakeholder=StakeholderFactory(name="Delta"))
    names = [
        r["stakeholder_name"] for r in owner_api.get("/api/v1/relationships/").json()["results"]
    ]
    assert names == ["Alpha", "Beta", "Delta", "Gamma"]
    pilots = owner_api.get("/api/v1/relationships/", {"stage": "pilot"}).json()
    assert [r["stakeholder_name"] for r in pilots["results"]] == ["Delta"]
    found = owner_api.get("/api/v1/relationships/", {"q": "gam"}).json()
    assert [r["stakeholder_name"] for r in found["results"]] == ["Gamma"]
    assert owner_api.get("/api/v1/relationships/", {"stage": "heaven"}).status_code == 400
    by_stage = owner_api.get("/api/v1/relationships/", {"sort": "-stage"}).json()
    assert by_stage["results"][0]["stakeholder_name"] == "Delta"
    page = owner_api.get("/api/v1/relationships/", {"page_size": 2, "page": 2}).json()
    assert [r["stakeholder_name"] for r in page["results"]] == ["Delta", "Gamma"]
    big = owner_api.get("/api/v1/relationships/", {"page_size": 100000})
    assert big.status_code == 200


def test_records_lists_filter_by_relationship(owner_api, own, team_a):
    other = RelationshipFactory(team=team_a)
    InteractionFactory(relationship=own)
    InteractionFactory(relationship=other)
    body = owner_api.get("/api/v1/interactions/", {"relationship": own.pk}).json()
    assert [i["relationship"] for i in body["results"]] == [own.pk]


def _fill(team, manager, count: int) -> None:
    """``count`` relationships, each with a stakeholder tagged with a value and assessed,
    a contact, an interaction with participants and a follow-up, and a value record."""
    from stakeholders.models import Assessment
    from tests.factories import ContactFactory, ValueFactory, ValueRecordFactory

    for _ in range(count):
        relationship = RelationshipFactory(team=team, manager=manager)
        stakeholder = relationship.stakeholder
        stakeholder.values.add(ValueFactory())
        Assessment.objects.create(stakeholder=stakeholder, assessed_on=TODAY(), power=3, interest=3)
        contact = ContactFactory(stakeholder=stakeholder)
        interaction = InteractionFactory(relationship=relationship)
        interaction.participant_users.set([manager])
        interaction.participant_contacts.set([contact])
        CommitmentFactory(relationship=relationship, source_interaction=interaction)
        ValueRecordFactory(relationship=relationship)
        StageTransition.objects.create(
            relationship=relationship, from_stage="identify", to_stage="present", by=manager
        )


LISTS = [
    "/api/v1/relationships/",
    "/api/v1/interactions/",
    "/api/v1/commitments/",
    "/api/v1/value-records/",
    "/api/v1/stakeholders/",
    "/api/v1/contacts/",
    "/api/v1/assessments/",
    "/api/v1/values/",
]


@pytest.mark.parametrize("url", LISTS)
def test_lists_run_a_constant_number_of_queries(
    owner_api, team_a, manager_a, url, django_assert_max_num_queries
):
    for total, added in ((30, 30), (60, 30)):
        _fill(team_a, manager_a, added)
        # The same cap for 30 and 60 rows: a query per row would blow it.
        with django_assert_max_num_queries(8):
            response = owner_api.get(url, {"page_size": 200})
        assert response.status_code == 200
        body = response.json()
        # Interactions are paged by cursor: no count, so count what came back.
        assert body.get("count", len(body["results"])) == total


# --- Interactions: cursor pagination ---------------------------------------------------


def _pages(api, url: str, query: dict) -> list[dict]:
    """Every page from the first, following ``next``."""
    pages = [api.get(url, query).json()]
    while pages[-1]["next"]:
        pages.append(api.get(pages[-1]["next"]).json())
    return pages


def test_interactions_are_paged_by_cursor_without_a_count(
    owner_api, own, django_assert_max_num_queries
):
    days = [TODAY() - timedelta(days=n % 4) for n in range(7)]  # ties on the date
    for day in days:
        InteractionFactory(relationship=own, occurred_on=day)
    expected = list(
        Interaction.objects.order_by("-occurred_on", "-id").values_list("id", flat=True)
    )
    with django_assert_max_num_queries(8):
        first = owner_api.get("/api/v1/interactions/", {"page_size": 3})
    assert first.status_code == 200
    body = first.json()
    assert set(body) == {"next", "previous", "results"}  # no COUNT(*)
    assert body["previous"] is None

    pages = _pages(owner_api, "/api/v1/interactions/", {"page_size": 3})
    assert [len(page["results"]) for page in pages] == [3, 3, 1]
    walked = [i["id"] for page in pages for i in page["results"]]
    assert walked == expected  # newest first, ties by id: nothing repeated or skipped

    back = owner_api.get(pages[-1]["previous"]).json()
    assert [i["id"] for i in back["results"]] == [i["id"] for i in pages[1]["results"]]


def test_an_interaction_logged_meanwhile_does_not_shift_the_next_page(owner_api, own):
    for n in range(4):
        InteractionFactory(relationship=own, occurred_on=TODAY() - timedelta(days=n + 1))
    first = owner_api.get("/api/v1/interactions/", {"page_size": 2}).json()
    InteractionFactory(relationship=own, occurred_on=TODAY())  # lands before the first page
    second = owner_api.get(first["next"]).json()
    oldest = Interaction.objects.order_by("occurred_on", "id").values_list("id", flat=True)
    assert [i["id"] for i in second["results"]] == list(oldest[:2])[::-1]


def test_interaction_links_keep_the_filters_and_the_order_is_fixed(owner_api, own, team_a):
    other = RelationshipFactory(team=team_a)
    for n in range(3):
        InteractionFactory(relationship=own, occurred_on=TODAY() - timedelta(days=n))
        InteractionFactory(relationship=other, occurred_on=TODAY() - timedelta(days=n))
    query = {"relationship": own.pk, "page_size": 2, "ordering": "occurred_on"}
    pages = _pages(owner_api, "/api/v1/interactions/", query)
    listed = [i for page in pages for i in page["results"]]
    assert {i["relationship"] for i in listed} == {own.pk}
    # ?ordering= is not offered here: newest first regardless.
    assert [i["occurred_on"] for i in listed] == sorted(
        (i["occurred_on"] for i in listed), reverse=True
    )
    assert len(listed) == 3


@pytest.mark.parametrize("cursor", ["not-a-cursor", "cD0yMDI1LTEzLTQ1", "bz05OTk5OTk5OTk5"])
def test_a_forged_cursor_is_never_a_server_error(owner_api, own, cursor):
    InteractionFactory(relationship=own)
    response = owner_api.get("/api/v1/interactions/", {"cursor": cursor})
    # Garbage and impossible dates are refused; a huge offset is capped (an empty page).
    assert response.status_code in (200, 400, 404), response.content


def test_the_transition_history_runs_a_constant_number_of_queries(
    owner_api, own, manager_a, django_assert_max_num_queries
):
    for total in (30, 60):
        for _ in range(30):
            StageTransition.objects.create(
                relationship=own, from_stage="identify", to_stage="present", by=manager_a
            )
        with django_assert_max_num_queries(6):
            response = owner_api.get(
                f"/api/v1/relationships/{own.pk}/transitions/", {"page_size": 200}
            )
        assert response.json()["count"] == total
