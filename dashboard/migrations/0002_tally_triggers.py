"""PostgreSQL keeps the dashboard's tallies current with row triggers (dashboard.readmodels);
this installs them and counts what is already there. Nothing happens on SQLite."""

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
        ("dashboard", "0001_tallies"),
        ("relationships", "0006_interaction_newest_index"),
    ]

    operations = [migrations.RunPython(install_and_count, uninstall, elidable=False)]
