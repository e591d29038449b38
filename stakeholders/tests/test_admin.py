"""The registry's admin writes through stakeholders.services: guards, the version check and
the event apply there too, and a refused save keeps nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from events.models import Event
from stakeholders.models import Assessment, Category, Contact, Stakeholder, Value
from tests.admin_forms import admin_post
from tests.factories import CategoryFactory, ContactFactory, StakeholderFactory, ValueFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def _url(model, action: str, *args) -> str:
    opts = model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{action}", args=args)


@pytest.mark.parametrize("model", [Category, Value, Stakeholder, Contact])
def test_every_registry_model_has_admin_pages(admin_client, model):
    assert admin_client.get(_url(model, "changelist")).status_code == 200
    assert admin_client.get(_url(model, "add")).status_code == 200


def test_assessments_are_shown_not_written_in_the_admin(admin_client, admin_user):
    assessment = Assessment.objects.create(
        stakeholder=StakeholderFactory(), assessed_on="2026-11-01", power=2, interest=2
    )
    assert admin_client.get(_url(Assessment, "changelist")).status_code == 200
    assert admin_client.get(_url(Assessment, "change", assessment.pk)).status_code == 200
    assert admin_client.get(_url(Assessment, "add")).status_code == 403
    response = admin_client.post(
        _url(Assessment, "change", assessment.pk),
        {"stakeholder": assessment.stakeholder_id, "assessed_on": "2026-11-01", "power": 5},
    )
    assert response.status_code == 403
    assessment.refresh_from_db()
    assert assessment.power == 2


def test_changing_a_weight_in_the_admin_recomputes_value_fit(admin_client, admin_user):
    honesty = ValueFactory(name="Honesty", weight=1)
    loyalty = ValueFactory(name="Loyalty", weight=1)
    stakeholder = StakeholderFactory()
    stakeholder.values.add(honesty)
    response = admin_client.post(
        _url(Value, "change", loyalty.pk),
        {"name": "Loyalty", "description": "", "weight": 3, "active": "on"},
    )
    assert response.status_code == 302
    stakeholder.refresh_from_db()
    assert stakeholder.value_fit == 25
    event = Event.objects.get()
    assert (event.verb, event.actor, event.via) == ("value.saved", admin_user, "admin")


def test_an_admin_edit_of_a_stakeholder_goes_through_the_service(admin_client, admin_user):
    stakeholder = StakeholderFactory(name="Acme", sector="Energy")
    url = _url(Stakeholder, "change", stakeholder.pk)
    response = admin_post(admin_client, url, sector="Water")
    assert response.status_code == 302
    stakeholder.refresh_from_db()
    assert (stakeholder.sector, stakeholder.version) == ("Water", 2)
    event = Event.objects.get()
    assert (event.verb, event.actor, event.via, event.subject_id) == (
        "stakeholder.updated",
        admin_user,
        "admin",
        stakeholder.pk,
    )
    assert event.data == {"changes": {"sector": ["Energy", "Water"]}}


def test_an_admin_edit_over_someone_elses_newer_save_is_refused(admin_client):
    stakeholder = StakeholderFactory(name="Acme", sector="Energy")
    url = _url(Stakeholder, "change", stakeholder.pk)
    # The admin opened the form at version 1; someone saved meanwhile (version 2).
    Stakeholder.objects.filter(pk=stakeholder.pk).update(version=2, sector="Oil")
    response = admin_post(admin_client, url, sector="Water", expected_version="1")
    assert response.status_code == 200
    assert "changed this record while you were editing" in response.content.decode()
    stakeholder.refresh_from_db()
    assert (stakeholder.sector, stakeholder.version) == ("Oil", 2)
    assert not Event.objects.exists()


def test_a_likely_duplicate_is_refused_in_the_admin_until_confirmed(admin_client):
    StakeholderFactory(name="Acme")
    url = _url(Stakeholder, "add")
    data = {"name": "ACME", "kind": "organisation"}
    response = admin_post(admin_client, url, **data)
    assert response.status_code == 200
    assert "looks like the same stakeholder" in response.content.decode()
    assert Stakeholder.objects.count() == 1
    assert not Event.objects.exists()

    response = admin_post(admin_client, url, allow_duplicate="on", **data)
    assert response.status_code == 302
    assert Stakeholder.objects.count() == 2
    assert Event.objects.get().verb == "stakeholder.created"


def test_the_admin_cannot_delete_stakeholders_but_merges_them(admin_client, admin_user):
    survivor = StakeholderFactory(name="Acme")
    duplicate = StakeholderFactory(name="Acme Ltd")
    assert admin_client.get(_url(Stakeholder, "delete", survivor.pk)).status_code == 403
    admin_client.post(
        _url(Stakeholder, "changelist"),
        {"action": "merge_into_first", "_selected_action": [survivor.pk, duplicate.pk]},
    )
    assert not Stakeholder.objects.filter(pk=duplicate.pk).exists()
    event = Event.objects.get()
    assert (event.verb, event.via, event.subject_id) == ("stakeholder.merged", "admin", survivor.pk)


def test_contacts_are_edited_through_the_service_with_the_version_check(admin_client):
    contact = ContactFactory(name="Jane", role="CEO")
    url = _url(Contact, "change", contact.pk)
    assert admin_post(admin_client, url, role="Chair").status_code == 302
    contact.refresh_from_db()
    assert (contact.role, contact.version) == ("Chair", 2)
    assert Event.objects.get().data == {"changes": {"role": ["CEO", "Chair"]}}

    stale = admin_post(admin_client, url, role="Treasurer", expected_version="1")
    assert stale.status_code == 200
    contact.refresh_from_db()
    assert contact.role == "Chair"
    assert Event.objects.count() == 1


def test_a_category_in_use_cannot_be_deleted_from_the_admin(admin_client):
    donor = CategoryFactory(name="Donor")
    StakeholderFactory(category=donor)
    response = admin_client.post(_url(Category, "delete", donor.pk), {"post": "yes"})
    # Django's own check sees the protected stakeholders first; either way nothing goes.
    assert response.status_code in (200, 302)
    assert Category.objects.filter(pk=donor.pk).exists()
    assert not Event.objects.exists()


def test_a_stakeholder_cannot_be_reverted_from_its_history(admin_client):
    stakeholder = StakeholderFactory(name="Acme")
    record = stakeholder.history.first()
    url = reverse(
        "admin:stakeholders_stakeholder_simple_history", args=[stakeholder.pk, record.history_id]
    )
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, {"name": "Reverted", "kind": "organisation"}).status_code == 403


def test_a_stakeholder_page_in_the_admin_has_its_history(admin_client):
    stakeholder = StakeholderFactory()
    url = _url(Stakeholder, "history", stakeholder.pk)
    assert admin_client.get(url).status_code == 200
