"""The Django admin: every model is there, relationship edits and stage changes go through
the services (the lifecycle, the version check, the event), records are read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from events.models import Event
from relationships.models import Interaction, Relationship, Stage, StageTransition
from relationships.tests.helpers import client_for
from tests.admin_forms import admin_post
from tests.factories import (
    CommitmentFactory,
    InteractionFactory,
    RelationshipFactory,
    ValueRecordFactory,
)

pytestmark = pytest.mark.django_db

MODELS = ["relationshiptype", "relationship", "stagetransition", "interaction", "commitment"]


@pytest.mark.parametrize("model", [*MODELS, "valuerecord"])
def test_every_model_has_an_admin_page(admin_user, model):
    relationship = RelationshipFactory()
    InteractionFactory(relationship=relationship)
    CommitmentFactory(relationship=relationship)
    ValueRecordFactory(relationship=relationship)
    client = client_for(admin_user)
    assert client.get(reverse(f"admin:relationships_{model}_changelist")).status_code == 200


def test_the_relationship_history_page_works(admin_user):
    relationship = RelationshipFactory()
    url = reverse("admin:relationships_relationship_history", args=[relationship.pk])
    assert client_for(admin_user).get(url).status_code == 200


def test_the_admin_action_moves_through_the_service_and_obeys_the_rules(admin_user, manager_a):
    ready = RelationshipFactory(manager=manager_a)
    not_ready = RelationshipFactory(manager=None)
    response = client_for(admin_user).post(
        reverse("admin:relationships_relationship_changelist"),
        {"action": "move_to_next_stage", "_selected_action": [ready.pk, not_ready.pk]},
        follow=True,
    )
    content = response.content.decode()
    ready.refresh_from_db()
    not_ready.refresh_from_db()
    assert ready.stage == Stage.PRESENT
    assert StageTransition.objects.get().by == admin_user
    assert not_ready.stage == Stage.IDENTIFY
    assert "Name a relationship manager before presenting." in content

    event = Event.objects.get(verb="relationship.stage_changed")
    assert (event.actor, event.via, event.relationship_id) == (admin_user, "admin", ready.pk)


def _change_url(relationship) -> str:
    return reverse("admin:relationships_relationship_change", args=[relationship.pk])


def test_an_admin_edit_goes_through_the_service_and_records_its_event(admin_user, manager_a):
    relationship = RelationshipFactory(manager=manager_a, purpose="Grow")
    response = admin_post(client_for(admin_user), _change_url(relationship), purpose="Pilot")
    assert response.status_code == 302
    relationship.refresh_from_db()
    assert (relationship.purpose, relationship.version) == ("Pilot", 2)
    event = Event.objects.get()
    assert (event.verb, event.actor, event.via, event.relationship_id) == (
        "relationship.updated",
        admin_user,
        "admin",
        relationship.pk,
    )
    assert event.data == {"changes": {"purpose": ["Grow", "Pilot"]}}


def test_an_admin_edit_with_a_stale_version_is_refused_and_keeps_nothing(admin_user):
    relationship = RelationshipFactory(purpose="Grow")
    client = client_for(admin_user)
    url = _change_url(relationship)
    Relationship.objects.filter(pk=relationship.pk).update(version=5, purpose="Theirs")
    response = admin_post(client, url, purpose="Mine", expected_version="4")
    assert response.status_code == 200
    assert "changed this record while you were editing" in response.content.decode()
    relationship.refresh_from_db()
    assert (relationship.purpose, relationship.version) == ("Theirs", 5)
    assert not Event.objects.exists()


def test_the_admin_form_cannot_move_the_stage(admin_user):
    relationship = RelationshipFactory(stage=Stage.IDENTIFY)
    response = admin_post(client_for(admin_user), _change_url(relationship), stage=Stage.REVIEW)
    assert response.status_code == 302
    relationship.refresh_from_db()
    assert relationship.stage == Stage.IDENTIFY
    assert not StageTransition.objects.exists()


def test_a_relationship_added_in_the_admin_is_created_by_the_service(admin_user, team_a):
    stakeholder = RelationshipFactory().stakeholder
    url = reverse("admin:relationships_relationship_add")
    response = admin_post(
        client_for(admin_user),
        url,
        stakeholder=str(stakeholder.pk),
        team=str(team_a.pk),
        purpose="New",
    )
    assert response.status_code == 302
    created = Relationship.objects.get(purpose="New")
    assert created.created_by == admin_user
    event = Event.objects.get(verb="relationship.created")
    assert (event.subject_id, event.via) == (created.pk, "admin")


@pytest.mark.parametrize("model", ["interaction", "commitment", "valuerecord", "stagetransition"])
def test_records_on_a_relationship_are_read_only_in_the_admin(admin_user, model):
    relationship = RelationshipFactory()
    InteractionFactory(relationship=relationship)
    CommitmentFactory(relationship=relationship)
    ValueRecordFactory(relationship=relationship)
    StageTransition.objects.create(
        relationship=relationship, from_stage="identify", to_stage="present"
    )
    client = client_for(admin_user)
    assert client.get(reverse(f"admin:relationships_{model}_add")).status_code == 403
    obj = {
        "interaction": Interaction.objects.first,
        "commitment": lambda: relationship.commitments.first(),
        "valuerecord": lambda: relationship.value_records.first(),
        "stagetransition": StageTransition.objects.first,
    }[model]()
    change = reverse(f"admin:relationships_{model}_change", args=[obj.pk])
    assert client.get(change).status_code == 200  # shown
    assert client.post(change, {"summary": "Rewritten"}).status_code == 403
    delete = reverse(f"admin:relationships_{model}_delete", args=[obj.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
