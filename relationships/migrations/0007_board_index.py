# The board's index: covers the stage totals, each column's best health scores and the
# visibility rule, so the board reads index entries instead of sorting whole stages.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("relationships", "0006_interaction_newest_index"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="relationship",
            name="rel_stage_health_idx",
        ),
        migrations.AddIndex(
            model_name="relationship",
            index=models.Index(
                fields=[
                    "stage",
                    "-health_score",
                    "id",
                    "confidential",
                    "team",
                    "manager",
                    "type",
                    "stakeholder",
                ],
                name="rel_board_idx",
            ),
        ),
    ]
