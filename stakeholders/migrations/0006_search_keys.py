"""Search keys of names and e-mail addresses (stakeholders.models.search_key), filled for
the rows that exist. normalised_name is recomputed too: bulk loads used to set it by hand."""

from django.db import migrations, models

BATCH = 2000


def backfill(apps, schema_editor):
    # The live normaliser on purpose: the keys must equal what save() writes from now on.
    from stakeholders.models import search_key

    quote = schema_editor.quote_name
    for model_name, keys in (
        ("Stakeholder", {"normalised_name": "name", "search_email": "email"}),
        ("Contact", {"search_name": "name", "search_email": "email"}),
    ):
        model = apps.get_model("stakeholders", model_name)
        limits = {key: model._meta.get_field(key).max_length for key in keys}
        # One parameterised UPDATE run for many rows: bulk_update's CASE per row took 40 s
        # of CPU for 150,000 rows.
        sql = "UPDATE {} SET {} WHERE id = %s".format(
            quote(model._meta.db_table), ", ".join(f"{quote(key)} = %s" for key in keys)
        )
        rows = model.objects.values_list("pk", *keys.values()).order_by("pk")
        batch = []
        for pk, *sources in rows.iterator(BATCH):
            batch.append(
                [search_key(text)[: limits[key]] for key, text in zip(keys, sources, strict=True)]
                + [pk]
            )
            if len(batch) >= BATCH:
                _run(schema_editor, sql, batch)
                batch = []
        _run(schema_editor, sql, batch)


def _run(schema_editor, sql, batch):
    if batch:
        with schema_editor.connection.cursor() as cursor:
            cursor.executemany(sql, batch)


class Migration(migrations.Migration):
    dependencies = [("stakeholders", "0005_name_index")]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="search_email",
            field=models.CharField(blank=True, default="", editable=False, max_length=254),
        ),
        migrations.AddField(
            model_name="contact",
            name="search_name",
            field=models.CharField(blank=True, default="", editable=False, max_length=200),
        ),
        migrations.AddField(
            model_name="stakeholder",
            name="search_email",
            field=models.CharField(blank=True, default="", editable=False, max_length=254),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
