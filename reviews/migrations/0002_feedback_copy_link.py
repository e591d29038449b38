# The link shown to whoever sends a feedback request, to share it themselves: a second
# nonce, of which only the hash is stored (like the e-mailed link's).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("reviews", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="feedbackrequest",
            name="copy_nonce_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
    ]
