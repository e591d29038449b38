"""The reviews API: completing reviews through the lifecycle rules, starting them, feedback
requests; scoped by the relationship's visibility."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from relationships.models import StageTransition
from reviews.models import FeedbackRequest, FeedbackResponse, Review
from tests.api.conftest import field_errors
from tests.factories import ContactFactory, RelationshipFactory

pytestmark = pytest.mark.django_db

RATINGS = {"trust": 4, "communication": 3, "value_to_us": 5, "value_to_them": 4, "overall": 4}


@pytest.fixture(autouse=True)
def _clear_throttles():
    cache.clear()


@pytest.fixture
def api():
    return APIClient()


def as_user(api, user):
    api.force_authenticate(user)
    return api


def open_review(relationship) -> Review:
    return Review.objects.get(relationship=relationship, status=Review.Status.SCHEDULED)


def complete_url(review: Review) -> str:
    return f"/api/v1/reviews/{review.pk}/complete/"


@pytest.fixture
def secret(team_a, manager_a, rel_type):
    """Team A's confidential relationship, in review."""
    return RelationshipFactory(
        team=team_a, manager=manager_a, type=rel_type, confidential=True, stage="review"
    )


# --- Completing: each decision, each refusal -----------------------------------------


@pytest.mark.parametrize(
    ("decision", "note", "stage"),
    [
        ("grow", "", "build"),
        ("change", "Move to a lighter form.", "present"),
        ("end", "Three missed deliveries.", "ended"),
    ],
)
def test_completing_applies_the_decision_through_the_lifecycle(
    api, manager_a, relationship, decision, note, stage
):
    review = open_review(relationship)
    response = as_user(api, manager_a).post(
        complete_url(review),
        {**RATINGS, "decision": decision, "decision_note": note, "went_well": "Pilot on time"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["status"] == "completed"
    assert body["state"] == "completed"
    assert body["decision"] == decision
    assert body["decision_applied"] is True
    assert (body["stage_before"], body["stage_after"]) == ("review", stage)
    relationship.refresh_from_db()
    assert relationship.stage == stage
    transition = StageTransition.objects.filter(relationship=relationship).latest("at")
    assert (transition.to_stage, transition.by) == (stage, manager_a)
    review.refresh_from_db()
    assert review.completed_by == manager_a
    assert review.went_well == "Pilot on time"
    assert review.history.first().history_user == manager_a


@pytest.mark.parametrize(
    ("decision", "code"), [("end", "reason_required"), ("change", "change_required")]
)
def test_end_or_change_without_a_note_is_refused_and_nothing_is_saved(
    api, manager_a, relationship, decision, code
):
    review = open_review(relationship)
    response = as_user(api, manager_a).post(
        complete_url(review),
        {**RATINGS, "decision": decision, "decision_note": "  "},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    assert body["field"] == "decision_note"
    assert body["detail"]
    review.refresh_from_db()
    relationship.refresh_from_db()
    assert review.status == "scheduled"
    assert review.trust is None
    assert relationship.stage == "review"
    assert not StageTransition.objects.filter(relationship=relationship, to_stage="ended").exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"trust": 7}, "trust"),
        ({"overall": 0}, "overall"),
        ({"communication": "good"}, "communication"),
        ({"value_to_us": None}, "value_to_us"),
        ({"decision": "pause"}, "decision"),
        ({"went_well": "x" * 10_001}, "went_well"),
        ({"decision_note": ["a list"]}, "decision_note"),
    ],
)
def test_invalid_input_gets_field_errors_and_nothing_is_saved(
    api, manager_a, relationship, change, field
):
    review = open_review(relationship)
    body = {**RATINGS, "decision": "grow", **change}
    response = as_user(api, manager_a).post(complete_url(review), body, format="json")
    assert response.status_code == 400
    assert field in field_errors(response)
    review.refresh_from_db()
    assert review.status == "scheduled"
    assert review.trust is None


def test_a_missing_rating_is_a_field_error(api, manager_a, relationship):
    review = open_review(relationship)
    ratings = dict(RATINGS)
    del ratings["value_to_them"]
    response = as_user(api, manager_a).post(
        complete_url(review), {**ratings, "decision": "grow"}, format="json"
    )
    assert response.status_code == 400
    assert "value_to_them" in field_errors(response)


@pytest.mark.parametrize(
    ("raw", "content_type", "status"),
    [("{bad", "application/json", 400), ("trust=4", "application/x-www-form-urlencoded", 415)],
)
def test_malformed_bodies_get_4xx(api, manager_a, relationship, raw, content_type, status):
    review = open_review(relationship)
    as_user(api, manager_a)
    response = api.generic("POST", complete_url(review), raw, content_type=content_type)
    assert response.status_code == status
    review.refresh_from_db()
    assert review.status == "scheduled"


def test_change_is_not_possible_from_pilot(api, manager_a, team_a, rel_type):
    relationship = RelationshipFactory(manager=manager_a, team=team_a, type=rel_type, stage="pilot")
    review = open_review(relationship)
    response = as_user(api, manager_a).post(
        complete_url(review), {**RATINGS, "decision": "change", "decision_note": "x"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "change_not_possible"
    assert "Pilot" in response.json()["detail"]


def test_a_review_completes_only_once(api, manager_a, relationship):
    review = open_review(relationship)
    as_user(api, manager_a)
    assert (
        api.post(complete_url(review), {**RATINGS, "decision": "grow"}, format="json").status_code
        == 200
    )
    again = api.post(complete_url(review), {**RATINGS, "decision": "grow"}, format="json")
    assert again.status_code == 400
    assert again.json()["code"] == "review_closed"


def test_an_asked_executive_completes_as_advice(api, manager_a, executive, relationship):
    review = open_review(relationship)
    as_user(api, manager_a)
    response = api.post(
        f"/api/v1/reviews/{review.pk}/reviewers/", {"reviewer": executive.pk}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["reviewers"] == [executive.pk]
    response = as_user(api, executive).post(
        complete_url(review),
        {**RATINGS, "decision": "end", "decision_note": "Stop."},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["decision_applied"] is False
    relationship.refresh_from_db()
    assert relationship.stage == "review"  # advice, not applied


def test_only_executives_can_be_asked(api, manager_a, contributor_a, relationship):
    review = open_review(relationship)
    response = as_user(api, manager_a).post(
        f"/api/v1/reviews/{review.pk}/reviewers/", {"reviewer": contributor_a.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "not_executive"


# --- Permissions ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("persona", "which", "read", "complete"),
    [
        ("manager_a", "open", 200, 200),
        ("manager_a", "secret", 200, 200),
        ("admin_user", "secret", 200, 200),
        ("contributor_a", "open", 200, 403),
        ("contributor_a", "secret", 200, 403),
        ("executive", "secret", 200, 403),  # reads everything; completes only when asked
        ("manager_b", "open", 200, 403),
        ("manager_b", "secret", 404, 404),
    ],
)
def test_permission_matrix(request, api, relationship, secret, persona, which, read, complete):
    user = request.getfixturevalue(persona)
    target = relationship if which == "open" else secret
    review = open_review(target)
    as_user(api, user)
    assert api.get(f"/api/v1/reviews/{review.pk}/").status_code == read
    listed = {r["id"] for r in api.get("/api/v1/reviews/?page_size=200").json()["results"]}
    assert (review.pk in listed) == (read == 200)
    response = api.post(complete_url(review), {**RATINGS, "decision": "grow"}, format="json")
    assert response.status_code == complete
    if complete == 403:
        assert response.json()["code"] == "permission_denied"
    review.refresh_from_db()
    assert (review.status == "completed") == (complete == 200)


def test_refusals_come_before_input_is_parsed(api, contributor_a, relationship):
    review = open_review(relationship)
    response = as_user(api, contributor_a).post(complete_url(review), {"trust": "x"}, format="json")
    assert response.status_code == 403


# --- Starting ------------------------------------------------------------------------


def test_starting_from_build_moves_the_relationship_to_review(api, manager_a, team_a, rel_type):
    relationship = RelationshipFactory(manager=manager_a, team=team_a, type=rel_type, stage="build")
    response = as_user(api, manager_a).post(
        "/api/v1/reviews/start/", {"relationship": relationship.pk}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["state"] == "due"
    relationship.refresh_from_db()
    assert relationship.stage == "review"


def test_starting_needs_a_visible_active_relationship(api, manager_a, manager_b, secret, team_a):
    response = as_user(api, manager_b).post(
        "/api/v1/reviews/start/", {"relationship": secret.pk}, format="json"
    )
    assert response.status_code == 400
    assert "does not exist" in field_errors(response)["relationship"][0]
    ended = RelationshipFactory(manager=manager_a, team=team_a, stage="ended")
    response = as_user(api, manager_a).post(
        "/api/v1/reviews/start/", {"relationship": ended.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "relationship_ended"


def test_a_contributor_cannot_start_a_review(api, contributor_a, relationship):
    response = as_user(api, contributor_a).post(
        "/api/v1/reviews/start/", {"relationship": relationship.pk}, format="json"
    )
    assert response.status_code == 403


# --- Lists: filters, ordering, query counts -----------------------------------------


def test_review_filters(api, manager_a, team_a, rel_type):
    today = timezone.localdate()
    late = RelationshipFactory(manager=manager_a, team=team_a, type=rel_type, stage="build")
    soon = RelationshipFactory(manager=manager_a, team=team_a, type=rel_type, stage="build")
    Review.objects.filter(relationship=late).update(due_on=today - timedelta(days=5))
    Review.objects.filter(relationship=soon).update(due_on=today + timedelta(days=3))
    as_user(api, manager_a)

    def ids(query):
        return [r["relationship"] for r in api.get(f"/api/v1/reviews/?{query}").json()["results"]]

    assert ids("overdue=true") == [late.pk]
    assert ids("state=overdue") == [late.pk]
    assert ids(f"due_after={today.isoformat()}") == [soon.pk]
    assert ids(f"due_before={today.isoformat()}&ordering=due_on") == [late.pk]
    assert ids(f"relationship={soon.pk}") == [soon.pk]
    assert ids("ordering=due_on") == [late.pk, soon.pk]
    assert ids("mine=true") == [soon.pk, late.pk]
    assert api.get("/api/v1/reviews/?state=someday").status_code == 400
    assert api.get("/api/v1/reviews/?due_after=tomorrow").status_code == 400


@pytest.mark.parametrize("count", [30, 60])
def test_the_review_list_costs_the_same_queries_at_any_size(
    api, manager_b, team_a, rel_type, executive, count, django_assert_max_num_queries
):
    for _ in range(count):
        relationship = RelationshipFactory(team=team_a, type=rel_type, stage="build")
        open_review(relationship).reviewers.add(executive)
    as_user(api, manager_b)
    with django_assert_max_num_queries(4):
        response = api.get("/api/v1/reviews/?page_size=100")
    assert response.json()["count"] == count


# --- Feedback requests ---------------------------------------------------------------


def test_asking_for_feedback_sends_the_email_after_commit(
    api, manager_a, relationship, contact, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = as_user(api, manager_a).post(
            "/api/v1/feedback-requests/",
            {"relationship": relationship.pk, "contact": contact.pk, "message": "How are we?"},
            format="json",
        )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["contact_name"] == "Jo Contact"
    assert body["response"] is None
    assert len(mail.outbox) == 1
    assert api.get(f"/api/v1/feedback-requests/{body['id']}/").json()["state"] == "sent"


def test_the_contact_must_belong_to_the_stakeholder(api, manager_a, relationship):
    elsewhere = ContactFactory()
    response = as_user(api, manager_a).post(
        "/api/v1/feedback-requests/",
        {"relationship": relationship.pk, "contact": elsewhere.pk},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "contact_elsewhere"
    assert response.json()["field"] == "contact"
    assert not FeedbackRequest.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"contact": "x"}, "contact"),
        ({"message": "m" * 2001}, "message"),
        ({"relationship": None}, "relationship"),
    ],
)
def test_invalid_feedback_requests_get_field_errors(
    api, manager_a, relationship, contact, body, field
):
    response = as_user(api, manager_a).post(
        "/api/v1/feedback-requests/",
        {"relationship": relationship.pk, "contact": contact.pk, **body},
        format="json",
    )
    assert response.status_code == 400
    assert field in field_errors(response)


def test_feedback_requests_follow_the_relationship_visibility(
    api, manager_a, manager_b, contributor_a, secret
):
    contact = ContactFactory(stakeholder=secret.stakeholder)
    request = FeedbackRequest.objects.create(
        relationship=secret,
        contact=contact,
        sent_by=manager_a,
        expires_at=timezone.now() + timedelta(days=5),
        answered_at=timezone.now(),
    )
    FeedbackResponse.objects.create(
        request=request,
        relationship=secret,
        satisfaction=8,
        responsiveness=4,
        communication=4,
        value=5,
        comment="Good",
    )
    as_user(api, manager_b)
    assert api.get(f"/api/v1/feedback-requests/{request.pk}/").status_code == 404
    assert api.get("/api/v1/feedback-requests/").json()["count"] == 0
    response = api.post(
        "/api/v1/feedback-requests/",
        {"relationship": secret.pk, "contact": contact.pk},
        format="json",
    )
    assert response.status_code == 400
    assert "does not exist" in field_errors(response)["relationship"][0]

    body = as_user(api, manager_a).get(f"/api/v1/feedback-requests/{request.pk}/").json()
    assert body["response"]["satisfaction"] == 8
    assert body["state"] == "answered"
    assert api.get("/api/v1/feedback-requests/?answered=true").json()["count"] == 1
    assert api.get("/api/v1/feedback-requests/?answered=false").json()["count"] == 0
    # A contributor sees it (their team's) but may not ask.
    response = as_user(api, contributor_a).post(
        "/api/v1/feedback-requests/",
        {"relationship": secret.pk, "contact": contact.pk},
        format="json",
    )
    assert response.status_code == 403


def test_feedback_requests_cannot_be_changed_or_deleted(api, manager_a, relationship, contact):
    request = FeedbackRequest.objects.create(
        relationship=relationship, contact=contact, expires_at=timezone.now() + timedelta(days=1)
    )
    as_user(api, manager_a)
    assert (
        api.patch(f"/api/v1/feedback-requests/{request.pk}/", {}, format="json").status_code == 405
    )
    assert api.delete(f"/api/v1/feedback-requests/{request.pk}/").status_code == 405


@pytest.mark.parametrize("count", [30, 60])
def test_the_feedback_list_costs_the_same_queries_at_any_size(
    api, manager_a, relationship, count, django_assert_max_num_queries
):
    for n in range(count):
        contact = ContactFactory(stakeholder=relationship.stakeholder)
        request = FeedbackRequest.objects.create(
            relationship=relationship,
            contact=contact,
            expires_at=timezone.now() + timedelta(days=1),
        )
        if n % 2:
            FeedbackResponse.objects.create(
                request=request,
                relationship=relationship,
                satisfaction=7,
                responsiveness=3,
                communication=3,
                value=3,
            )
    as_user(api, manager_a)
    with django_assert_max_num_queries(3):
        response = api.get("/api/v1/feedback-requests/?page_size=100")
    assert response.json()["count"] == count


@pytest.mark.parametrize("query", ["overdue=maybe", "mine=2", "status=open", "decision=pause"])
def test_unknown_filter_values_are_refused(api, manager_a, query):
    assert as_user(api, manager_a).get(f"/api/v1/reviews/?{query}").status_code == 400
