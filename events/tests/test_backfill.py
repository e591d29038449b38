"""events_backfill: rows written before the services recorded events (and the bulk-loaded
demo) get their events once, with their own times and people, and never twice."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from events.backfill import backfill_uuid, events_backfill
from events.models import Event
from relationships import services as relationship_services
from relationships.models import StageTransition
from reviews.models import FeedbackRequest, FeedbackResponse, Review
from tests.factories import (
    CommitmentFactory,
    ContactFactory,
    InteractionFactory,
    RelationshipFactory,
    ValueRecordFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def relationship(manager_a, team_a):
    return RelationshipFactory(
        manager=manager_a, team=team_a, stage="build", confidential=True, created_by=manager_a
    )


def test_it_records_every_kind_of_row_with_its_time_and_person(relationship, manager_a):
    yesterday = timezone.localdate() - timedelta(days=1)
    interaction = InteractionFactory(
        relationship=relationship, occurred_on=yesterday, created_by=manager_a, summary="Lunch"
    )
    CommitmentFactory(relationship=relationship, created_by=manager_a)
    ValueRecordFactory(relationship=relationship, created_by=manager_a)
    moved = StageTransition.objects.create(
        relationship=relationship, from_stage="pilot", to_stage="build", by=manager_a
    )
    completed_at = timezone.make_aware(datetime(2026, 3, 4, 11))
    Review.objects.create(
        relationship=relationship,
        status=Review.Status.COMPLETED,
        due_on=date(2026, 3, 1),
        overall=4,
        decision="grow",
        completed_at=completed_at,
        completed_by=manager_a,
    )
    contact = ContactFactory(stakeholder=relationship.stakeholder)
    asked = FeedbackRequest.objects.create(
        relationship=relationship,
        contact=contact,
        sent_by=manager_a,
        expires_at=timezone.now() + timedelta(days=14),
    )
    FeedbackResponse.objects.create(
        request=asked,
        relationship=relationship,
        satisfaction=9,
        responsiveness=4,
        communication=4,
        value=4,
    )

    counts = events_backfill()

    assert counts == {
        "relationship.created": 1,
        "relationship.stage_changed": 1,
        "interaction.logged": 1,
        "commitment.created": 1,
        "value_record.created": 1,
        "review.completed": 1,
        "feedback.requested": 1,
        "feedback.received": 1,
    }
    events = Event.objects.all()
    assert {e.relationship_id for e in events} == {relationship.pk}
    assert {e.stakeholder_id for e in events} == {relationship.stakeholder_id}
    assert {e.team_id for e in events} == {relationship.team_id}
    assert all(e.consumed_at is not None for e in events)  # history: no webhook owed
    logged = events.get(verb="interaction.logged")
    assert logged.actor == manager_a and logged.subject_id == interaction.pk
    assert logged.data["summary"] == "Lunch"
    # Entered today about yesterday: placed on the day it happened.
    assert timezone.localdate(logged.occurred_at) == yesterday
    assert events.get(verb="relationship.stage_changed").occurred_at == moved.at
    assert events.get(verb="review.completed").occurred_at == completed_at
    assert events.get(verb="feedback.received").actor is None
    assert logged.uuid == backfill_uuid(
        "interaction.logged", "relationships.interaction", interaction.pk
    )


def test_a_second_run_records_nothing(relationship, manager_a):
    InteractionFactory(relationship=relationship, created_by=manager_a)
    StageTransition.objects.create(
        relationship=relationship, from_stage="review", to_stage="ended", by=manager_a
    )
    first = events_backfill()
    assert first["relationship.ended"] == 1
    total = Event.objects.count()
    assert sum(events_backfill().values()) == 0
    assert Event.objects.count() == total


def test_rows_whose_service_recorded_their_event_are_skipped(manager_a, team_a):
    relationship = RelationshipFactory(manager=manager_a, team=team_a, stage="identify")
    relationship_services.interaction_log(
        relationship=relationship,
        by=manager_a,
        occurred_on=timezone.localdate(),
        channel="call",
        summary="Through the service",
    )
    relationship_services.relationship_transition(
        relationship=relationship, to_stage="present", by=manager_a, note="Worth a meeting"
    )
    recorded = Event.objects.count()
    events_backfill()
    assert Event.objects.filter(verb="interaction.logged").count() == 1
    assert Event.objects.filter(verb="relationship.stage_changed").count() == 1
    # Only the relationship itself (factory-made) was missing its event.
    assert Event.objects.count() == recorded + 1
    assert Event.objects.filter(verb="relationship.created").count() == 1


def test_the_command_reports_what_it_wrote(relationship, capsys):
    InteractionFactory(relationship=relationship)
    call_command("events_backfill")
    out = capsys.readouterr().out
    assert "interaction.logged" in out and "Backfilled 2 events" in out


def test_seed_demo_leaves_a_full_timeline(capsys):
    call_command("seed_demo")
    assert Event.objects.filter(verb="interaction.logged").exists()
    assert Event.objects.filter(verb="relationship.stage_changed").exists()
    assert Event.objects.filter(verb="review.completed").exists()
    # The demo's moves are spread over each relationship's life, not all stamped "now".
    moments = Event.objects.filter(verb="relationship.stage_changed").values_list(
        "occurred_at", flat=True
    )
    assert len({moment.date() for moment in moments}) > 5
    before = Event.objects.count()
    call_command("seed_demo")  # idempotent, like the seed
    assert Event.objects.count() == before
