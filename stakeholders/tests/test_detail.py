from __future__ import annotations

import pytest
from django.urls import reverse

from stakeholders import services
from tests.factories import (
    ContactFactory,
    RelationshipFactory,
    StakeholderFactory,
    UserFactory,
    ValueFactory,
)

pytestmark = pytest.mark.django_db


def test_the_detail_page_shows_facts_values_fit_contacts_and_history(client, manager_a):
    honesty = ValueFactory(name="Honesty", weight=1)
    ValueFactory(name="Loyalty", weight=1)
    stakeholder = services.stakeholder_create(
        by=manager_a,
        name="Acme",
        country="Kenya",
        website="https://acme.example",
        values=[honesty],
    )
    ContactFactory(stakeholder=stakeholder, name="Jane Doe")
    client.force_login(manager_a)
    body = client.get(stakeholder.get_absolute_url()).content.decode()
    assert "Kenya" in body
    assert 'href="https://acme.example"' in body
    assert "Honesty" in body
    assert '<progress class="w-100 mb-2" max="100" value="50"' in body
    assert "Jane Doe" in body
    assert "Stakeholder</strong> created" in body
    assert f"/relationships/new/?stakeholder={stakeholder.pk}" in body or (
        f"?stakeholder={stakeholder.pk}" in body
    )


def test_the_detail_page_lists_only_relationships_the_user_may_see(client, contributor_a, team_b):
    stakeholder = StakeholderFactory(name="Acme")
    boss = UserFactory(username="visible_manager", first_name="Vera", last_name="Visible")
    RelationshipFactory(stakeholder=stakeholder, manager=boss)
    hidden_manager = UserFactory(username="hidden_manager", first_name="Hal", last_name="Hidden")
    RelationshipFactory(
        stakeholder=stakeholder, confidential=True, team=team_b, manager=hidden_manager
    )
    client.force_login(contributor_a)
    body = client.get(stakeholder.get_absolute_url()).content.decode()
    assert "Vera Visible" in body
    assert "Hal Hidden" not in body


def test_garbage_query_parameters_never_break_the_lists(client, contributor_a):
    StakeholderFactory(name="Acme")
    client.force_login(contributor_a)
    params = {"category": "abc", "fit": "zzz", "sort": "evil", "page": "xyz", "kind": "x"}
    for name in ("stakeholders:index", "stakeholders:contacts", "stakeholders:export"):
        assert client.get(reverse(name), params).status_code == 200
    assert client.get(reverse("stakeholders:index"), {"page": 999}).status_code == 200


def test_every_page_renders_for_the_people_who_may_use_it(client, admin_user):
    ValueFactory(name="Honesty")
    stakeholder = StakeholderFactory(name="Acme")
    other = StakeholderFactory(name="Acme Two")
    contact = ContactFactory(stakeholder=stakeholder)
    client.force_login(admin_user)
    urls = [
        reverse("stakeholders:create"),
        reverse("stakeholders:edit", args=[stakeholder.pk]),
        reverse("stakeholders:merge", args=[stakeholder.pk]),
        reverse("stakeholders:import"),
        reverse("stakeholders:contact_create") + f"?stakeholder={stakeholder.pk}",
        reverse("stakeholders:contact_edit", args=[contact.pk]),
        contact.get_absolute_url(),
        stakeholder.get_absolute_url(),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'style="' not in response.content.decode(), url
    merge = client.post(reverse("stakeholders:merge", args=[stakeholder.pk]), {"duplicate": 999})
    assert merge.status_code == 200
    assert other.pk  # still there
