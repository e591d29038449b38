from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from relationships.models import Relationship
from stakeholders import imports
from stakeholders.models import Contact, Stakeholder
from tests.factories import (
    CategoryFactory,
    RelationshipTypeFactory,
    StakeholderFactory,
    TeamFactory,
    ValueFactory,
)

pytestmark = pytest.mark.django_db

IMPORT = reverse("stakeholders:import")


def _upload(client, kind: str, content: str | bytes, name: str = "data.csv", **extra):
    data = content.encode("utf-8") if isinstance(content, str) else content
    payload = {"kind": kind, "file": SimpleUploadedFile(name, data, content_type="text/csv")}
    payload.update(extra)
    return client.post(IMPORT, payload)


def _errors(response) -> list[tuple]:
    return [(e.row, e.column, e.message) for e in response.context["report"].errors]


GOOD_ORGANISATIONS = (
    "name,category,sector,country,website,email,values\n"
    "Acme Foundation,Donor,Charity,Kenya,https://acme.example,info@acme.example,Honesty\n"
    "Globex,Partner,Energy,Peru,,,Honesty;Loyalty\n"
    "Jane Smith,,,,,,\n"
)


@pytest.fixture
def reference_data():
    CategoryFactory(name="Donor")
    CategoryFactory(name="Partner")
    ValueFactory(name="Honesty", weight=1)
    ValueFactory(name="Loyalty", weight=1)


def test_a_good_organisations_file_creates_every_row(client, manager_a, reference_data):
    client.force_login(manager_a)
    response = _upload(client, "organisations", GOOD_ORGANISATIONS)
    assert response.status_code == 302
    assert Stakeholder.objects.count() == 3
    globex = Stakeholder.objects.get(name="Globex")
    assert (globex.category.name, globex.value_fit) == ("Partner", 100)
    assert Stakeholder.objects.get(name="Acme Foundation").value_fit == 50
    assert globex.history.first().history_user == manager_a
    messages = [m.message for m in client.get(reverse("stakeholders:index")).context["messages"]]
    assert "Imported 3 organisations from the file." in messages


def test_a_dry_run_validates_and_saves_nothing(client, manager_a, reference_data):
    client.force_login(manager_a)
    response = _upload(client, "organisations", GOOD_ORGANISATIONS, dry_run="on")
    assert response.status_code == 200
    assert "All 3 rows are valid" in response.content.decode()
    assert not Stakeholder.objects.exists()


def test_bad_rows_are_reported_by_row_and_column_and_nothing_is_created(
    client, manager_a, reference_data
):
    StakeholderFactory(name="Société Existante")
    content = (
        "name,category,email,website,values\n"
        "Fine Org,Donor,,,\n"
        "Bad Email Org,,not-an-email,,\n"
        "Bad Category Org,Nope,,,\n"
        "societe existante,,,,\n"
        ",Donor,,,\n"
        "Fine Org,,,,\n"
        "Script Org,,,javascript:alert(1),\n"
        "Valued Org,,,,Greed\n"
    )
    client.force_login(manager_a)
    response = _upload(client, "organisations", content)
    assert response.status_code == 400
    errors = _errors(response)
    assert [(row, column) for row, column, _ in errors] == [
        (3, "email"),
        (4, "category"),
        (5, "name"),
        (6, "name"),
        (7, "name"),
        (8, "website"),
        (9, "values"),
    ]
    assert "Unknown category “Nope”" in errors[1][2]
    assert "Société Existante" in errors[2][2]
    assert "row 2" in errors[4][2]
    body = response.content.decode()
    assert "Nothing was imported" in body
    assert "<td>4</td><td>category</td>" in body
    assert Stakeholder.objects.count() == 1


def test_an_email_domain_already_known_is_a_duplicate(client, manager_a):
    StakeholderFactory(name="Globex", email="info@globex.com")
    client.force_login(manager_a)
    response = _upload(client, "organisations", "name,email\nGlobex Europe,eu@globex.com\n")
    assert _errors(response)[0][:2] == (2, "email")
    assert "Globex" in _errors(response)[0][2]


def test_duplicates_within_the_file_by_domain_are_reported(client, manager_a):
    client.force_login(manager_a)
    content = "name,email\nOne,a@acme.org\nTwo,b@acme.org\nThree,c@gmail.com\nFour,d@gmail.com\n"
    response = _upload(client, "organisations", content)
    assert [e[:2] for e in _errors(response)] == [(3, "email")]
    assert not Stakeholder.objects.exists()


@pytest.mark.parametrize(
    "content, name, message",
    [
        (b"", "data.csv", "The file is empty."),
        (b"name,category\n", "data.csv", "header but no rows"),
        ("name,sector\nSoci\u00e9t\u00e9,x\n".encode("latin-1"), "data.csv", "not UTF-8"),
        (b"sector,country\nCharity,Kenya\n", "data.csv", "Missing column(s): “name”"),
        (b"name,colour\nAcme,blue\n", "data.csv", "Unknown column(s): “colour”"),
        (b"name\nAcme\n", "data.xlsx", "Choose a .csv file"),
        (b"PK\x03\x04\x00\x00binary", "data.csv", "binary data"),
        (b"name,name\nAcme,Acme\n", "data.csv", "appears twice"),
    ],
)
def test_unreadable_files_get_a_clear_error_never_a_500(client, manager_a, content, name, message):
    client.force_login(manager_a)
    response = _upload(client, "organisations", content, name=name)
    assert response.status_code == 400
    errors = _errors(response)
    assert len(errors) == 1
    assert errors[0][0] is None
    assert message in errors[0][2]
    assert not Stakeholder.objects.exists()


def test_a_row_with_too_many_cells_is_reported(client, manager_a):
    client.force_login(manager_a)
    response = _upload(client, "organisations", "name,sector\nAcme,Charity,extra\n")
    assert _errors(response) == [(2, "", "This row has more cells than the header has columns.")]


def test_files_over_the_size_cap_are_refused(client, manager_a, monkeypatch):
    monkeypatch.setattr(imports, "MAX_UPLOAD_BYTES", 100)
    client.force_login(manager_a)
    response = _upload(client, "organisations", "name\n" + "Acme\n" * 50)
    assert "larger than" in _errors(response)[0][2]


def test_files_over_the_row_cap_are_refused(client, manager_a, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    client.force_login(manager_a)
    response = _upload(client, "organisations", "name\nA\nB\nC\nD\n")
    assert "more than 3 rows" in _errors(response)[0][2]
    assert not Stakeholder.objects.exists()


def test_a_header_with_a_bom_and_odd_spacing_is_accepted(client, manager_a):
    client.force_login(manager_a)
    response = _upload(client, "organisations", "\ufeff Name , Country \nAcme,Kenya\n\n,\n")
    assert response.status_code == 302
    assert Stakeholder.objects.get().country == "Kenya"


def test_contacts_import_links_to_stakeholders_by_name_ignoring_accents(client, manager_a):
    StakeholderFactory(name="Société Générale")
    client.force_login(manager_a)
    content = "name,stakeholder,role,email\nJane,societe generale,CEO,jane@sg.fr\nJoe,,,\n"
    response = _upload(client, "contacts", content)
    assert response.status_code == 302
    jane = Contact.objects.get(name="Jane")
    assert jane.stakeholder.name == "Société Générale"
    assert Contact.objects.get(name="Joe").stakeholder is None


def test_contacts_import_reports_unknown_stakeholders_and_bad_emails(client, manager_a):
    client.force_login(manager_a)
    content = "name,stakeholder,email\nJane,Nobody Inc,jane@x.org\nJoe,,joe@\n"
    response = _upload(client, "contacts", content)
    assert [e[:2] for e in _errors(response)] == [(2, "stakeholder"), (3, "email")]
    assert not Contact.objects.exists()


def test_relationships_import_creates_through_the_service(client, manager_a, team_a):
    StakeholderFactory(name="Acme")
    RelationshipTypeFactory(name="Donor")
    client.force_login(manager_a)
    content = (
        "stakeholder,type,manager,team,confidential,purpose\n"
        "acme,donor,manager_a,Team A,yes,Fund the school\n"
        "Acme,Donor,,,0,\n"
    )
    response = _upload(client, "relationships", content)
    assert response.status_code == 302
    first, second = Relationship.objects.order_by("id")
    assert (first.manager, first.team, first.confidential) == (manager_a, team_a, True)
    assert first.purpose == "Fund the school"
    assert first.created_by == manager_a
    assert second.confidential is False


def test_relationships_import_reports_every_bad_reference(client, manager_a, team_a):
    StakeholderFactory(name="Acme")
    RelationshipTypeFactory(name="Donor")
    TeamFactory(name="Team B")
    client.force_login(manager_a)
    content = (
        "stakeholder,type,manager,team,confidential\n"
        "Nobody,Donor,,,\n"
        "Acme,Sponsor,,,\n"
        "Acme,Donor,ghost,,\n"
        "Acme,Donor,,Team Z,\n"
        "Acme,Donor,,Team B,\n"
        "Acme,Donor,,,perhaps\n"
    )
    response = _upload(client, "relationships", content)
    assert [e[:2] for e in _errors(response)] == [
        (2, "stakeholder"),
        (3, "type"),
        (4, "manager"),
        (5, "team"),
        (6, "team"),
        (7, "confidential"),
    ]
    assert "cannot assign" in _errors(response)[4][2]
    assert not Relationship.objects.exists()


def test_relationships_import_requires_its_columns(client, manager_a):
    client.force_login(manager_a)
    response = _upload(client, "relationships", "stakeholder\nAcme\n")
    assert "Missing column(s): “type”" in _errors(response)[0][2]


@pytest.mark.parametrize("persona", ["contributor_a", "executive"])
def test_readers_cannot_import(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(IMPORT).status_code == 403
    assert _upload(client, "organisations", "name\nAcme\n").status_code == 403
    assert not Stakeholder.objects.exists()


def test_the_import_page_lists_the_columns(client, manager_a):
    client.force_login(manager_a)
    body = client.get(IMPORT).content.decode()
    assert "<strong>name</strong>" in body
    assert "confidential" in body


def test_one_row_is_spoken_of_in_the_singular(client, manager_a):
    client.force_login(manager_a)
    checked = _upload(client, "organisations", "name\nSolo Ltd\n", dry_run="on")
    assert "The row is valid" in checked.content.decode()
    imported = _upload(client, "organisations", "name\nSolo Ltd\n")
    followed = client.get(imported.url)
    assert "Imported 1 organisation from the file." in followed.content.decode()
