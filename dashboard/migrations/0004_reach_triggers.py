"""PostgreSQL keeps the dashboard's tallies current with row triggers (dashboard.readmodels):
this (re)installs them all, the reach tallies' included, and counts what is already there.
Nothing happens on SQLite."""

from django.db import migrations


def install_and_count(apps, schema_editor):
    from dashboard import readmodels

    readmodels.install()
    readmodels.rebuild()


def uninstall(apps, schema_editor):
    from dashboard import readmodels

    readmodels.uninstall()


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0003_reach_tallies"),
        ("relationships", "0007_board_index"),
        ("stakeholders", "0007_search_indexes_trigram"),
    ]

    operations = [migrations.RunPython(install_and_count, uninstall, elidable=False)]
