"""Small reference tables (teams, stakeholder categories, relationship types …) read from the
cache instead of the database on every page that offers them as choices.

Each model's rows are cached under a version that any save or delete of that model bumps
(``post_save``/``post_delete`` receivers connected by ``track``), so an admin's edit shows
on the next request; a short expiry bounds staleness should a change bypass the model
(a raw ``update()``), and a cache that is down only costs the query.
"""

from __future__ import annotations

import uuid

from django import forms
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.db.models.signals import post_delete, post_save
from django.forms.models import ModelChoiceIterator

from core import dbrouting

CACHE_SECONDS = 5 * 60
_TRACKED: set[type[Model]] = set()


def _version_key(model: type[Model]) -> str:
    return f"reference:version:{model._meta.label_lower}"


def _bump(sender: type[Model], **kwargs) -> None:
    cache.set(_version_key(sender), uuid.uuid4().hex, None)


def track(model: type[Model]) -> None:
    """Forget the model's cached rows whenever one of them is saved or deleted."""
    if model not in _TRACKED:
        _TRACKED.add(model)
        post_save.connect(_bump, sender=model, dispatch_uid=f"reference-{model._meta.label}")
        post_delete.connect(_bump, sender=model, dispatch_uid=f"reference-{model._meta.label}")


def reference_rows(queryset: QuerySet) -> list[Model]:
    """The rows of ``queryset`` (a whole small table, ordered), from the cache when fresh.
    The model must be tracked (its app's ``ready`` calls ``track``), in every process."""
    model = queryset.model
    if model not in _TRACKED:
        raise LookupError(f"{model._meta.label} is not tracked by core.reference")
    version = cache.get(_version_key(model))
    if version is None:
        version = uuid.uuid4().hex
        cache.add(_version_key(model), version, None)
        version = cache.get(_version_key(model)) or version
    order = ",".join(str(term) for term in queryset.query.order_by)
    key = f"reference:rows:{model._meta.label_lower}:{version}:{order}"
    rows = cache.get(key)
    if rows is None:
        # From the primary: the version is bumped before the write commits, and rows read
        # from a lagging replica would stay cached as the new version's.
        with dbrouting.primary_reads():
            rows = list(queryset)
        cache.set(key, rows, CACHE_SECONDS)
    return rows


class PreloadedChoices(ModelChoiceIterator):
    """Choices drawn from rows already read (``field.preloaded_rows``), not from a new query
    each time the field renders."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.field.preloaded_rows:
            yield self.choice(obj)

    def __len__(self) -> int:
        return len(self.field.preloaded_rows) + (self.field.empty_label is not None)

    def __bool__(self) -> bool:
        return self.field.empty_label is not None or bool(self.field.preloaded_rows)


def offer_rows(field: forms.ModelChoiceField, queryset: QuerySet, rows: list) -> None:
    """Offer ``rows`` as the field's choices; submitted values are still checked against
    ``queryset`` by the database, as for any model choice field."""
    field.preloaded_rows = rows
    field.iterator = PreloadedChoices
    field.queryset = queryset  # also refreshes the widget's choices


class ReferenceChoiceField(forms.ModelChoiceField):
    """A choice of one row of a small reference table, offered and checked from the cache."""

    iterator = PreloadedChoices

    @property
    def preloaded_rows(self) -> list[Model]:
        # Read once per form: the field is copied for each form instance.
        if getattr(self, "_rows", None) is None:
            self._rows = reference_rows(self.queryset)
        return self._rows

    def to_python(self, value):
        if value in self.empty_values:
            return None
        for row in self.preloaded_rows:
            if str(row.pk) == str(value).strip():
                return row
        raise ValidationError(
            self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
        )
