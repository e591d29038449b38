from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from core.errors import RuleViolation
from events.models import Event
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
        (b"name,sector\nAcme,x\nBad \x81 byte,y\n", "data.csv", "line 3 is the first"),
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


# --- Every problem in one pass; the files spreadsheets write (#16 defect 2) ----------------


def _format(response) -> str:
    return response.context["report"].file_format.describe()


@pytest.mark.parametrize("dry_run", [True, False])
def test_one_row_with_three_problems_lists_all_three_at_once(
    client, manager_a, reference_data, dry_run
):
    content = (
        "name,category,website,email\n"
        "Good Org,Donor,https://good.example,info@good.example\n"
        "Three Problems,Nope,javascript:alert(1),not-an-email\n"
    )
    client.force_login(manager_a)
    response = _upload(client, "organisations", content, **({"dry_run": "on"} if dry_run else {}))
    assert response.status_code == 400
    errors = _errors(response)
    # In the file's column order: the category is not hidden by the address problems.
    assert [(row, column) for row, column, _ in errors] == [
        (3, "category"),
        (3, "website"),
        (3, "email"),
    ]
    body = response.content.decode()
    assert "3 problems found in 2 rows" in body
    for column in ("category", "website", "email"):
        assert f"<td>3</td><td>{column}</td>" in body
    assert "Unknown category “Nope”" in body
    assert not Stakeholder.objects.exists()


def test_a_semicolon_separated_file_is_read_and_said_so(client, manager_a, reference_data):
    # Spreadsheets where the decimal mark is a comma separate cells with ";"; a cell holding
    # ";" (several values) is quoted.
    content = (
        "name;category;country;values\n"
        'Acme Foundation;Donor;Kenya;"Honesty;Loyalty"\n'
        "Globex, Inc.;Partner;Peru;\n"
    )
    client.force_login(manager_a)
    checked = _upload(client, "organisations", content, dry_run="on")
    assert checked.status_code == 200
    assert "cells separated by semicolons (;)" in checked.content.decode()
    assert not Stakeholder.objects.exists()

    imported = _upload(client, "organisations", content)
    assert imported.status_code == 302
    acme = Stakeholder.objects.get(name="Acme Foundation")
    assert (acme.country, sorted(v.name for v in acme.values.all())) == (
        "Kenya",
        ["Honesty", "Loyalty"],
    )
    assert Stakeholder.objects.get(name="Globex, Inc.").category.name == "Partner"
    followed = client.get(imported.url).content.decode()
    assert "Imported 2 organisations from the file. Read as UTF-8" in followed
    assert "separated by semicolons (;)" in followed


def test_a_tab_separated_file_with_a_bom_is_read_and_said_so(client, manager_a):
    content = "\ufeffname\tcountry\tsector\nAcme\tKenya\tCharity, health\n"
    client.force_login(manager_a)
    response = _upload(client, "organisations", content, dry_run="on")
    assert response.status_code == 200
    assert _format(response) == (
        "Read as UTF-8 with a byte-order mark (BOM), cells separated by tabs."
    )
    assert "byte-order mark" in response.content.decode()
    _upload(client, "organisations", content)
    assert Stakeholder.objects.get().sector == "Charity, health"


def test_a_semicolon_file_with_a_bom_shows_both_in_the_preview(client, manager_a):
    content = "\ufeffname;email\nAcme;not-an-email\nGlobex;\n"
    client.force_login(manager_a)
    response = _upload(client, "organisations", content, dry_run="on")
    assert _errors(response) == [(2, "email", "Enter a valid email address.")]
    assert _format(response) == (
        "Read as UTF-8 with a byte-order mark (BOM), cells separated by semicolons (;)."
    )
    assert "cells separated by semicolons (;)" in response.content.decode()


def test_a_plain_utf8_comma_file_is_said_to_be_read_as_such(client, manager_a):
    client.force_login(manager_a)
    response = _upload(client, "organisations", "name\nAcme\n", dry_run="on")
    assert "Read as UTF-8, cells separated by commas (,)." in response.content.decode()


def test_a_windows_1252_file_is_read_and_the_preview_says_so_naming_the_line(client, manager_a):
    # Excel's plain "CSV" on Western-European Windows: not UTF-8.
    content = "name;country\nAcme;Kenya\nSociété Générale;Côte d’Ivoire\n".encode("cp1252")
    client.force_login(manager_a)
    checked = _upload(client, "organisations", content, dry_run="on")
    assert checked.status_code == 200
    body = checked.content.decode()
    assert "Read as Windows-1252, cells separated by semicolons (;)." in body
    assert "line 3 is the first that is not" in body
    assert "CSV UTF-8" in body

    imported = _upload(client, "organisations", content)
    assert imported.status_code == 302
    stakeholder = Stakeholder.objects.get(name="Société Générale")
    assert stakeholder.country == "Côte d’Ivoire"
    assert "Read as Windows-1252" in client.get(imported.url).content.decode()


def test_a_utf16_file_from_a_spreadsheet_is_read(client, manager_a):
    # "Unicode text": UTF-16 with its byte-order mark, tab-separated.
    content = "name\tcountry\nZoë Ltd\tÅland\n".encode("utf-16")
    client.force_login(manager_a)
    response = _upload(client, "organisations", content)
    assert response.status_code == 302
    assert Stakeholder.objects.get().country == "Åland"


def test_a_comma_file_with_semicolons_in_cells_stays_a_comma_file(
    client, manager_a, reference_data
):
    content = 'name,values,description\nAcme,"Honesty;Loyalty",a;b;c\n'
    client.force_login(manager_a)
    response = _upload(client, "organisations", content)
    assert response.status_code == 302
    assert Stakeholder.objects.get().description == "a;b;c"


def test_every_problem_of_every_row_is_listed_in_one_pass(client, manager_a, team_a):
    StakeholderFactory(name="Acme")
    RelationshipTypeFactory(name="Donor")
    content = (
        "stakeholder,type,manager,team,confidential\n"
        ",Sponsor,ghost,Team Z,perhaps\n"  # five problems: each column
        "Acme,Donor,,,\n"
        "Nobody,Donor,manager_a,,maybe\n"
    )
    client.force_login(manager_a)
    response = _upload(client, "relationships", content, dry_run="on")
    assert [e[:2] for e in _errors(response)] == [
        (2, "stakeholder"),
        (2, "type"),
        (2, "manager"),
        (2, "team"),
        (2, "confidential"),
        (4, "stakeholder"),
        (4, "confidential"),
    ]
    assert not Relationship.objects.exists()


def test_a_nul_cell_and_an_extra_cell_do_not_hide_the_rows_other_problems(client, manager_a):
    client.force_login(manager_a)
    response = _upload(client, "organisations", b"name,email\nAc\x00me,nope,surplus\n")
    assert _errors(response) == [
        (2, "", "This row has more cells than the header has columns."),
        (2, "name", imports.NUL_IN_CELL),
        (2, "email", "Enter a valid email address."),
    ]


def test_blank_cells_after_the_last_column_are_ignored(client, manager_a):
    # Spreadsheets often end every line with a separator.
    client.force_login(manager_a)
    response = _upload(client, "organisations", "name;country;\nAcme;Kenya;\nGlobex;;;\n")
    assert response.status_code == 302
    assert Stakeholder.objects.count() == 2


def test_a_service_refusal_is_listed_with_the_other_problems_and_nothing_is_kept(
    client, manager_a, monkeypatch
):
    # Rules only the service checks are found by the preview too: the rows are created in
    # a transaction that is rolled back, each in a savepoint so the next is still tried.
    create = imports.OrganisationImporter.create

    def refusing(self, cleaned):
        if cleaned["name"].startswith("Refused"):
            raise RuleViolation("nope", f"{cleaned['name']} is refused by the service.", "sector")
        return create(self, cleaned)

    monkeypatch.setattr(imports.OrganisationImporter, "create", refusing)
    content = (
        "name,sector,email\n"
        "Fine One,Energy,\n"
        "Refused One,Energy,\n"
        "Bad Email,Energy,nope\n"
        "Refused Two,Energy,\n"
        "Fine Two,Energy,\n"
    )
    client.force_login(manager_a)
    for extra in ({"dry_run": "on"}, {}):
        response = _upload(client, "organisations", content, **extra)
        assert response.status_code == 400
        assert [e[:2] for e in _errors(response)] == [
            (3, "sector"),
            (4, "email"),
            (5, "sector"),
        ]
        assert response.context["report"].created == 0
        assert not Stakeholder.objects.exists()
        assert not Event.objects.filter(verb__in=["stakeholder.created", "stakeholders.imported"])
