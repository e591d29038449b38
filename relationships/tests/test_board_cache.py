"""The board is cached per viewer and filters, and any write shows on the next view."""

from __future__ import annotations

import pytest
from django.urls import reverse

from relationships.services import relationship_transition
from tests.factories import RelationshipFactory, StakeholderFactory

pytestmark = pytest.mark.django_db


def _board(client) -> str:
    return client.get(reverse("relationships:board")).content.decode()


def test_a_move_shows_on_the_next_view_of_the_board(client, manager_a, team_a):
    relationship = RelationshipFactory(
        manager=manager_a,
        team=team_a,
        stage="present",
        stakeholder=StakeholderFactory(name="Heron Foods"),
    )
    client.force_login(manager_a)
    assert "Heron Foods" in _board(client)
    relationship_transition(relationship=relationship, to_stage="ended", by=manager_a, note="x")
    assert "Heron Foods" not in _board(client)  # ended: off the board at once
    RelationshipFactory(
        manager=manager_a, team=team_a, stakeholder=StakeholderFactory(name="Osprey Ltd")
    )
    assert "Osprey Ltd" in _board(client)


def test_viewers_never_share_a_cached_board(client, manager_a, manager_b, team_b):
    RelationshipFactory(
        manager=manager_b,
        team=team_b,
        stage="build",
        confidential=True,
        stakeholder=StakeholderFactory(name="Secret Partner"),
    )
    client.force_login(manager_b)
    assert "Secret Partner" in _board(client)
    client.force_login(manager_a)
    assert "Secret Partner" not in _board(client)
