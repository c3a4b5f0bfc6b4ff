"""The trigram index behind the search by any part of a taxpayer's name (see search_index)."""

from django.db import migrations


def create(apps, schema_editor):
    from taxdesk.customers.search_index import ensure_name_index

    ensure_name_index(schema_editor.connection)


def drop(apps, schema_editor):
    from taxdesk.customers.search_index import drop_name_index

    drop_name_index(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("customers", "0004_contact_phone_tails")]

    operations = [migrations.RunPython(create, drop)]
