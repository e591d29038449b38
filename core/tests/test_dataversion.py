"""The data version moves once per transaction, and only for writes a summary can show."""

from __future__ import annotations

import pytest
from django.utils import timezone

from core import dataversion
from reviews.models import Review
from reviews.services import review_complete
from tests.factories import RelationshipFactory, RelationshipTypeFactory

pytestmark = pytest.mark.django_db

RATINGS = {"trust": 4, "communication": 4, "value_to_us": 4, "value_to_them": 4, "overall": 4}


@pytest.fixture
def versions(monkeypatch):
    """Every new version written to the cache, in order."""
    written: list[str] = []
    real = dataversion._new_version
    monkeypatch.setattr(dataversion, "_new_version", lambda: written.append("v") or real())
    return written


def test_a_review_completion_moves_the_version_once_now_and_once_after_commit(
    manager_a, team_a, versions, django_capture_on_commit_callbacks
):
    relationship = RelationshipFactory(
        manager=manager_a,
        team=team_a,
        type=RelationshipTypeFactory(default_review_cadence_days=90),
        stage="build",
    )
    review = relationship.reviews.get(status=Review.Status.SCHEDULED)
    before = dataversion.current()
    versions.clear()
    with django_capture_on_commit_callbacks(execute=True):
        review_complete(review=review, ratings=RATINGS, decision="grow", by=manager_a)
    # Two moves, the review, the next review, their history rows, the events: one bump
    # when the transaction first writes, one after it commits (was 14 and 14).
    assert versions == ["v", "v"]
    assert dataversion.current() != before


def test_each_transaction_moves_it_again(manager_a, team_a, versions):
    first = RelationshipFactory(manager=manager_a, team=team_a, stage="build")
    second = RelationshipFactory(manager=manager_a, team=team_a, stage="build")
    versions.clear()
    for relationship in (first, second):
        review = relationship.reviews.get(status=Review.Status.SCHEDULED)
        review_complete(review=review, ratings=RATINGS, decision="grow", by=manager_a)
    assert versions == ["v", "v"]  # one per completion (the test never commits)


def test_bookkeeping_writes_leave_it_alone(manager_a, team_a, versions):
    relationship = RelationshipFactory(manager=manager_a, team=team_a)
    review = relationship.reviews.get()
    versions.clear()
    review.reminders.create(kind="review_due", for_date=timezone.localdate(), recipient=manager_a)
    manager_a.last_login = timezone.now()
    manager_a.save(update_fields=["last_login"])
    assert versions == []
