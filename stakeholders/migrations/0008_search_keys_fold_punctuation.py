"""The search keys again (0006's backfill, the live normaliser): they now fold apostrophes
("O'Brien" = "OBrien") and part words at hyphens ("O'Brien-Núñez" = "obrien nunez"), so the
keys of existing rows are recomputed to equal what save() writes from now on."""

import importlib

from django.db import migrations


def backfill(apps, schema_editor):
    importlib.import_module("stakeholders.migrations.0006_search_keys").backfill(
        apps, schema_editor
    )


class Migration(migrations.Migration):
    dependencies = [("stakeholders", "0007_search_indexes_trigram")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
