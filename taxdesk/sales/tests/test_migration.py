"""A database made before the sale left the devices app migrates forward with its sales.

The migrations are unapplied back to where the sale was ``devices.Sale``; rows are written
there with the historical models, as an older TaxDesk wrote them; then everything migrates
forward and the current models read the same rows (SQLite and PostgreSQL alike).
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from taxdesk.billing.models import Charge
from taxdesk.core.models import AuditEntry
from taxdesk.devices.models import Device
from taxdesk.sales.models import Sale, SaleLine

SH = ZoneInfo("Asia/Shanghai")


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)


def test_a_database_from_before_the_move_keeps_its_sales(transactional_db, cast):
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    _migrate([("sales", None)])  # and what depends on it: devices 0002, billing 0004
    old = (
        MigrationExecutor(connection)
        .loader.project_state(
            [("devices", "0001_initial"), ("billing", "0003_charge_invoice_once")]
        )
        .apps
    )
    assert not MigrationExecutor(connection).loader.applied_migrations.get(
        ("sales", "0001_initial")
    )
    OldSale = old.get_model("devices", "Sale")
    OldSaleLine = old.get_model("devices", "SaleLine")
    OldDevice = old.get_model("devices", "Device")
    OldCharge = old.get_model("billing", "Charge")
    OldContentType = old.get_model("contenttypes", "ContentType")
    OldAuditEntry = old.get_model("core", "AuditEntry")

    sale = OldSale.objects.create(
        service_unit_id=cast.unit_a.pk,
        taxpayer_id=cast.pa1.pk,
        number="XS001-20250926-0001",
        sold_on=datetime(2025, 9, 26, 15, 30, tzinfo=SH),
        sold_by_id=cast.sales_a.pk,
        application={"taxpayer": {"name": cast.pa1.name}},
    )
    device = OldDevice.objects.create(
        service_unit_id=cast.unit_a.pk,
        device_type="golden_tax_disk",
        serial="661234567890",
        status="sold",
        status_changed_on=date(2025, 9, 26),
        taxpayer_id=cast.pa1.pk,
        sale=sale,
        sold_on=date(2025, 9, 26),
        warranty_until=date(2028, 9, 25),
    )
    OldSaleLine.objects.create(
        sale=sale, device=device, list_price=Decimal("490.00"), price=Decimal("490.00")
    )
    OldCharge.objects.create(
        service_unit_id=cast.unit_a.pk,
        taxpayer_id=cast.pa1.pk,
        kind="charge",
        fee_kind="device",
        description="金税盘 661234567890",
        amount=Decimal("490.00"),
        service_date=date(2025, 9, 26),
        device=device,
        sale=sale,
    )
    sale_type = OldContentType.objects.get(app_label="devices", model="sale")
    OldAuditEntry.objects.create(
        action="create",
        actor_id=cast.sales_a.pk,
        actor_repr="sales_a",
        content_type=sale_type,
        object_id=str(sale.pk),
        object_repr=sale.number,
        unit_id=cast.unit_a.pk,
    )

    _migrate(leaves)

    moved = Sale.objects.get(number="XS001-20250926-0001")
    assert moved.pk == sale.pk
    assert moved.taxpayer == cast.pa1
    assert moved.application == {"taxpayer": {"name": cast.pa1.name}}
    line = SaleLine.objects.get(sale=moved)
    assert (line.device.serial, line.price) == ("661234567890", Decimal("490.00"))
    assert Device.objects.get(serial="661234567890").sale == moved
    assert Charge.objects.get(device__serial="661234567890").sale == moved
    # The audit trail of the sale still names it: its content type moved with the model.
    assert ContentType.objects.get_for_model(Sale).pk == sale_type.pk
    entry = AuditEntry.objects.get(object_repr=moved.number)
    assert entry.content_type.model_class() is Sale
    assert not ContentType.objects.filter(app_label="devices", model__in=["sale", "saleline"])
