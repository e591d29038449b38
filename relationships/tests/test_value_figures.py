"""The relationship page's value totals and monthly figures: computed from the rows the page
reads when there are few records, by the database when there are many — the same answer."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from relationships import selectors
from relationships.models import Relationship
from tests.factories import RelationshipFactory, ValueRecordFactory

pytestmark = pytest.mark.django_db

RECORDS = [
    # (recorded_on, kind, amount, unit)
    (date(2026, 1, 5), "revenue", "100.00", "GBP"),
    (date(2026, 1, 20), "revenue", "50.50", "GBP"),
    (date(2026, 1, 21), "revenue", "10.00", "EUR"),
    (date(2026, 2, 1), "cost_saving", "25.00", "GBP"),
    (date(2026, 3, 9), "volunteer_hours", "12.00", "hours"),
    (date(2026, 3, 9), "qualitative", None, ""),
    (date(2026, 4, 2), "qualitative", None, ""),
    (date(2026, 4, 3), "referral", None, ""),  # a count with no amount
]


@pytest.fixture
def relationship():
    relationship = RelationshipFactory()
    for on, kind, amount, unit in RECORDS:
        ValueRecordFactory(
            relationship=relationship,
            recorded_on=on,
            kind=kind,
            amount=Decimal(amount) if amount else None,
            unit=unit,
        )
    return relationship


def _figures(relationship: Relationship) -> tuple[list[dict], list[dict]]:
    fresh = Relationship.objects.get(pk=relationship.pk)
    return (
        selectors.relationship_value_totals(fresh),
        selectors.relationship_value_by_month(fresh),
    )


def test_few_records_give_the_same_figures_as_the_database(relationship, monkeypatch):
    from_rows = _figures(relationship)
    monkeypatch.setattr(selectors, "VALUE_READ_LIMIT", 3)  # fewer than there are: SQL
    from_database = _figures(relationship)
    assert from_rows == from_database


def test_the_figures_add_up(relationship, django_assert_num_queries):
    fresh = Relationship.objects.get(pk=relationship.pk)
    with django_assert_num_queries(1):  # the timeline, totals and months share one read
        totals = selectors.relationship_value_totals(fresh)
        months = selectors.relationship_value_by_month(fresh)
    by_key = {(t["kind"], t["unit"]): t for t in totals}
    assert by_key["revenue", "GBP"]["total"] == Decimal("150.50")
    assert by_key["revenue", "GBP"]["records"] == 2
    assert by_key["revenue", "GBP"]["last_on"] == date(2026, 1, 20)
    assert by_key["qualitative", ""]["total"] is None
    assert by_key["qualitative", ""]["records"] == 2
    assert by_key["referral", ""]["total"] is None
    assert [m["month"] for m in months] == sorted((m["month"] for m in months), reverse=True)
    assert all(m["kind"] != "qualitative" for m in months)
    january = [m for m in months if m["month"] == date(2026, 1, 1)]
    assert [(m["kind"], m["unit"], m["total"]) for m in january] == [
        ("revenue", "EUR", Decimal("10.00")),
        ("revenue", "GBP", Decimal("150.50")),
    ]
