"""Services record one event per write, in the write's transaction; consumers get them after
commit, in one batch per transaction, and a failed consumer is retried without duplicates."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tokens import token_create
from events import consumers, services
from events.models import Event
from events.services import event_record
from events.tasks import events_dispatch_pending
from relationships import services as relationship_services
from tests.factories import RelationshipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def relationship(manager_a, team_a):
    return RelationshipFactory(manager=manager_a, team=team_a, stage="identify")


@pytest.fixture
def seen(monkeypatch):
    """A consumer that records the batches it was handed."""
    batches: list[list[str]] = []
    monkeypatch.setattr(consumers, "_consumers", dict(consumers._consumers))
    consumers.register(
        "test",
        ["interaction.logged", "relationship.stage_changed"],
        lambda events: batches.append([e.verb for e in events]),
    )
    return batches


def log(relationship, by, summary="Met at the fair"):
    return relationship_services.interaction_log(
        relationship=relationship,
        by=by,
        occurred_on=timezone.localdate(),
        channel="meeting",
        summary=summary,
    )


def test_a_logged_interaction_is_one_event_with_who_what_and_where(relationship, manager_a):
    interaction = log(relationship, manager_a)
    [event] = Event.objects.filter(verb="interaction.logged")
    assert (event.actor, event.subject_type, event.subject_id) == (
        manager_a,
        "relationships.interaction",
        interaction.pk,
    )
    assert (event.relationship_id, event.stakeholder_id, event.team_id) == (
        relationship.pk,
        relationship.stakeholder_id,
        relationship.team_id,
    )
    assert event.data["summary"] == "Met at the fair"
    assert event.via == "system"  # called directly, not through a request


def test_an_event_is_never_written_for_a_write_that_rolled_back(relationship, manager_a):
    with pytest.raises(RuntimeError), transaction.atomic():
        log(relationship, manager_a)
        raise RuntimeError("the request failed later")
    assert not Event.objects.exists()


def test_consumers_get_one_batch_per_transaction_after_commit(
    relationship, manager_a, seen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        log(relationship, manager_a, "first")
        log(relationship, manager_a, "second")
        assert seen == []  # nothing before the commit
    assert [c for c in callbacks if c.__module__ == "events.services"] == [services._flush]
    assert seen == [["interaction.logged", "interaction.logged"]]
    assert not Event.objects.filter(consumed_at__isnull=True).exists()


def test_an_event_recorded_after_a_rolled_back_savepoint_is_still_dispatched(
    relationship, manager_a, seen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        try:
            with transaction.atomic():
                log(relationship, manager_a, "undone")
                raise RuntimeError
        except RuntimeError:
            pass
        log(relationship, manager_a, "kept")
    assert seen == [["interaction.logged"]]
    assert Event.objects.get().data["summary"] == "kept"


def test_a_failing_consumer_is_retried_by_the_sweep_without_duplicates(
    relationship, manager_a, monkeypatch, django_capture_on_commit_callbacks, time_machine
):
    monkeypatch.setattr(consumers, "_consumers", dict(consumers._consumers))
    handled: list[str] = []
    failing = {"now": True}

    def flaky(events):
        if failing["now"]:
            raise ConnectionError("the receiving side is down")
        handled.extend(str(e.uuid) for e in events)

    consumers.register("flaky", ["interaction.logged"], flaky)
    with django_capture_on_commit_callbacks(execute=True):
        log(relationship, manager_a)
    event = Event.objects.get()
    assert event.consumed_at is None and handled == []

    failing["now"] = False
    time_machine.move_to(timezone.now() + timedelta(minutes=2))
    assert events_dispatch_pending() == 1
    assert events_dispatch_pending() == 0  # safe to run twice
    assert handled == [str(event.uuid)]


def test_an_unknown_verb_is_a_programming_error(relationship, manager_a):
    with pytest.raises(ValueError, match="Unknown event verb"):
        event_record(verb="relationship.teleported", subject=relationship, actor=manager_a)


def test_events_name_the_api_token_that_made_the_write(relationship, manager_a):
    token, raw = token_create(user=manager_a, name="CRM sync", scope="write")
    api = APIClient()
    response = api.post(
        "/api/v1/interactions/",
        {
            "relationship": relationship.pk,
            "occurred_on": timezone.localdate().isoformat(),
            "channel": "call",
            "summary": "Called about the renewal",
        },
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 201, response.json()
    event = Event.objects.get(verb="interaction.logged")
    assert (event.via, event.token_id, event.actor) == ("api", token.pk, manager_a)


def test_a_page_write_is_recorded_as_via_the_web(client, relationship, manager_a):
    client.force_login(manager_a)
    client.post(
        f"/relationships/{relationship.pk}/interactions/new/",
        {
            "occurred_on": timezone.localdate().isoformat(),
            "channel": "call",
            "summary": "Quick call",
            "sentiment": "0",
        },
    )
    assert Event.objects.get(verb="interaction.logged").via == "web"
