"""The Django admin: every model is there, and stage changes obey the lifecycle."""

from __future__ import annotations

import pytest
from django.urls import reverse

from relationships.models import Stage, StageTransition
from relationships.tests.helpers import client_for
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
