"""Full-text search on a relationship's purpose (PostgreSQL only); see core/search.py."""

from django.db import migrations

EXPRESSION = "to_tsvector('english'::regconfig, COALESCE(purpose, ''))"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS relationship_search_idx ON relationships_relationship"
            f" USING gin (({EXPRESSION}))"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS relationship_search_idx")


class Migration(migrations.Migration):
    dependencies = [("relationships", "0004_interaction_created_index")]
    operations = [migrations.RunPython(create, drop)]
