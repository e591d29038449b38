from __future__ import annotations

import pytest
from django.urls import reverse

from relationships.models import Relationship
from stakeholders import services
from stakeholders.models import Assessment, Contact, Stakeholder
from tests.factories import ContactFactory, RelationshipFactory, StakeholderFactory, ValueFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(admin_user):
    survivor = StakeholderFactory(name="Acme", sector="", created_by=admin_user)
    duplicate = StakeholderFactory(name="Acme Ltd", sector="Charity", created_by=admin_user)
    RelationshipFactory(stakeholder=duplicate)
    ContactFactory(stakeholder=duplicate, name="Jane")
    services.assessment_record(stakeholder=duplicate, by=admin_user, power=4, interest=5)
    duplicate.values.add(ValueFactory(name="Honesty"))
    return survivor, duplicate


def _merge_url(survivor) -> str:
    return reverse("stakeholders:merge", args=[survivor.pk])


def test_an_admin_reviews_then_merges_and_everything_moves(client, admin_user, pair):
    survivor, duplicate = pair
    client.force_login(admin_user)
    review = client.post(_merge_url(survivor), {"duplicate": duplicate.pk})
    body = review.content.decode()
    assert review.status_code == 200
    assert "1 relationship" in body and "1 contact" in body and "1 assessment" in body
    assert Stakeholder.objects.filter(pk=duplicate.pk).exists()  # nothing done yet

    response = client.post(_merge_url(survivor), {"duplicate": duplicate.pk, "confirm": "1"})
    assert response.status_code == 302
    assert not Stakeholder.objects.filter(pk=duplicate.pk).exists()
    assert Relationship.objects.get().stakeholder_id == survivor.pk
    assert Contact.objects.get().stakeholder_id == survivor.pk
    assert Assessment.objects.get().stakeholder_id == survivor.pk
    survivor.refresh_from_db()
    assert (survivor.power, survivor.interest, survivor.sector) == (4, 5, "Charity")
    assert survivor.value_fit == 100


@pytest.mark.parametrize("persona", ["manager_a", "executive", "contributor_a"])
def test_only_admins_merge(client, request, persona, pair):
    survivor, duplicate = pair
    client.force_login(request.getfixturevalue(persona))
    assert client.get(_merge_url(survivor)).status_code == 403
    response = client.post(_merge_url(survivor), {"duplicate": duplicate.pk, "confirm": "1"})
    assert response.status_code == 403
    assert Stakeholder.objects.filter(pk=duplicate.pk).exists()


def test_the_admin_action_merges_exactly_two_into_the_first_listed(client, admin_user, pair):
    survivor, duplicate = pair  # "Acme" is listed before "Acme Ltd" (ordering by name)
    client.force_login(admin_user)
    changelist = reverse("admin:stakeholders_stakeholder_changelist")
    response = client.post(
        changelist,
        {"action": "merge_into_first", "_selected_action": [survivor.pk, duplicate.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert not Stakeholder.objects.filter(pk=duplicate.pk).exists()
    assert Contact.objects.get().stakeholder_id == survivor.pk


def test_the_admin_action_refuses_anything_but_two(client, admin_user, pair):
    survivor, duplicate = pair
    third = StakeholderFactory(name="Acme Three")
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:stakeholders_stakeholder_changelist"),
        {"action": "merge_into_first", "_selected_action": [survivor.pk, duplicate.pk, third.pk]},
        follow=True,
    )
    assert "Select exactly two" in response.content.decode()
    assert Stakeholder.objects.count() == 3
