"""Reads of the stakeholder registry: lists, detail pages, history and conflict details.

Everyone signed in reads stakeholders and contacts; what stays private is the relationship
with them, so relationship counts and lists are scoped by accounts.permissions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from stakeholders.models import Assessment, Category, Contact, Stakeholder

# Value fit bands used by filters and badges: (low, high) inclusive.
FIT_BANDS: dict[str, tuple[int, int]] = {"high": (70, 100), "medium": (40, 69), "low": (0, 39)}


def stakeholders_for(user) -> QuerySet[Stakeholder]:
    """Every stakeholder, with its category and the number of relationships the user may see.

    The count is a correlated subquery rather than a GROUP BY over every stakeholder, so
    PostgreSQL computes it only for the page of rows shown (sorted through the indexes) and
    the pagination count stays a plain count."""
    from relationships.selectors import relationships_visible_to

    visible = (
        relationships_visible_to(user)
        .filter(stakeholder=OuterRef("pk"))
        .order_by()
        .values("stakeholder")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Stakeholder.objects.select_related("category")
        .annotate(
            relationship_count=Coalesce(Subquery(visible, output_field=IntegerField()), Value(0))
        )
        .order_by("name", "pk")
    )


def get_stakeholder_for(user, pk) -> Stakeholder:
    try:
        return stakeholders_for(user).get(pk=pk)
    except (Stakeholder.DoesNotExist, ValueError, TypeError):
        raise Http404("No such stakeholder") from None


def contacts_for(user) -> QuerySet[Contact]:
    return Contact.objects.select_related("stakeholder", "stakeholder__category")


def get_contact_for(user, pk) -> Contact:
    try:
        return contacts_for(user).get(pk=pk)
    except (Contact.DoesNotExist, ValueError, TypeError):
        raise Http404("No such contact") from None


def stakeholder_countries() -> list[str]:
    return list(
        Stakeholder.objects.exclude(country="")
        .order_by("country")
        .values_list("country", flat=True)
        .distinct()
    )


def assessment_trail(stakeholder: Stakeholder) -> list[dict[str, Any]]:
    """Assessments oldest first, each with the scores it moved from ("where it was")."""
    rows: list[dict[str, Any]] = []
    previous = None
    assessments = stakeholder.assessments.select_related("assessed_by").order_by(
        "assessed_on", "id"
    )
    for assessment in assessments:
        rows.append(
            {
                "assessment": assessment,
                "was_power": previous.power if previous else None,
                "was_interest": previous.interest if previous else None,
            }
        )
        previous = assessment
    return rows


# --- History --------------------------------------------------------------------------


@dataclass
class HistoryEntry:
    when: datetime
    who: str
    what: str  # "Stakeholder", "Contact Jane Doe", "Assessment"
    action: str  # created / changed / deleted
    changes: list[str] = field(default_factory=list)


_ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}
_SKIP_FIELDS = {"version", "id", "created_at", "updated_at", "created_by"}


def _label(model, name: str) -> str:
    try:
        return str(model._meta.get_field(name).verbose_name).capitalize()
    except Exception:  # a field removed since the record was written
        return name


def _display(model, name: str, value, categories: dict[int, str]) -> str:
    if value in (None, ""):
        return "—"
    if model is Stakeholder and name == "category":
        return categories.get(value, f"#{value}")
    try:
        model_field = model._meta.get_field(name)
    except Exception:
        return str(value)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "…"


def describe_changes(model, new_record, old_record, categories: dict[int, str]) -> list[str]:
    """Human lines "Field: old → new" between two historical records (no queries)."""
    lines = []
    for change in new_record.diff_against(old_record).changes:
        if change.field in _SKIP_FIELDS:
            continue
        old = _display(model, change.field, change.old, categories)
        new = _display(model, change.field, change.new, categories)
        lines.append(f"{_label(model, change.field)}: “{old}” → “{new}”")
    return lines


def _entries(model, records: list, what, categories: dict[int, str]) -> list[HistoryEntry]:
    """Turn history records (any order) into entries, diffing each against its predecessor
    for the same object in memory instead of one prev_record query per record."""
    by_object: dict[int, list] = {}
    for record in sorted(records, key=lambda r: (r.history_date, r.history_id)):
        by_object.setdefault(record.id, []).append(record)
    entries = []
    for object_records in by_object.values():
        previous = None
        for record in object_records:
            changes = (
                describe_changes(model, record, previous, categories)
                if previous is not None and record.history_type == "~"
                else []
            )
            if record.history_type == "~" and not changes and previous is not None:
                previous = record
                continue  # a save that changed nothing visible
            entries.append(
                HistoryEntry(
                    when=record.history_date,
                    who=str(record.history_user) if record.history_user else "System",
                    what=what(record),
                    action=_ACTIONS.get(record.history_type, record.history_type),
                    changes=changes,
                )
            )
            previous = record
    return entries


def stakeholder_history(stakeholder: Stakeholder, limit: int = 100) -> list[HistoryEntry]:
    """Who changed what and when: the stakeholder, its contacts and its assessments."""
    categories = dict(Category.objects.values_list("pk", "name"))
    own = list(stakeholder.history.select_related("history_user"))
    contacts = list(
        Contact.history.filter(stakeholder_id=stakeholder.pk).select_related("history_user")
    )
    assessments = list(
        Assessment.history.filter(stakeholder_id=stakeholder.pk).select_related("history_user")
    )
    entries = (
        _entries(Stakeholder, own, lambda r: "Stakeholder", categories)
        + _entries(Contact, contacts, lambda r: f"Contact {r.name}", categories)
        + _entries(
            Assessment,
            assessments,
            lambda r: f"Assessment of {r.assessed_on:%d %b %Y}",
            categories,
        )
    )
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries[:limit]


def contact_history(contact: Contact, limit: int = 100) -> list[HistoryEntry]:
    categories: dict[int, str] = {}
    records = list(contact.history.select_related("history_user"))
    entries = _entries(Contact, records, lambda r: "Contact", categories)
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries[:limit]


def changes_since(instance, version: int) -> list[str]:
    """What others changed after ``version`` (for the optimistic-concurrency message)."""
    model = type(instance)
    categories = dict(Category.objects.values_list("pk", "name")) if model is Stakeholder else {}
    records = list(instance.history.order_by("history_date", "history_id"))
    lines: list[str] = []
    previous = None
    for record in records:
        if previous is not None and record.version > version:
            lines.extend(describe_changes(model, record, previous, categories))
        previous = record
    return lines


def fit_band(score: int) -> str:
    for band, (low, high) in FIT_BANDS.items():
        if low <= score <= high:
            return band
    return "low"


def fit_band_q(band: str) -> Q:
    low, high = FIT_BANDS[band]
    return Q(value_fit__gte=low, value_fit__lte=high)
