# Charge.sale points at the sale in its own app; the column and its constraint are unchanged.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0003_charge_invoice_once'),
        ('sales', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='charge',
                    name='sale',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='charges', to='sales.sale', verbose_name='sale'),
                ),
            ],
            database_operations=[],
        ),
    ]
