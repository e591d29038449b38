"""PostgreSQL indexes for searching (see stakeholders/search.py); nothing on SQLite.

- GIN trigram indexes (pg_trgm) on the search keys of names and e-mail addresses, so
  ``LIKE '%term%'`` and ``LIKE 'term%'`` read the index instead of every row.
- The full-text indexes of 0004 covered the name (and the contact's e-mail) as well. Names and
  addresses now go through the trigram keys only, so the same text finds the same rows on
  PostgreSQL and SQLite, and the full-text indexes shrink to the longer text fields. Their
  expressions are built by Django from the same SearchVector the search filters on, so the
  planner recognises them.

The indexes are not in the models' Meta: a GinIndex cannot be created on SQLite, where the
development database and the local test run live.
"""

import importlib

from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.operations import TrigramExtension
from django.contrib.postgres.search import SearchVector
from django.db import migrations

# Frozen copies of stakeholders.search.TEXT_FIELDS: change both together.
STAKEHOLDER_TEXT = ("sector", "country", "description")
CONTACT_TEXT = ("role", "notes")


def _trigram(field: str, name: str) -> GinIndex:
    return GinIndex(fields=[field], opclasses=["gin_trgm_ops"], name=name)


INDEXES = {
    "Stakeholder": [
        _trigram("normalised_name", "stakeholder_name_trgm_idx"),
        _trigram("search_email", "stakeholder_email_trgm_idx"),
        GinIndex(SearchVector(*STAKEHOLDER_TEXT, config="english"), name="stakeholder_text_idx"),
    ],
    "Contact": [
        _trigram("search_name", "contact_name_trgm_idx"),
        _trigram("search_email", "contact_email_trgm_idx"),
        GinIndex(SearchVector(*CONTACT_TEXT, config="english"), name="contact_text_idx"),
    ],
}


def _previous():
    return importlib.import_module("stakeholders.migrations.0004_search_indexes")


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    _previous().drop(apps, schema_editor)
    for model_name, indexes in INDEXES.items():
        model = apps.get_model("stakeholders", model_name)
        for index in indexes:
            schema_editor.add_index(model, index)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model_name, indexes in INDEXES.items():
        model = apps.get_model("stakeholders", model_name)
        for index in indexes:
            schema_editor.remove_index(model, index)
    _previous().create(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [("stakeholders", "0006_search_keys")]

    operations = [
        # Does nothing on SQLite (CreateExtension checks the vendor itself).
        TrigramExtension(),
        migrations.RunPython(create, drop),
    ]
