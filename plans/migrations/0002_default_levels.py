"""Seed the default cascade of objective levels (admins may rename, add or reorder them)."""

from django.db import migrations

DEFAULT_LEVELS = [
    "Networking vision",
    "Strategic objective",
    "Commercial plan",
    "Marketing & communication strategy",
    "Relationship-management strategy",
    "Relationship-management plan",
    "Initiative",
]


def seed_levels(apps, schema_editor):
    ObjectiveLevel = apps.get_model("plans", "ObjectiveLevel")
    for position, name in enumerate(DEFAULT_LEVELS, start=1):
        ObjectiveLevel.objects.get_or_create(name=name, defaults={"position": position * 10})


def unseed_levels(apps, schema_editor):
    ObjectiveLevel = apps.get_model("plans", "ObjectiveLevel")
    ObjectiveLevel.objects.filter(name__in=DEFAULT_LEVELS, objectives__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("plans", "0001_initial")]

    operations = [migrations.RunPython(seed_levels, unseed_levels)]
