# The sale and its lines now belong to the sales app (same tables, same rows); the device's
# sale column points at it there.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('devices', '0001_initial'),
        ('sales', '0001_initial'),
        ('billing', '0004_charge_sale_in_sales_app'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='device',
                    name='sale',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='devices', to='sales.sale', verbose_name='sale'),
                ),
                migrations.DeleteModel(name='SaleLine'),
                migrations.DeleteModel(name='Sale'),
            ],
            database_operations=[],
        ),
    ]
