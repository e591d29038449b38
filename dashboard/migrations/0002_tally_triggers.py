"""Installed PostgreSQL's triggers for the tallies of 0001 and counted them. Superseded by
0004, which installs every trigger of dashboard.readmodels once the tables they write (0003)
exist, and recounts: this one must not run today's install against yesterday's tables."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("dashboard", "0001_tallies"),
        ("relationships", "0006_interaction_newest_index"),
    ]

    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
