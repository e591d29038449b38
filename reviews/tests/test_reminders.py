"""Reminders with frozen time: what is selected, delivered once, caught up, digested."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail

from notifications.models import Notification, NotificationPreference
from relationships.models import Commitment
from reviews import reminders
from reviews.models import Digest, Reminder, Review
from reviews.reminders import reminders_run, reminders_scan
from tests.factories import (
    CommitmentFactory,
    RelationshipFactory,
    RelationshipTypeFactory,
    StakeholderFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
TODAY = date(2025, 3, 10)
MORNING = datetime(2025, 3, 10, 9, 0, tzinfo=LONDON)  # after the 07:00 digest hour
NIGHT = datetime(2025, 3, 10, 1, 0, tzinfo=LONDON)  # before it


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.TIME_ZONE = "Europe/London"
    settings.REMINDER_LOOKAHEAD_DAYS = 7
    settings.REVIEW_ESCALATION_DAYS = 14
    settings.REMINDER_DIGEST_HOUR = 7


def with_review(manager, team, rel_type, due_on, name):
    relationship = RelationshipFactory(
        manager=manager,
        team=team,
        type=rel_type,
        stage="build",
        stakeholder=StakeholderFactory(name=name),
    )
    Review.objects.filter(relationship=relationship).update(due_on=due_on)
    return relationship


@pytest.fixture
def portfolio(manager_a, team_a, rel_type):
    items = {
        "upcoming": with_review(manager_a, team_a, rel_type, TODAY + timedelta(days=3), "Upcoming"),
        "far": with_review(manager_a, team_a, rel_type, TODAY + timedelta(days=30), "Far Off"),
        "due": with_review(manager_a, team_a, rel_type, TODAY, "Due Today"),
        "overdue": with_review(manager_a, team_a, rel_type, TODAY - timedelta(days=2), "Late Co"),
    }
    late = items["far"]
    items["ours_late"] = CommitmentFactory(
        relationship=late,
        owner=manager_a,
        due_on=TODAY - timedelta(days=1),
        description="Send deck",
    )
    CommitmentFactory(
        relationship=late, owner=manager_a, due_on=TODAY - timedelta(days=1), direction="theirs"
    )
    CommitmentFactory(
        relationship=late,
        owner=manager_a,
        due_on=TODAY - timedelta(days=5),
        status=Commitment.Status.KEPT,
    )
    CommitmentFactory(relationship=late, owner=manager_a, due_on=TODAY)  # not past due yet
    return items


def kinds_by_subject():
    return {
        (
            r.review.relationship.stakeholder.name if r.review_id else r.commitment.description,
            r.kind,
        )
        for r in Reminder.objects.select_related("review__relationship__stakeholder", "commitment")
    }


def test_the_scan_finds_reviews_coming_up_due_and_overdue_and_our_late_commitments(
    portfolio, manager_a
):
    with time_machine.travel(NIGHT, tick=False):
        reminders_run()
    assert kinds_by_subject() == {
        ("Upcoming", "review_upcoming"),
        ("Due Today", "review_due"),
        ("Late Co", "review_overdue"),
        ("Send deck", "commitment_overdue"),
    }
    titles = set(Notification.objects.filter(recipient=manager_a).values_list("title", flat=True))
    assert "Review of Due Today is due today" in titles
    assert "Review of Late Co is overdue" in titles
    assert "Our commitment to Far Off is past due" in titles
    assert mail.outbox == []  # before the digest hour nothing is e-mailed


def test_running_again_the_same_day_delivers_nothing_twice(portfolio, manager_a):
    with time_machine.travel(MORNING, tick=False):
        reminders_run()
        reminders_run()
        reminders_run()
    assert Reminder.objects.count() == 4
    assert Notification.objects.filter(recipient=manager_a).count() == 4
    assert len(mail.outbox) == 1  # one digest


def test_after_downtime_the_scan_catches_up_with_todays_reminders_without_flooding(
    manager_a, team_a, rel_type
):
    # Nothing ran for twenty days: the review is 20 days overdue, the commitment 10.
    relationship = with_review(manager_a, team_a, rel_type, TODAY - timedelta(days=20), "Quiet")
    CommitmentFactory(relationship=relationship, owner=manager_a, due_on=TODAY - timedelta(days=10))
    with time_machine.travel(MORNING, tick=False):
        reminders_run()
    assert Reminder.objects.filter(kind="review_overdue").count() == 1
    assert Reminder.objects.filter(kind="commitment_overdue").count() == 1
    assert Notification.objects.filter(recipient=manager_a).count() == 2
    assert len(mail.outbox) == 1
    # The next day: today's reminders again, but the inbox holds one per subject.
    with time_machine.travel(MORNING + timedelta(days=1), tick=False):
        reminders_run()
    assert Reminder.objects.filter(kind="review_overdue").count() == 2
    assert Notification.objects.filter(recipient=manager_a).count() == 2
    assert len(mail.outbox) == 2  # tomorrow's digest


def test_a_review_coming_up_is_announced_once_per_cycle(manager_a, team_a, rel_type):
    with_review(manager_a, team_a, rel_type, TODAY + timedelta(days=5), "Soon")
    for day in range(3):
        with time_machine.travel(NIGHT + timedelta(days=day), tick=False):
            reminders_run()
    assert Reminder.objects.filter(kind="review_upcoming").count() == 1


def test_the_digest_is_one_email_per_user_listing_their_items(
    portfolio, manager_b, team_b, rel_type
):
    with_review(manager_b, team_b, rel_type, TODAY - timedelta(days=1), "Other Team Org")
    with time_machine.travel(MORNING, tick=False):
        reminders_run()
    assert sorted(m.to[0] for m in mail.outbox) == [
        "manager_a@example.org",
        "manager_b@example.org",
    ]
    body_a = next(m for m in mail.outbox if m.to == ["manager_a@example.org"]).body
    for line in (
        "Overdue reviews",
        "Review of Late Co is overdue",
        "Reviews due today",
        "Review of Due Today is due today",
        "Reviews coming up",
        "Review of Upcoming due Thu 13 Mar 2025",
        "Our commitments past due",
        "“Send deck”",
        "https://rapport.test/reviews/",
    ):
        assert line in body_a
    assert "Other Team Org" not in body_a
    assert Digest.objects.get(recipient__username="manager_a").items == 4
    assert not Reminder.objects.filter(emailed_at__isnull=True, email_skipped=False).exists()


def test_a_review_completed_before_the_digest_is_left_out_of_it(portfolio, manager_a):
    with time_machine.travel(NIGHT, tick=False):
        reminders_run()
    Review.objects.filter(relationship=portfolio["due"]).update(status=Review.Status.COMPLETED)
    with time_machine.travel(MORNING, tick=False):
        reminders_run()
    [digest] = mail.outbox
    assert "Due Today" not in digest.body
    assert "Late Co" in digest.body


def test_reviews_overdue_beyond_the_limit_escalate_to_the_teams_executives_at_once(
    manager_a, team_a, rel_type, executive, admin_user
):
    executive.teams.add(team_a)
    with_review(manager_a, team_a, rel_type, TODAY - timedelta(days=15), "Forgotten")
    with_review(manager_a, team_a, rel_type, TODAY - timedelta(days=14), "Nearly")
    with time_machine.travel(NIGHT, tick=False):  # escalations do not wait for the digest
        reminders_run()
        reminders_run()
    escalations = Reminder.objects.filter(kind="review_escalated")
    assert [(r.recipient, r.review.relationship.stakeholder.name) for r in escalations] == [
        (executive, "Forgotten")
    ]
    [email] = mail.outbox
    assert email.to == [executive.email]
    assert email.subject == "Escalation: the review of Forgotten is 15 days overdue"
    assert Notification.objects.filter(recipient=executive, kind="review_escalated").count() == 1
    assert not Notification.objects.filter(recipient=admin_user).exists()


def test_a_backlog_of_escalations_reaches_each_executive_as_one_email(
    manager_a, team_a, rel_type, executive
):
    executive.teams.add(team_a)
    for n, name in enumerate(["Alpha", "Beta", "Gamma"]):
        with_review(manager_a, team_a, rel_type, TODAY - timedelta(days=20 + n), name)
    with time_machine.travel(NIGHT, tick=False):
        reminders_run()
    [email] = mail.outbox
    assert email.to == [executive.email]
    assert email.subject == "Escalation: 3 reviews are overdue by more than 14 days"
    assert email.body.count("Open the review:") == 3
    assert all(name in email.body for name in ("Alpha", "Beta", "Gamma"))


def test_without_a_team_executive_escalations_go_to_admins(manager_b, team_b, rel_type, admin_user):
    with_review(manager_b, team_b, rel_type, TODAY - timedelta(days=30), "Orphan")
    with time_machine.travel(NIGHT, tick=False):
        reminders_run()
    assert [m.to for m in mail.outbox] == [[admin_user.email]]


@pytest.mark.parametrize(
    ("email_enabled", "digest_enabled", "expected_mail"),
    [
        (True, True, {"digest", "escalation"}),
        (True, False, {"escalation"}),
        (False, True, set()),
        (False, False, set()),
    ],
)
def test_email_preferences_are_respected(
    admin_user, manager_b, team_b, rel_type, email_enabled, digest_enabled, expected_mail
):
    # The admin is also the manager here, so they get both a digest item and an escalation.
    with_review(admin_user, team_b, rel_type, TODAY - timedelta(days=30), "Both")
    NotificationPreference.objects.create(
        user=admin_user, email_enabled=email_enabled, digest_enabled=digest_enabled
    )
    with time_machine.travel(MORNING, tick=False):
        reminders_run()
    sent = {"escalation" if m.subject.startswith("Escalation") else "digest" for m in mail.outbox}
    assert sent == expected_mail
    assert Notification.objects.filter(recipient=admin_user).count() == 2  # in-app regardless


def test_a_run_that_dies_mid_delivery_is_retried_without_duplicates(portfolio, monkeypatch):
    real = reminders.notifications_create

    def dies_after_writing(specs):
        real(specs)  # the batch's notifications are written, then the worker is killed
        raise RuntimeError("worker killed")

    monkeypatch.setattr(reminders, "notifications_create", dies_after_writing)
    with time_machine.travel(MORNING, tick=False), pytest.raises(RuntimeError):
        reminders_run()
    # The delivery batch rolled back with the claim: nothing half-sent.
    assert Notification.objects.count() == 0
    assert Reminder.objects.filter(notified_at__isnull=True).count() == 4
    monkeypatch.setattr(reminders, "notifications_create", real)
    with time_machine.travel(MORNING, tick=False):
        reminders_run()  # the retry
        reminders_run()
    assert Notification.objects.count() == 4
    assert len(mail.outbox) == 1


def test_a_failed_digest_send_is_retried_by_the_next_run(portfolio, monkeypatch):
    def smtp_down(**kwargs):
        raise OSError("SMTP unavailable")

    monkeypatch.setattr(reminders, "send_mail", smtp_down)
    with time_machine.travel(MORNING, tick=False):
        reminders_run()
    assert not Digest.objects.exists()
    monkeypatch.undo()
    with time_machine.travel(MORNING + timedelta(hours=1), tick=False):
        reminders_run()
    assert len(mail.outbox) == 1


def test_the_scans_cost_follows_due_items_not_all_relationships(
    manager_a, team_a, rel_type, django_assert_max_num_queries
):
    for n in range(40):
        with_review(manager_a, team_a, rel_type, TODAY + timedelta(days=60), f"Later {n}")
    with_review(manager_a, team_a, rel_type, TODAY, "Now")
    with time_machine.travel(NIGHT, tick=False), django_assert_max_num_queries(12):
        reminders_scan()
    assert Reminder.objects.count() == 1


def test_delivering_a_backlog_costs_a_few_queries_per_batch_not_per_reminder(
    team_a, executive, django_assert_max_num_queries
):
    executive.teams.add(team_a)
    managers = [UserFactory(username=f"m{i}", role="manager", teams=[team_a]) for i in range(3)]
    types = [RelationshipTypeFactory(name=f"Type {i}") for i in range(3)]
    for n in range(30):  # overdue reviews (escalated ones too) and late commitments
        relationship = with_review(
            managers[n % 3], team_a, types[n % 3], TODAY - timedelta(days=2 + n), f"Org {n}"
        )
        CommitmentFactory(
            relationship=relationship, owner=managers[n % 3], due_on=TODAY - timedelta(days=1)
        )
    with time_machine.travel(MORNING, tick=False):
        assert reminders_scan() == 30 + 30 + 17  # reviews, commitments, escalations
        with django_assert_max_num_queries(15):
            assert reminders.reminders_deliver() == 77
        with django_assert_max_num_queries(40):  # a few per batch and per digest
            assert reminders.escalations_email() == 1
            assert reminders.digests_send() == 3
    assert Notification.objects.count() == 77


def test_inactive_managers_get_no_reminders(manager_a, team_a, rel_type):
    with_review(manager_a, team_a, rel_type, TODAY, "Gone")
    manager_a.is_active = False
    manager_a.save()
    with time_machine.travel(NIGHT, tick=False):
        reminders_run()
    assert not Reminder.objects.exists()


def test_commitments_without_an_owner_remind_the_relationship_manager(manager_a, team_a, rel_type):
    relationship = with_review(manager_a, team_a, rel_type, TODAY + timedelta(days=60), "Nobody")
    CommitmentFactory(relationship=relationship, owner=None, due_on=TODAY - timedelta(days=1))
    other = UserFactory(username="leaver", is_active=False)
    CommitmentFactory(relationship=relationship, owner=other, due_on=TODAY - timedelta(days=1))
    with time_machine.travel(NIGHT, tick=False):
        reminders_run()
    assert set(Reminder.objects.values_list("recipient__username", flat=True)) == {"manager_a"}
    assert Reminder.objects.count() == 2
