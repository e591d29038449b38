"""Exactly once under concurrency, on PostgreSQL: two runs at the same moment."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection

from notifications.models import Notification
from reviews.models import Digest, FeedbackRequest, FeedbackResponse, Reminder, Review
from reviews.reminders import reminders_run
from reviews.services import FeedbackLinkError, feedback_response_submit, feedback_token
from reviews.tests.conftest import require_postgres
from tests.factories import CommitmentFactory, RelationshipFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

LONDON = ZoneInfo("Europe/London")
TODAY = date(2025, 3, 10)
MORNING = datetime(2025, 3, 10, 9, 0, tzinfo=LONDON)


def run_together(target, n: int = 2) -> list:
    """Start ``n`` threads that call ``target`` at the same instant; return their outcomes."""
    barrier = threading.Barrier(n)
    outcomes: list = [None] * n

    def work(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = target()
        except Exception as error:  # reported to the test
            outcomes[i] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def test_two_concurrent_runs_deliver_every_reminder_exactly_once(
    settings, team_a, rel_type, executive
):
    require_postgres()
    settings.TIME_ZONE = "Europe/London"
    settings.REMINDER_DIGEST_HOUR = 7
    executive.teams.add(team_a)
    managers = [UserFactory(username=f"m{i}", role="manager", teams=[team_a]) for i in range(4)]
    for i in range(60):
        relationship = RelationshipFactory(
            manager=managers[i % 4], team=team_a, type=rel_type, stage="build"
        )
        # a third overdue (some beyond escalation), a third due today, a third coming up
        due = TODAY + timedelta(days=(-20 if i % 9 == 0 else -2, 0, 3)[i % 3])
        Review.objects.filter(relationship=relationship).update(due_on=due)
        if i % 5 == 0:
            CommitmentFactory(
                relationship=relationship, owner=managers[i % 4], due_on=TODAY - timedelta(days=1)
            )

    with time_machine.travel(MORNING, tick=False):
        for _ in range(3):  # three rounds of two simultaneous runs
            outcomes = run_together(reminders_run)
            assert not [o for o in outcomes if isinstance(o, Exception)], outcomes

    reminders = Reminder.objects.all()
    assert reminders.count() == 60 + 12 + 7  # a reminder per review and commitment, escalations
    assert reminders.filter(notified_at__isnull=True).count() == 0
    # One notification per reminder: no subject notified twice.
    assert Notification.objects.count() == reminders.count()
    # Each manager one digest; the executive one escalation mail listing all seven.
    digests = [m for m in mail.outbox if not m.subject.startswith("Escalation")]
    escalations = [m for m in mail.outbox if m.subject.startswith("Escalation")]
    assert sorted(m.to[0] for m in digests) == sorted(m.email for m in managers)
    assert Digest.objects.count() == 4
    assert len(escalations) == 1
    assert escalations[0].body.count("Open the review:") == 7


def test_the_same_feedback_link_submitted_twice_at_once_is_answered_once(
    relationship, contact, manager_a
):
    require_postgres()
    from django.utils import timezone

    from reviews.models import hash_nonce

    request = FeedbackRequest.objects.create(
        relationship=relationship,
        contact=contact,
        sent_by=manager_a,
        expires_at=timezone.now() + timedelta(days=3),
        nonce_hash=hash_nonce("n0nce"),
        sent_at=timezone.now(),
    )
    token = feedback_token(request.pk, "n0nce")

    def submit():
        return feedback_response_submit(
            token=token, satisfaction=9, responsiveness=5, communication=5, value=5
        )

    outcomes = run_together(submit)
    assert sum(isinstance(o, FeedbackResponse) for o in outcomes) == 1
    assert sum(isinstance(o, FeedbackLinkError) and o.reason == "used" for o in outcomes) == 1
    assert FeedbackResponse.objects.count() == 1
