"""The cadence and the next review date: always current, month ends, the local "today"."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from relationships.models import Stage
from reviews.models import Review
from reviews.services import next_review_date, review_start
from tests.factories import InteractionFactory, RelationshipFactory, RelationshipTypeFactory
from workflows.lifecycle import relationship_edit, relationship_move

pytestmark = pytest.mark.django_db

UTC = ZoneInfo("UTC")


def open_reviews(relationship):
    return list(relationship.reviews.filter(status=Review.Status.SCHEDULED))


@pytest.mark.parametrize(
    ("anchor", "days", "expected"),
    [
        (date(2025, 1, 31), 30, date(2025, 3, 2)),  # past February's end
        (date(2024, 1, 31), 30, date(2024, 3, 1)),  # leap year
        (date(2024, 2, 29), 365, date(2025, 2, 28)),  # a year from a leap day
        (date(2025, 12, 31), 7, date(2026, 1, 7)),  # across the year end
        (date(2025, 3, 29), 1, date(2025, 3, 30)),  # the night clocks go forward
    ],
)
def test_next_review_date_adds_cadence_days_across_month_ends(anchor, days, expected):
    assert next_review_date(anchor, days) == expected


def test_a_new_relationship_gets_one_scheduled_review_at_its_types_cadence(manager_a, team_a):
    kind = RelationshipTypeFactory(name="Monthly test type", default_review_cadence_days=30)
    with time_machine.travel(datetime(2025, 1, 31, 12, tzinfo=UTC), tick=False):
        relationship = RelationshipFactory(manager=manager_a, team=team_a, type=kind)
    relationship.refresh_from_db()
    assert relationship.next_review_on == date(2025, 3, 2)
    [review] = open_reviews(relationship)
    assert review.due_on == date(2025, 3, 2)


def test_changing_the_cadence_or_the_type_moves_the_next_review(manager_a, team_a, rel_type):
    with time_machine.travel(datetime(2025, 1, 1, 12, tzinfo=UTC), tick=False):
        relationship = RelationshipFactory(manager=manager_a, team=team_a, type=rel_type)
        relationship.refresh_from_db()
        assert relationship.next_review_on == date(2025, 4, 1)  # 90 days

        relationship_edit(
            relationship=relationship,
            by=manager_a,
            expected_version=relationship.version,
            review_cadence_days=14,
        )
        relationship.refresh_from_db()
        assert relationship.next_review_on == date(2025, 1, 15)
        assert [r.due_on for r in open_reviews(relationship)] == [date(2025, 1, 15)]

        quarterly = RelationshipTypeFactory(
            name="Half-yearly test type", default_review_cadence_days=180
        )
        relationship_edit(
            relationship=relationship,
            by=manager_a,
            expected_version=relationship.version,
            review_cadence_days=None,
            type=quarterly,
        )
        relationship.refresh_from_db()
        assert relationship.next_review_on == date(2025, 6, 30)
        assert len(open_reviews(relationship)) == 1


def test_the_cadence_counts_from_the_start_once_the_relationship_is_presented(
    manager_a, team_a, rel_type
):
    with time_machine.travel(datetime(2025, 1, 1, 12, tzinfo=UTC), tick=False):
        relationship = RelationshipFactory(manager=manager_a, team=team_a, type=rel_type)
    with time_machine.travel(datetime(2025, 2, 1, 12, tzinfo=UTC), tick=False):
        relationship_move(relationship=relationship, to_stage=Stage.PRESENT, by=manager_a)
    relationship.refresh_from_db()
    assert relationship.started_on == date(2025, 2, 1)
    assert relationship.next_review_on == date(2025, 5, 2)


def test_ending_a_relationship_cancels_its_review_and_clears_the_date(relationship, manager_a):
    relationship_move(
        relationship=relationship, to_stage=Stage.ENDED, by=manager_a, note="They closed down."
    )
    relationship.refresh_from_db()
    assert relationship.next_review_on is None
    assert not open_reviews(relationship)
    assert relationship.reviews.get().status == Review.Status.CANCELLED


def test_entering_the_review_stage_opens_exactly_one_review_due_today(manager_a, team_a, rel_type):
    relationship = RelationshipFactory(manager=manager_a, team=team_a, type=rel_type, stage="build")
    relationship_move(relationship=relationship, to_stage=Stage.REVIEW, by=manager_a)
    relationship.refresh_from_db()
    [review] = open_reviews(relationship)
    assert review.due_on == timezone.localdate()
    assert relationship.next_review_on == timezone.localdate()
    # The review stays on its date when the relationship is edited meanwhile.
    relationship_edit(
        relationship=relationship, by=manager_a, expected_version=relationship.version, purpose="x"
    )
    assert [r.due_on for r in open_reviews(relationship)] == [timezone.localdate()]


def test_starting_a_review_from_build_moves_the_relationship_into_review(
    manager_a, team_a, rel_type
):
    relationship = RelationshipFactory(manager=manager_a, team=team_a, type=rel_type, stage="build")
    InteractionFactory(relationship=relationship)
    review = review_start(relationship=relationship, by=manager_a)
    relationship.refresh_from_db()
    assert relationship.stage == Stage.REVIEW
    assert review.due_on == timezone.localdate()
    assert open_reviews(relationship) == [review]
    assert review_start(relationship=relationship, by=manager_a) == review  # twice: still one


@pytest.mark.parametrize(
    ("utc_moment", "state"),
    [
        # 23:30 UTC on 30 June is 00:30 on 1 July in London (BST): the review is due "today".
        (datetime(2025, 6, 30, 23, 30, tzinfo=UTC), "due"),
        (datetime(2025, 6, 30, 22, 30, tzinfo=UTC), "scheduled"),
        (datetime(2025, 7, 1, 23, 30, tzinfo=UTC), "overdue"),
    ],
)
def test_due_and_overdue_follow_the_local_date_not_utc(settings, relationship, utc_moment, state):
    settings.TIME_ZONE = "Europe/London"
    Review.objects.filter(relationship=relationship).update(due_on=date(2025, 7, 1))
    review = relationship.reviews.get()
    with time_machine.travel(utc_moment, tick=False):
        assert review.state(timezone.localdate()) == state


def test_backfill_schedules_relationships_created_in_bulk(manager_a, team_a, rel_type):
    from relationships.models import Relationship
    from reviews.services import reviews_schedule_missing
    from tests.factories import StakeholderFactory

    stakeholders = [StakeholderFactory() for _ in range(3)]
    Relationship.objects.bulk_create(
        [Relationship(stakeholder=s, type=rel_type, manager=manager_a) for s in stakeholders]
    )
    assert not Review.objects.exists()
    assert reviews_schedule_missing(batch_size=2) == 3
    assert reviews_schedule_missing() == 0  # idempotent
    assert Relationship.objects.filter(next_review_on__isnull=True).count() == 0


def test_the_api_schedules_through_the_workflow_on_open_and_on_a_new_cadence(
    manager_a, team_a, rel_type
):
    """The API's create and edit call workflows.lifecycle: the schedule follows, once."""
    from rest_framework.test import APIClient

    from accounts.tokens import token_create
    from tests.factories import StakeholderFactory

    _, raw = token_create(user=manager_a, name="schedule", scope="write")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    today = timezone.localdate()
    body = {"stakeholder": StakeholderFactory().pk, "type": rel_type.pk, "team": team_a.pk}
    created = api.post("/api/v1/relationships/", body, format="json")
    assert created.status_code == 201, created.content
    relationship = Review.objects.get(status=Review.Status.SCHEDULED).relationship
    assert relationship.pk == created.json()["id"]
    assert relationship.next_review_on == next_review_date(today, 90)

    edited = api.patch(
        f"/api/v1/relationships/{relationship.pk}/",
        {"version": relationship.version, "review_cadence_days": 14},
        format="json",
    )
    assert edited.status_code == 200, edited.content
    assert edited.json()["next_review_on"] == next_review_date(today, 14).isoformat()
    assert [r.due_on for r in open_reviews(relationship)] == [next_review_date(today, 14)]
