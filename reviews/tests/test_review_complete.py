"""Completing a review: each decision's effect on the lifecycle, and who may decide."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from core.errors import PermissionRefused, RuleViolation
from notifications.models import Notification
from relationships.models import Stage, StageTransition
from reviews.models import Review
from reviews.services import review_ask_reviewer, review_complete
from tests.factories import RelationshipFactory, UserFactory

pytestmark = pytest.mark.django_db

GOOD = {"trust": 4, "communication": 4, "value_to_us": 5, "value_to_them": 3, "overall": 4}


def complete(relationship, by, decision, note="", ratings=GOOD):
    review = relationship.reviews.get(status=Review.Status.SCHEDULED)
    return review_complete(
        review=review,
        ratings=ratings,
        went_well="Joint pilot shipped",
        went_badly="Slow invoicing",
        decision=decision,
        decision_note=note,
        by=by,
    )


@pytest.mark.parametrize(
    ("decision", "note", "stage"),
    [
        ("grow", "", Stage.BUILD),
        ("change", "Narrow to the housing programme.", Stage.PRESENT),
        ("end", "Values diverged after the merger.", Stage.ENDED),
    ],
)
def test_each_decision_moves_the_relationship_through_the_lifecycle(
    relationship, manager_a, decision, note, stage
):
    review = complete(relationship, manager_a, decision, note)
    relationship.refresh_from_db()
    assert relationship.stage == stage
    assert review.status == Review.Status.COMPLETED
    assert (review.stage_before, review.stage_after) == (Stage.REVIEW, stage)
    assert review.completed_by == manager_a and review.completed_on == timezone.localdate()
    transition = StageTransition.objects.get(relationship=relationship, to_stage=stage)
    assert transition.by == manager_a
    if decision == "end":
        assert relationship.end_reason == note
        assert relationship.next_review_on is None
        assert not relationship.reviews.filter(status=Review.Status.SCHEDULED).exists()
    else:
        # The next review opens at today + cadence.
        expected = timezone.localdate() + timedelta(days=90)
        assert relationship.next_review_on == expected
        assert relationship.reviews.get(status=Review.Status.SCHEDULED).due_on == expected


@pytest.mark.parametrize(
    ("decision", "code", "field"),
    [("end", "reason_required", "decision_note"), ("change", "change_required", "decision_note")],
)
def test_end_needs_a_reason_and_change_says_what_changes_and_nothing_is_saved(
    relationship, manager_a, decision, code, field
):
    with pytest.raises(RuleViolation) as caught:
        complete(relationship, manager_a, decision, note="  ")
    assert (caught.value.code, caught.value.field) == (code, field)
    relationship.refresh_from_db()
    assert relationship.stage == Stage.REVIEW
    review = relationship.reviews.get()
    assert review.status == Review.Status.SCHEDULED and review.overall is None
    assert not StageTransition.objects.exists()


def test_ratings_must_run_from_one_to_five(relationship, manager_a):
    with pytest.raises(RuleViolation) as caught:
        complete(relationship, manager_a, "grow", ratings={**GOOD, "trust": 6, "overall": None})
    assert {p.field for p in caught.value.problems} == {"trust", "overall"}
    assert relationship.reviews.get().status == Review.Status.SCHEDULED


def test_a_due_review_of_a_relationship_in_build_moves_it_to_review_then_applies(
    manager_a, team_a, rel_type
):
    relationship = RelationshipFactory(manager=manager_a, team=team_a, type=rel_type, stage="build")
    review = complete(relationship, manager_a, "change", "Rethink the scope.")
    relationship.refresh_from_db()
    assert relationship.stage == Stage.PRESENT
    moves = list(
        StageTransition.objects.filter(relationship=relationship)
        .order_by("id")
        .values_list("from_stage", "to_stage")
    )
    assert moves == [(Stage.BUILD, Stage.REVIEW), (Stage.REVIEW, Stage.PRESENT)]
    assert review.stage_before == Stage.BUILD
    assert relationship.reviews.filter(status=Review.Status.SCHEDULED).count() == 1


def test_a_completed_review_cannot_be_completed_again(relationship, manager_a):
    review = complete(relationship, manager_a, "grow")
    with pytest.raises(RuleViolation) as caught:
        review_complete(review=review, ratings=GOOD, decision="grow", by=manager_a)
    assert caught.value.code == "review_closed"


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("manager_a", True),  # its manager
        ("teammate", True),  # another manager of its team
        ("admin_user", True),
        ("manager_b", False),  # another team's manager
        ("contributor_a", False),  # contributors log, they do not decide
        ("executive", False),  # reads everything, decides only when asked
    ],
)
def test_who_may_complete_a_review(request, relationship, team_a, persona, allowed):
    if persona == "teammate":
        user = UserFactory(username="teammate", role="manager", teams=[team_a])
    else:
        user = request.getfixturevalue(persona)
    if allowed:
        complete(relationship, user, "grow")
    else:
        with pytest.raises(PermissionRefused):
            complete(relationship, user, "grow")
        assert relationship.reviews.get().status == Review.Status.SCHEDULED


def test_an_asked_executive_completes_the_review_as_advice_for_the_manager(
    relationship, manager_a, executive
):
    review = relationship.reviews.get()
    review_ask_reviewer(review=review, reviewer=executive, by=manager_a)
    assert Notification.objects.filter(recipient=executive, kind="review_asked").exists()
    done = complete(relationship, executive, "change", "Broaden to training.")
    relationship.refresh_from_db()
    assert done.status == Review.Status.COMPLETED and not done.decision_applied
    assert relationship.stage == Stage.REVIEW  # the manager applies it
    assert Notification.objects.filter(recipient=manager_a, kind="review_advice").exists()


def test_completing_a_review_feeds_the_health_score(relationship, manager_a):
    from relationships.services import relationship_refresh_health

    relationship_refresh_health(relationship)
    before = relationship.health_score
    complete(relationship, manager_a, "grow", ratings={**GOOD, "overall": 2})
    relationship.refresh_from_db()
    assert relationship.health_score == before - 15
    assert "Latest review rated 2/5" in relationship.health_reasons


def test_completing_early_through_the_api_keeps_the_due_date_and_schedules_once(
    manager_a, team_a, rel_type, monkeypatch
):
    """Issue 14's lost update: a receiver brought the review forward on Build → Review, then
    review_complete saved its stale copy over it (history: due → today/on demand → due).
    Now the completion writes only its own fields and the schedule is synchronised once."""
    from rest_framework.test import APIClient

    from accounts.tokens import token_create
    from reviews import services

    today = timezone.localdate()
    relationship = RelationshipFactory(
        manager=manager_a,
        team=team_a,
        type=rel_type,
        stage="build",
        started_on=today - timedelta(days=10),
    )
    review = relationship.reviews.get(status=Review.Status.SCHEDULED)
    due = today + timedelta(days=80)
    assert review.due_on == due  # not due yet: completed early

    syncs = []
    real_sync = services.relationship_sync_review_schedule
    monkeypatch.setattr(
        services,
        "relationship_sync_review_schedule",
        lambda *args, **kwargs: syncs.append(args) or real_sync(*args, **kwargs),
    )
    _, raw = token_create(user=manager_a, name="lost update", scope="write")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    response = client.post(
        f"/api/v1/reviews/{review.pk}/complete/", {**GOOD, "decision": "grow"}, format="json"
    )

    assert response.status_code == 200, response.content
    review.refresh_from_db()
    assert (review.status, review.due_on, review.on_demand) == ("completed", due, False)
    assert (review.stage_before, review.stage_after) == (Stage.BUILD, Stage.BUILD)
    # Its history: scheduled, then completed; the due date never moved in between.
    history = list(review.history.order_by("history_id").values_list("status", "due_on"))
    assert history == [("scheduled", due), ("completed", due)]
    assert not review.history.filter(on_demand=True).exists()
    # The next review counts from today's completion, and the relationship shows it.
    [following] = relationship.reviews.filter(status=Review.Status.SCHEDULED)
    assert following.due_on == today + timedelta(days=90)
    relationship.refresh_from_db()
    assert (relationship.stage, relationship.next_review_on) == (Stage.BUILD, following.due_on)
    moves = StageTransition.objects.filter(relationship=relationship).order_by("pk")
    assert [(t.from_stage, t.to_stage) for t in moves] == [("build", "review"), ("review", "build")]
    assert len(syncs) == 1
