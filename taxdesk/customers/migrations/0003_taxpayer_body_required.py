"""Every taxpayer carries its unit's supervision body (numbers are unique within a body)."""

import django.db.models.deletion
from django.db import migrations, models


def fill_bodies(apps, schema_editor):
    Taxpayer = apps.get_model("customers", "Taxpayer")
    ServiceUnit = apps.get_model("core", "ServiceUnit")
    for unit in ServiceUnit.objects.all():
        Taxpayer.objects.filter(service_unit=unit).update(supervision_body=unit.supervision_body_id)


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_taxpayer_register"), ("core", "0002_initial")]

    operations = [
        migrations.RunPython(fill_bodies, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="taxpayer",
            name="supervision_body",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="taxpayers",
                to="core.supervisionbody",
                verbose_name="supervision body",
            ),
        ),
    ]
