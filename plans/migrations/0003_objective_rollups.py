"""The objective roll-ups read model (plans.rollups), filled from the objectives already
there so that the tree page shows their figures at once after upgrading."""

import django.db.models.deletion
from django.db import migrations, models


def fill(apps, schema_editor):
    # plans.rollups.compute is the rule applied to plain rows: it needs no model of its own.
    from plans.rollups import RAW_FIELDS, compute

    Objective = apps.get_model("plans", "Objective")
    ObjectiveRollup = apps.get_model("plans", "ObjectiveRollup")
    figures = compute(Objective.objects.values_list(*RAW_FIELDS))
    ObjectiveRollup.objects.bulk_create(
        [
            ObjectiveRollup(
                objective_id=pk,
                progress=f.progress,
                descendant_count=f.descendant_count,
                level_sizes=list(f.level_sizes),
            )
            for pk, f in figures.items()
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [("plans", "0002_default_levels")]

    operations = [
        migrations.CreateModel(
            name="ObjectiveRollup",
            fields=[
                (
                    "objective",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="rollup",
                        serialize=False,
                        to="plans.objective",
                    ),
                ),
                ("progress", models.FloatField(default=0.0)),
                ("descendant_count", models.PositiveIntegerField(default=0)),
                ("level_sizes", models.JSONField(blank=True, default=list)),
            ],
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
