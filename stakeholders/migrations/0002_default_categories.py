from django.db import migrations

DEFAULT_CATEGORIES = [
    "Customer",
    "Supplier",
    "Partner",
    "Investor",
    "Employee group",
    "Community",
    "Donor",
    "Government",
    "Other",
]


def add_defaults(apps, schema_editor):
    Category = apps.get_model("stakeholders", "Category")
    for position, name in enumerate(DEFAULT_CATEGORIES):
        Category.objects.get_or_create(name=name, defaults={"position": position})


class Migration(migrations.Migration):
    dependencies = [("stakeholders", "0001_initial")]
    operations = [migrations.RunPython(add_defaults, migrations.RunPython.noop)]
