# What lifts a relationship's health, beside what pulls it down (health_reasons): filled by
# the next refresh (each write that feeds it, and the nightly run for all active ones).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("relationships", "0007_board_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="relationship",
            name="health_lifts",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
