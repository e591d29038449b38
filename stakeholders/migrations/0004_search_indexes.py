"""Full-text search indexes (PostgreSQL only): the expressions match core/search.py exactly,
so the global search uses them instead of scanning every row."""

from django.db import migrations

INDEXES = {
    "stakeholder_search_idx": (
        "stakeholders_stakeholder",
        "to_tsvector('english'::regconfig, COALESCE(name, '') || ' ' || COALESCE(sector, '')"
        " || ' ' || COALESCE(country, '') || ' ' || COALESCE(description, ''))",
    ),
    "contact_search_idx": (
        "stakeholders_contact",
        "to_tsvector('english'::regconfig, COALESCE(name, '') || ' ' || COALESCE(role, '')"
        " || ' ' || COALESCE(email, '') || ' ' || COALESCE(notes, ''))",
    ),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, expression) in INDEXES.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin (({expression}))")


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("stakeholders", "0003_blank_creators")]
    operations = [migrations.RunPython(create, drop)]
