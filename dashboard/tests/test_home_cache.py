"""The manager's home is cached per user and day, and any write shows on the next view."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tests.factories import CommitmentFactory, RelationshipFactory

pytestmark = pytest.mark.django_db


def test_a_new_commitment_shows_on_the_next_view_of_home(client, manager_a, manager_b, team_a):
    relationship = RelationshipFactory(manager=manager_a, team=team_a, stage="build")
    client.force_login(manager_a)
    assert "Send the pilot report" not in client.get("/").content.decode()
    CommitmentFactory(
        relationship=relationship,
        owner=manager_a,
        description="Send the pilot report",
        due_on=timezone.localdate(),
    )
    assert "Send the pilot report" in client.get("/").content.decode()
    client.force_login(manager_b)  # someone else's home is their own, never the cached one
    assert "Send the pilot report" not in client.get("/").content.decode()
