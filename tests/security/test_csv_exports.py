"""Every CSV export is safe to open in a spreadsheet, whatever separator its locale uses.

A value a user typed is planted in each export. It holds each separator (comma, semicolon,
tab, pipe, line break) followed by a formula, and starts with a space and a formula. The
file is then read as a spreadsheet would in each locale, and also split at every separator
by a reader that ignores quotes: no part may start a formula.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable

import pytest
from django.urls import reverse

from core.csvio import spreadsheet_safe
from plans.tests.factories import InitiativeFactory, PlanFactory
from security.services import security_event_record
from tests.factories import ContactFactory, RelationshipFactory, StakeholderFactory, TeamFactory

pytestmark = pytest.mark.django_db

PAYLOAD = ' =1+1;=2+2,@SUM(A1)|-3+1\n+cmd\t=4;"=5"'
FORMULA = re.compile(r'[\s"]*[=+\-@]')
NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*")


def _stakeholders(admin) -> str:
    StakeholderFactory(name=PAYLOAD)
    return reverse("stakeholders:export")


def _contacts(admin) -> str:
    ContactFactory(name=PAYLOAD)
    return reverse("stakeholders:contact_export")


def _relationships(admin) -> str:
    RelationshipFactory(purpose=PAYLOAD)
    return reverse("relationships:export")


def _plan(admin) -> str:
    initiative = InitiativeFactory(plan=PlanFactory(), title=PAYLOAD)
    return reverse("plans:plan_export", args=[initiative.plan.pk])


def _dashboard(admin) -> str:
    RelationshipFactory(stage="build", team=TeamFactory(name=PAYLOAD))
    return reverse("dashboard:chart_csv", args=["adoption"])


def _security_log(admin) -> str:
    # A failed sign-in logs the username as typed: anyone can put text in this export.
    security_event_record(kind="login_failed", username=PAYLOAD)
    return reverse("security:log_export")


EXPORTS: dict[str, Callable] = {
    "stakeholders": _stakeholders,
    "contacts": _contacts,
    "relationships": _relationships,
    "plan": _plan,
    "dashboard": _dashboard,
    "security log": _security_log,
}


def _export(client, admin_user, name: str) -> str:
    url = EXPORTS[name](admin_user)
    client.force_login(admin_user)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")


def _is_formula(cell: str) -> bool:
    return bool(FORMULA.match(cell)) and not NUMBER.fullmatch(cell.strip('"'))


@pytest.mark.parametrize("name", EXPORTS)
def test_no_locale_reads_a_formula_in_any_export(client, admin_user, name):
    body = _export(client, admin_user, name)
    problems = []
    for delimiter in (",", ";", "\t", "|"):
        for row in csv.reader(io.StringIO(body, newline=""), delimiter=delimiter):
            problems += [(delimiter, cell) for cell in row if _is_formula(cell)]
    # A reader that knows nothing of quotes, splitting at every separator and line break.
    problems += [("naive", part) for part in re.split(r"[,;\t|\r\n]", body) if _is_formula(part)]
    assert not problems


@pytest.mark.parametrize("name", EXPORTS)
def test_a_semicolon_in_a_cell_is_quoted_in_every_export(client, admin_user, name):
    body = _export(client, admin_user, name)
    rows = list(csv.reader(io.StringIO(body, newline="")))
    # Every cell is quoted, the header's too, so no separator of any locale splits one.
    quoted = io.StringIO()
    csv.writer(quoted, quoting=csv.QUOTE_ALL).writerows(rows)
    assert body == quoted.getvalue()
    cells = [cell for row in rows[1:] for cell in row]
    # Read with our own separator, the planted value is one cell, its text all there.
    assert spreadsheet_safe(PAYLOAD) in cells
    assert "'=2+2" in spreadsheet_safe(PAYLOAD)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("  =1+1", "'  =1+1"),  # programs that trim leading spaces would run it
        ('"=1+1"', '\'"=1+1"'),
        ("\t=1", "'\t'=1"),
        ("Acme;=1+1", "Acme;'=1+1"),
        ("a,@SUM(A1)", "a,'@SUM(A1)"),
        ("a | -2+3", "a |' -2+3"),
        ("line\n+cmd", "line\n'+cmd"),
        # What is not a formula stays as it was.
        ("-5", "-5"),
        ("+3.25", "+3.25"),
        ("Alice; Bob", "Alice; Bob"),
        ("from 5,-3", "from 5,-3"),
        ("", ""),
        (None, ""),
        (12, "12"),
    ],
)
def test_every_part_of_a_cell_that_could_start_a_formula_is_neutralised(value, expected):
    assert spreadsheet_safe(value) == expected
