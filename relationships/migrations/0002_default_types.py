from django.db import migrations

# (name, default days between reviews)
DEFAULT_TYPES = [
    ("Strategic supplier", 90),
    ("Strategic partner", 90),
    ("Affiliate", 180),
    ("Customer", 120),
    ("Donor", 180),
    ("Investor", 90),
    ("Community partner", 180),
    ("Government body", 180),
]


def add_defaults(apps, schema_editor):
    RelationshipType = apps.get_model("relationships", "RelationshipType")
    for name, cadence in DEFAULT_TYPES:
        RelationshipType.objects.get_or_create(
            name=name, defaults={"default_review_cadence_days": cadence}
        )


class Migration(migrations.Migration):
    dependencies = [("relationships", "0001_initial")]
    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
