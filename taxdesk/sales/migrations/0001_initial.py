# The sale moves from the devices app to its own app. Its tables keep their names
# (devices_sale, devices_saleline) and their rows: only Django's idea of which app owns them
# changes, and the content types follow, so audit entries and permissions keep pointing at them.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

MOVED = ("sale", "saleline")


def content_types_to_sales(apps, schema_editor):
    _move_content_types(apps, schema_editor, "devices", "sales")


def content_types_to_devices(apps, schema_editor):
    _move_content_types(apps, schema_editor, "sales", "devices")


def _move_content_types(apps, schema_editor, old, new):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model in MOVED:
        if not ContentType.objects.using(db).filter(app_label=new, model=model).exists():
            ContentType.objects.using(db).filter(app_label=old, model=model).update(app_label=new)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('core', '0002_initial'),
        ('customers', '0003_taxpayer_body_required'),
        ('devices', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Sale',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('number', models.CharField(max_length=40, unique=True, verbose_name='sale no.')),
                        ('sold_on', models.DateTimeField(verbose_name='sold at')),
                        ('application', models.JSONField(blank=True, default=dict, verbose_name='application form')),
                        ('service_unit', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='sales', to='core.serviceunit', verbose_name='service unit')),
                        ('sold_by', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='sold by')),
                        ('taxpayer', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='sales', to='customers.taxpayer', verbose_name='taxpayer')),
                    ],
                    options={
                        'verbose_name': 'sale',
                        'verbose_name_plural': 'sales',
                        'db_table': 'devices_sale',
                        'ordering': ['-sold_on', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='SaleLine',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('list_price', models.DecimalField(decimal_places=2, max_digits=12, verbose_name='list price')),
                        ('price', models.DecimalField(decimal_places=2, max_digits=12, verbose_name='price')),
                        ('price_note', models.CharField(blank=True, max_length=100, verbose_name='price note')),
                        ('device', models.OneToOneField(on_delete=django.db.models.deletion.PROTECT, related_name='sale_line', to='devices.device', verbose_name='device')),
                        ('sale', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='sales.sale', verbose_name='sale')),
                    ],
                    options={
                        'verbose_name': 'sale line',
                        'verbose_name_plural': 'sale lines',
                        'db_table': 'devices_saleline',
                        'ordering': ['sale', 'id'],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_sales, content_types_to_devices),
    ]
