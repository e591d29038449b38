"""Opening and editing relationships: inline errors and optimistic concurrency."""

from __future__ import annotations

import pytest
from django.urls import reverse

from relationships.models import Relationship
from relationships.tests.helpers import client_for
from tests.factories import RelationshipFactory, RelationshipTypeFactory, StakeholderFactory

pytestmark = pytest.mark.django_db


def edit_data(relationship, **changes) -> dict:
    data = {
        "version": relationship.version,
        "type": relationship.type_id or "",
        "manager": relationship.manager_id or "",
        "team": relationship.team_id or "",
        "purpose": relationship.purpose,
        "review_cadence_days": relationship.review_cadence_days or "",
        "partnering_session_on": "",
        "partnering_session_notes": "",
    }
    if relationship.confidential:
        data["confidential"] = "on"
    data.update(changes)
    return data


def test_the_create_form_preselects_the_stakeholder(manager_a):
    stakeholder = StakeholderFactory(name="Preselected Org")
    response = client_for(manager_a).get(
        reverse("relationships:create") + f"?stakeholder={stakeholder.pk}"
    )
    assert response.status_code == 200
    assert f'<option value="{stakeholder.pk}" selected>' in response.content.decode()


def test_a_manager_opens_a_relationship_in_their_team(manager_a, team_a):
    stakeholder = StakeholderFactory()
    kind = RelationshipTypeFactory()
    response = client_for(manager_a).post(
        reverse("relationships:create"),
        {"stakeholder": stakeholder.pk, "type": kind.pk, "manager": manager_a.pk, "purpose": "X"},
    )
    relationship = Relationship.objects.get()
    assert response["Location"] == relationship.get_absolute_url()
    assert relationship.team == team_a
    assert relationship.created_by == manager_a


def test_the_create_form_shows_errors_inline(manager_a):
    response = client_for(manager_a).post(
        reverse("relationships:create"), {"review_cadence_days": "3"}
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "invalid-feedback" in content
    assert 'id="id_stakeholder_error"' in content
    assert not Relationship.objects.exists()


def test_a_contributor_cannot_open_relationships(contributor_a):
    assert client_for(contributor_a).get(reverse("relationships:create")).status_code == 403


def test_a_manager_cannot_assign_another_team(manager_a, team_a, team_b):
    relationship = RelationshipFactory(manager=manager_a, team=team_a)
    response = client_for(manager_a).post(
        reverse("relationships:edit", args=[relationship.pk]),
        edit_data(relationship, team=team_b.pk),
    )
    assert "Select a valid choice" in response.content.decode()
    relationship.refresh_from_db()
    assert relationship.team == team_a


def test_an_edit_saves_and_bumps_the_version(manager_a, team_a):
    relationship = RelationshipFactory(manager=manager_a, team=team_a)
    response = client_for(manager_a).post(
        reverse("relationships:edit", args=[relationship.pk]),
        edit_data(relationship, purpose="New purpose"),
    )
    assert response.status_code == 302
    relationship.refresh_from_db()
    assert (relationship.purpose, relationship.version) == ("New purpose", 2)


def test_a_concurrent_edit_is_refused_with_the_other_persons_changes(manager_a, admin_user, team_a):
    relationship = RelationshipFactory(manager=manager_a, team=team_a, purpose="Original")
    loaded = edit_data(relationship)  # both load the form at version 1
    first = client_for(admin_user).post(
        reverse("relationships:edit", args=[relationship.pk]),
        {**loaded, "purpose": "Admin's purpose"},
    )
    assert first.status_code == 302
    second = client_for(manager_a).post(
        reverse("relationships:edit", args=[relationship.pk]),
        {**loaded, "review_cadence_days": "30"},
    )
    content = second.content.decode()
    assert second.status_code == 409
    assert "changed this record while you were editing" in content
    assert "Admin&#x27;s purpose" in content  # their change is named
    relationship.refresh_from_db()
    assert relationship.purpose == "Admin's purpose"  # the first change is kept
    assert relationship.review_cadence_days is None
    # The re-rendered form is on the current version and carries the second user's change.
    assert 'name="version" value="2"' in content
    assert 'name="review_cadence_days" value="30"' in content


def test_saving_again_after_a_conflict_keeps_both_changes(manager_a, admin_user, team_a):
    relationship = RelationshipFactory(manager=manager_a, team=team_a, purpose="Original")
    loaded = edit_data(relationship)
    client_for(admin_user).post(
        reverse("relationships:edit", args=[relationship.pk]), {**loaded, "purpose": "Theirs"}
    )
    relationship.refresh_from_db()
    retry = edit_data(relationship, review_cadence_days="30")
    response = client_for(manager_a).post(
        reverse("relationships:edit", args=[relationship.pk]), retry
    )
    assert response.status_code == 302
    relationship.refresh_from_db()
    assert (relationship.purpose, relationship.review_cadence_days) == ("Theirs", 30)
