"""Every registry write records one event (who, what, on what, a compact JSON of what
changed) in its own transaction; a refused write records none."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.errors import ConcurrencyConflict, PermissionRefused, RuleViolation
from events.models import Event
from stakeholders import imports, services
from stakeholders.models import Value
from tests.factories import (
    CategoryFactory,
    ContactFactory,
    RelationshipFactory,
    StakeholderFactory,
    ValueFactory,
)

pytestmark = pytest.mark.django_db


def only_event() -> Event:
    [event] = Event.objects.all()
    return event


def test_creating_a_stakeholder_records_who_added_it(manager_a):
    honesty = ValueFactory(name="Honesty")
    stakeholder = services.stakeholder_create(
        by=manager_a, name="Acme", category=CategoryFactory(name="Donor"), values=[honesty]
    )
    event = only_event()
    assert (event.verb, event.actor, event.subject_type, event.subject_id) == (
        "stakeholder.created",
        manager_a,
        "stakeholders.stakeholder",
        stakeholder.pk,
    )
    assert event.stakeholder_id == stakeholder.pk
    assert event.data == {"kind": "organisation", "category": "Donor", "values": ["Honesty"]}


def test_editing_a_stakeholder_records_what_changed(manager_a):
    stakeholder = StakeholderFactory(name="Acme", sector="Energy")
    services.stakeholder_update(
        stakeholder=stakeholder,
        by=manager_a,
        expected_version=stakeholder.version,
        name="Acme",
        sector="Water",
        values=[ValueFactory(name="Candour")],
    )
    event = only_event()
    assert (event.verb, event.actor, event.stakeholder_id) == (
        "stakeholder.updated",
        manager_a,
        stakeholder.pk,
    )
    assert event.data == {"changes": {"sector": ["Energy", "Water"], "values": ["—", "Candour"]}}


def test_a_stale_or_forbidden_stakeholder_edit_records_nothing(manager_a, contributor_a):
    stakeholder = StakeholderFactory()
    with pytest.raises(ConcurrencyConflict):
        services.stakeholder_update(
            stakeholder=stakeholder, by=manager_a, expected_version=0, sector="Water"
        )
    with pytest.raises(PermissionRefused):
        services.stakeholder_create(by=contributor_a, name="Nope")
    with pytest.raises(RuleViolation):
        services.stakeholder_create(by=manager_a, name=stakeholder.name)  # a likely duplicate
    assert not Event.objects.exists()


def test_an_assessment_is_recorded_on_the_stakeholder(manager_a):
    stakeholder = StakeholderFactory()
    services.assessment_record(stakeholder=stakeholder, by=manager_a, power=4, interest=2)
    event = only_event()
    assert (event.verb, event.subject_id, event.data["power"], event.data["interest"]) == (
        "stakeholder.assessed",
        stakeholder.pk,
        4,
        2,
    )
    with pytest.raises(RuleViolation):
        services.assessment_record(stakeholder=stakeholder, by=manager_a, power=9, interest=2)
    assert Event.objects.count() == 1


def test_a_merge_is_one_event_and_the_duplicates_past_follows_the_survivor(admin_user):
    survivor = StakeholderFactory(name="Acme")
    duplicate = StakeholderFactory(name="Acme Ltd")
    RelationshipFactory(stakeholder=duplicate)
    ContactFactory(stakeholder=duplicate)
    services.assessment_record(stakeholder=duplicate, by=admin_user, power=3, interest=3)
    services.stakeholder_merge(survivor=survivor, duplicate=duplicate, by=admin_user)
    merged = Event.objects.get(verb="stakeholder.merged")
    assert (merged.actor, merged.subject_id) == (admin_user, survivor.pk)
    assert merged.data == {
        "duplicate_id": duplicate.pk,
        "duplicate": "Acme Ltd",
        "moved": {"relationships": 1, "contacts": 1, "assessments": 1},
    }
    # The assessment recorded on the duplicate now shows in the survivor's feed.
    assessed = Event.objects.get(verb="stakeholder.assessed")
    assert assessed.stakeholder_id == survivor.pk


def test_a_refused_merge_records_nothing(manager_a, admin_user):
    survivor, duplicate = StakeholderFactory(), StakeholderFactory()
    with pytest.raises(PermissionRefused):
        services.stakeholder_merge(survivor=survivor, duplicate=duplicate, by=manager_a)
    with pytest.raises(RuleViolation):
        services.stakeholder_merge(survivor=survivor, duplicate=survivor, by=admin_user)
    assert not Event.objects.exists()


def test_contacts_record_their_creation_and_edits(manager_a):
    acme = StakeholderFactory(name="Acme")
    contact = services.contact_create(by=manager_a, stakeholder=acme, name="Jane", role="CEO")
    created = only_event()
    assert (created.verb, created.actor, created.subject_id, created.stakeholder_id) == (
        "contact.created",
        manager_a,
        contact.pk,
        acme.pk,
    )
    assert created.data == {"stakeholder": "Acme", "role": "CEO"}

    services.contact_update(contact=contact, by=manager_a, expected_version=1, role="Chair")
    updated = Event.objects.get(verb="contact.updated")
    assert updated.data == {"changes": {"role": ["CEO", "Chair"]}}

    with pytest.raises(ConcurrencyConflict):
        services.contact_update(contact=contact, by=manager_a, expected_version=1, role="X")
    assert Event.objects.count() == 2


def test_values_record_saves_and_deletes(admin_user, manager_a):
    value = services.value_save(value=Value(name="Candour", weight=3), by=admin_user)
    saved = only_event()
    assert (saved.verb, saved.actor, saved.subject_id) == ("value.saved", admin_user, value.pk)
    assert saved.data == {"created": True, "name": "Candour", "weight": 3, "active": True}

    with pytest.raises(PermissionRefused):
        services.value_delete(value=value, by=manager_a)
    pk = value.pk
    services.value_delete(value=value, by=admin_user)
    deleted = Event.objects.get(verb="value.deleted")
    assert (deleted.subject_id, deleted.data) == (pk, {"name": "Candour", "weight": 3})
    assert Event.objects.count() == 2


def test_a_category_in_use_is_not_deleted_and_records_nothing(admin_user):
    donor = CategoryFactory(name="Donor")
    StakeholderFactory(category=donor)
    with pytest.raises(RuleViolation) as error:
        services.category_delete(category=donor, by=admin_user)
    assert error.value.code == "category_in_use"
    assert not Event.objects.exists()


def _csv(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("orgs.csv", text.encode(), content_type="text/csv")


def test_an_import_records_one_import_event_and_one_per_created_row(manager_a):
    report = imports.run_import(
        imports.OrganisationImporter(manager_a), _csv("name\nAcme\nGlobex\n")
    )
    assert report.created == 2
    created = Event.objects.filter(verb="stakeholder.created")
    assert created.count() == 2
    imported = Event.objects.get(verb="stakeholders.imported")
    assert imported.actor == manager_a
    assert imported.data == {
        "kind": "organisations",
        "file": "orgs.csv",
        "created": 2,
        "ids": sorted(created.values_list("subject_id", flat=True)),
    }


def test_an_import_that_rolls_back_records_nothing(manager_a):
    StakeholderFactory(name="Acme")
    report = imports.run_import(
        imports.OrganisationImporter(manager_a), _csv("name\nGlobex\nAcme\n")
    )
    assert not report.ok
    assert not Event.objects.exists()


def test_a_contacts_import_records_its_own_import_event(manager_a):
    StakeholderFactory(name="Acme")
    upload = SimpleUploadedFile("people.csv", b"name,stakeholder\nJane,Acme\n")
    report = imports.run_import(imports.ContactImporter(manager_a), upload)
    assert report.created == 1
    assert sorted(Event.objects.values_list("verb", flat=True)) == [
        "contact.created",
        "contacts.imported",
    ]
