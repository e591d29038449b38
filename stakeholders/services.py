"""Every write to the stakeholder registry: organisations, individuals, contacts, values."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db import transaction
from django.db.models import IntegerField, OuterRef, Subquery, Sum
from django.db.models import Value as V
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts import permissions
from accounts.models import User
from core.errors import ConcurrencyConflict, PermissionRefused, RuleViolation
from core.limits import check_length
from events.models import Event
from events.services import event_record
from stakeholders.models import Assessment, Category, Contact, Stakeholder, Value


def _stamp(instance, by: User | None) -> None:
    instance._history_user = by


def _display(value) -> str:
    """A changed field's value as the event shows it (a related object by its name)."""
    if value is None or value == "":
        return "—"
    return str(value)


def _changes(before: dict, after: dict) -> dict[str, list[str]]:
    """{field: [old, new]} of what differs: the compact "what changed" an event carries."""
    return {
        name: [_display(before[name]), _display(after[name])]
        for name in after
        if before.get(name) != after[name]
    }


def _require_editor(by: User) -> None:
    if not permissions.may_change_stakeholders(by):
        raise PermissionRefused("Only relationship managers and admins edit the registry.")


# --- Value fit ------------------------------------------------------------------------


def value_fit_for(value_ids: Iterable[int]) -> int:
    """0–100: the share of our active values' total weight that the stakeholder espouses."""
    active = dict(Value.objects.filter(active=True).values_list("pk", "weight"))
    total = sum(active.values())
    if not total:
        return 0
    espoused = sum(active[pk] for pk in set(value_ids) if pk in active)
    return round(100 * espoused / total)


def stakeholders_refresh_value_fit(stakeholder_ids: Iterable[int] | None = None) -> None:
    """Recompute stored value fit in one UPDATE (all stakeholders when weights change)."""
    total = Value.objects.filter(active=True).aggregate(t=Sum("weight"))["t"] or 0
    queryset = Stakeholder.objects.all()
    if stakeholder_ids is not None:
        queryset = queryset.filter(pk__in=list(stakeholder_ids))
    if not total:
        queryset.update(value_fit=0)
        return
    espoused = (
        Value.objects.filter(active=True, stakeholders=OuterRef("pk"))
        .order_by()
        .values("stakeholders")
        .annotate(weight_sum=Sum("weight"))
        .values("weight_sum")
    )
    queryset.update(
        value_fit=Coalesce(Subquery(espoused, output_field=IntegerField()), V(0)) * 100 / total
    )


@transaction.atomic
def value_save(*, value: Value, by: User) -> Value:
    """Create or edit one of our values; every stakeholder's fit follows the new weights."""
    if not permissions.is_admin(by):
        raise PermissionRefused("Only admins edit the organisation's values.")
    check_length(value.description, field="description")
    value.full_clean()
    created = value.pk is None
    value.save()
    stakeholders_refresh_value_fit()
    event_record(
        verb="value.saved",
        subject=value,
        actor=by,
        data={
            "created": created,
            "name": value.name,
            "weight": value.weight,
            "active": value.active,
        },
    )
    return value


# --- Stakeholders ---------------------------------------------------------------------

STAKEHOLDER_FIELDS = (
    "kind",
    "name",
    "category",
    "sector",
    "country",
    "website",
    "email",
    "description",
)


def find_duplicates(*, name: str, email: str = "", exclude_pk: int | None = None):
    """Existing stakeholders with the same name (ignoring case and accents) or e-mail domain."""
    from stakeholders.models import PUBLIC_EMAIL_DOMAINS, email_domain, normalise_name

    key = normalise_name(name)
    domain = email_domain(email)
    from django.db.models import Q

    condition = Q(normalised_name=key) if key else Q(pk__in=[])
    if domain and domain not in PUBLIC_EMAIL_DOMAINS:
        condition |= Q(email_domain=domain) | Q(contacts__email_domain=domain)
    queryset = Stakeholder.objects.filter(condition).distinct()
    if exclude_pk:
        queryset = queryset.exclude(pk=exclude_pk)
    return list(queryset.select_related("category")[:5])


@transaction.atomic
def stakeholder_create(
    *, by: User, values: Iterable[Value] = (), allow_duplicate: bool = False, **fields
) -> Stakeholder:
    """Create a stakeholder. A likely duplicate is refused unless ``allow_duplicate``."""
    _require_editor(by)
    unknown = set(fields) - set(STAKEHOLDER_FIELDS)
    if unknown:
        raise RuleViolation("not_editable", f"Unknown fields: {sorted(unknown)}")
    if not allow_duplicate:
        duplicates = find_duplicates(name=fields.get("name", ""), email=fields.get("email", ""))
        if duplicates:
            error = RuleViolation(
                "possible_duplicate",
                f"“{duplicates[0]}” looks like the same stakeholder. Open it, or confirm that "
                "this is a different one.",
                "name",
            )
            error.duplicates = duplicates
            raise error
    check_length(fields.get("description"), field="description")
    stakeholder = Stakeholder(created_by=by, **_clean(fields))
    stakeholder.full_clean(exclude=["values"])
    _stamp(stakeholder, by)
    stakeholder.save()
    value_list = list(values)
    if value_list:
        stakeholder.values.set(value_list)
    stakeholder.value_fit = value_fit_for(v.pk for v in value_list)
    stakeholder.save(update_fields=["value_fit"])
    event_record(
        verb="stakeholder.created",
        subject=stakeholder,
        actor=by,
        data={
            "kind": stakeholder.kind,
            "category": _display(stakeholder.category),
            "values": sorted(v.name for v in value_list),
        },
    )
    return stakeholder


def _clean(fields: dict) -> dict:
    return {k: v.strip() if isinstance(v, str) else v for k, v in fields.items()}


@transaction.atomic
def stakeholder_update(
    *,
    stakeholder: Stakeholder,
    by: User,
    expected_version: int,
    values: Iterable[Value] | None = None,
    **fields,
) -> Stakeholder:
    _require_editor(by)
    unknown = set(fields) - set(STAKEHOLDER_FIELDS)
    if unknown:
        raise RuleViolation("not_editable", f"Unknown fields: {sorted(unknown)}")
    locked = Stakeholder.objects.select_for_update().get(pk=stakeholder.pk)
    if locked.version != expected_version:
        latest = locked.history.select_related("history_user").first()
        who = str(latest.history_user) if latest and latest.history_user else "Someone"
        raise ConcurrencyConflict(locked, who)
    fields = _clean(fields)
    check_length(fields.get("description"), field="description")
    before = {name: getattr(locked, name) for name in fields}
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean(exclude=["values"])
    changed = _changes(before, fields)
    locked.version += 1  # safe: the row is locked
    if values is not None:
        value_list = list(values)
        names_before = sorted(locked.values.values_list("name", flat=True))
        names_after = sorted(v.name for v in value_list)
        if names_before != names_after:
            changed["values"] = [", ".join(names_before) or "—", ", ".join(names_after) or "—"]
        locked.values.set(value_list)
        locked.value_fit = value_fit_for(v.pk for v in value_list)
    _stamp(locked, by)
    locked.save()
    if changed:
        event_record(
            verb="stakeholder.updated", subject=locked, actor=by, data={"changes": changed}
        )
    stakeholder.refresh_from_db()
    return locked


@transaction.atomic
def assessment_record(
    *,
    stakeholder: Stakeholder,
    by: User,
    power: int,
    interest: int,
    assessed_on: date | None = None,
    note: str = "",
) -> Assessment:
    """Keep a dated power/interest assessment; the latest one is the stakeholder's current."""
    _require_editor(by)
    for name, score in (("power", power), ("interest", interest)):
        if score not in range(1, 6):
            raise RuleViolation("invalid_score", f"{name.title()} must be from 1 to 5.", name)
    assessed_on = assessed_on or timezone.localdate()
    if assessed_on > timezone.localdate():
        raise RuleViolation("future_date", "An assessment cannot be in the future.", "assessed_on")
    check_length(note, field="note")
    assessment = Assessment(
        stakeholder=stakeholder,
        assessed_by=by,
        assessed_on=assessed_on,
        power=power,
        interest=interest,
        note=note.strip(),
    )
    _stamp(assessment, by)
    assessment.save()
    latest = stakeholder.assessments.order_by("-assessed_on", "-id").first()
    Stakeholder.objects.filter(pk=stakeholder.pk).update(
        power=latest.power, interest=latest.interest
    )
    stakeholder.power, stakeholder.interest = latest.power, latest.interest
    event_record(
        verb="stakeholder.assessed",
        subject=stakeholder,
        actor=by,
        data={
            "power": power,
            "interest": interest,
            "assessed_on": assessed_on.isoformat(),
            "note": assessment.note[:200],
        },
    )
    return assessment


@transaction.atomic
def stakeholder_merge(*, survivor: Stakeholder, duplicate: Stakeholder, by: User) -> Stakeholder:
    """Move everything of ``duplicate`` onto ``survivor`` and delete the duplicate."""
    if not permissions.may_merge_stakeholders(by):
        raise PermissionRefused("Only admins merge stakeholders.")
    if survivor.pk == duplicate.pk:
        raise RuleViolation("same_stakeholder", "Choose two different stakeholders to merge.")
    # Lock both rows in a fixed order so two merges cannot deadlock or interleave.
    locked = {
        s.pk: s
        for s in Stakeholder.objects.select_for_update().filter(
            pk__in=sorted([survivor.pk, duplicate.pk])
        )
    }
    survivor, duplicate = locked[survivor.pk], locked[duplicate.pk]

    from relationships.models import Relationship

    moved = {
        "relationships": Relationship.objects.filter(stakeholder=duplicate).update(
            stakeholder=survivor
        ),
        "contacts": Contact.objects.filter(stakeholder=duplicate).update(stakeholder=survivor),
        "assessments": Assessment.objects.filter(stakeholder=duplicate).update(
            stakeholder=survivor
        ),
    }
    # What happened to the duplicate and its relationships now belongs to the survivor, and
    # its feed shows that past too: only the events' stakeholder link moves, not what they say.
    Event.objects.filter(stakeholder_id=duplicate.pk).update(stakeholder_id=survivor.pk)
    survivor.values.add(*duplicate.values.all())
    # Fill the survivor's blanks from the duplicate rather than lose what only it knew.
    for name in ("sector", "country", "website", "email", "description"):
        if not getattr(survivor, name) and getattr(duplicate, name):
            setattr(survivor, name, getattr(duplicate, name))
    if survivor.category_id is None:
        survivor.category_id = duplicate.category_id
    latest = survivor.assessments.order_by("-assessed_on", "-id").first()
    if latest:
        survivor.power, survivor.interest = latest.power, latest.interest
    survivor.value_fit = value_fit_for(survivor.values.values_list("pk", flat=True))
    survivor.version += 1
    _stamp(survivor, by)
    survivor.save()
    event_record(
        verb="stakeholder.merged",
        subject=survivor,
        actor=by,
        data={"duplicate_id": duplicate.pk, "duplicate": duplicate.name, "moved": moved},
    )
    _stamp(duplicate, by)
    duplicate.delete()
    return survivor


# --- Contacts -------------------------------------------------------------------------

CONTACT_FIELDS = ("stakeholder", "name", "role", "email", "phone", "notes")


@transaction.atomic
def contact_create(*, by: User, **fields) -> Contact:
    _require_editor(by)
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise RuleViolation("not_editable", f"Unknown fields: {sorted(unknown)}")
    check_length(fields.get("notes"), field="notes")
    contact = Contact(created_by=by, **_clean(fields))
    contact.full_clean()
    _stamp(contact, by)
    contact.save()
    event_record(
        verb="contact.created",
        subject=contact,
        actor=by,
        data={"stakeholder": _display(contact.stakeholder), "role": contact.role},
    )
    return contact


@transaction.atomic
def contact_update(*, contact: Contact, by: User, expected_version: int, **fields) -> Contact:
    _require_editor(by)
    unknown = set(fields) - set(CONTACT_FIELDS)
    if unknown:
        raise RuleViolation("not_editable", f"Unknown fields: {sorted(unknown)}")
    locked = Contact.objects.select_for_update().get(pk=contact.pk)
    if locked.version != expected_version:
        latest = locked.history.select_related("history_user").first()
        who = str(latest.history_user) if latest and latest.history_user else "Someone"
        raise ConcurrencyConflict(locked, who)
    fields = _clean(fields)
    check_length(fields.get("notes"), field="notes")
    before = {name: getattr(locked, name) for name in fields}
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.version += 1
    _stamp(locked, by)
    locked.save()
    changed = _changes(before, fields)
    if changed:
        event_record(verb="contact.updated", subject=locked, actor=by, data={"changes": changed})
    contact.refresh_from_db()
    return locked


@transaction.atomic
def value_delete(*, value: Value, by: User) -> None:
    """Remove one of our values; every stakeholder's fit follows."""
    if not permissions.is_admin(by):
        raise PermissionRefused("Only admins edit the organisation's values.")
    # Recorded first: after delete() the value has no pk to name.
    event_record(
        verb="value.deleted",
        subject=value,
        actor=by,
        data={"name": value.name, "weight": value.weight},
    )
    value.delete()
    stakeholders_refresh_value_fit()


# --- Categories -----------------------------------------------------------------------


@transaction.atomic
def category_save(*, category: Category, by: User) -> Category:
    """Create or rename/reorder a stakeholder category (reference data admins maintain)."""
    if not permissions.is_admin(by):
        raise PermissionRefused("Only admins edit the stakeholder categories.")
    category.full_clean()
    created = category.pk is None
    category.save()
    event_record(
        verb="category.saved",
        subject=category,
        actor=by,
        data={"created": created, "name": category.name, "position": category.position},
    )
    return category


@transaction.atomic
def category_delete(*, category: Category, by: User) -> None:
    if not permissions.is_admin(by):
        raise PermissionRefused("Only admins edit the stakeholder categories.")
    if category.stakeholders.exists():
        raise RuleViolation(
            "category_in_use",
            f"Stakeholders are filed under “{category}”: move them to another category first.",
        )
    event_record(verb="category.deleted", subject=category, actor=by, data={"name": category.name})
    category.delete()
