"""Factories of the taxpayer register's tests: real-format credit codes, complete records,
and the devices, contracts, charges and sales a taxpayer page shows.

The cast's own taxpayers (pa1, pa2, pb1, pc1) have made-up numbers that are not valid credit
codes and lack most fields; tests that need valid ones make them here.
"""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

from django.utils import timezone
from stdnum.cn import uscc

from taxdesk.customers.actions import register_taxpayer
from taxdesk.customers.choices import ContactRole, InvoiceType, TaxpayerType
from taxdesk.customers.models import Contact, Taxpayer

_sequence = itertools.count(1)


def credit_code(n: int | None = None, region: str = "330100") -> str:
    """A unified social credit code with the right check character (GB 32100-2015)."""
    n = next(_sequence) if n is None else n
    body = f"91{region}MA{n:07d}"
    return body + uscc.calc_check_digit(body)


def wrong_check(code: str) -> str:
    """The same code with a wrong 18th character."""
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    return code[:17] + next(c for c in alphabet if c != code[17])


def complete_fields(unit, **overrides) -> dict:
    """Every field INS-06 needs (a contact with a mobile comes separately)."""
    fields = {
        "number": credit_code(),
        "name": "杭州测试科技有限公司",
        "address": "杭州市西湖区文三路 1 号",
        "district": "西湖区",
        "tax_office": unit.tax_offices.order_by("pk").first(),
        "taxpayer_type": TaxpayerType.GENERAL,
        "approved_on": timezone.localdate() - datetime.timedelta(days=10),
        "office_hours": "09:00-17:00",
        "invoice_types": [InvoiceType.SPECIAL, InvoiceType.ORDINARY],
    }
    fields.update(overrides)
    return fields


MOBILE = "13812345678"


def register(unit, by, *, contacts=None, **overrides) -> Taxpayer:
    """A complete taxpayer registered through the action (INS-06 complete at once)."""
    if contacts is None:
        contacts = [{"name": "张三", "role": ContactRole.CLERK, "mobile": MOBILE}]
    return register_taxpayer(
        service_unit=unit, by=by, contacts=contacts, **complete_fields(unit, **overrides)
    )


def make_taxpayer(unit, **fields) -> Taxpayer:
    """A taxpayer created directly (as the cast's are), for reads that need many rows."""
    defaults = {"number": credit_code(), "name": f"企业{next(_sequence)}"}
    defaults.update(fields)
    return Taxpayer.objects.create(service_unit=unit, **defaults)


def make_contact(taxpayer, name="李四", mobile="", landline="", role=ContactRole.CLERK):
    return Contact.objects.create(
        taxpayer=taxpayer, name=name, mobile=mobile, landline=landline, role=role
    )


def make_device(taxpayer, serial: str, device_type="golden_tax_disk", status="in_use", unit=None):
    from taxdesk.devices.models import Device

    today = timezone.localdate()
    return Device.objects.create(
        service_unit=unit or taxpayer.service_unit,
        taxpayer=taxpayer,
        device_type=device_type,
        serial=serial,
        status=status,
        status_changed_on=today,
        sold_on=today,
        warranty_until=today + datetime.timedelta(days=3 * 365),
    )


def make_contract(taxpayer, *, ends_in_days: int, state="signed", number=None):
    from taxdesk.billing.models import ServiceContract

    today = timezone.localdate()
    ends_on = today + datetime.timedelta(days=ends_in_days)
    return ServiceContract.objects.create(
        service_unit=taxpayer.service_unit,
        taxpayer=taxpayer,
        number=number or f"HT-{next(_sequence)}",
        starts_on=ends_on - datetime.timedelta(days=365),
        ends_on=ends_on,
        annual_fee=Decimal("280.00"),
        state=state,
        signed_on=ends_on - datetime.timedelta(days=365) if state == "signed" else None,
    )


def make_charge(taxpayer, description="技术维护费", amount="280.00"):
    from taxdesk.billing.models import Charge

    return Charge.objects.create(
        service_unit=taxpayer.service_unit,
        taxpayer=taxpayer,
        fee_kind="maintenance",
        description=description,
        amount=Decimal(amount),
        service_date=timezone.localdate(),
    )


def make_sale(taxpayer, number=None):
    from taxdesk.sales.models import Sale

    return Sale.objects.create(
        service_unit=taxpayer.service_unit,
        taxpayer=taxpayer,
        number=number or f"XS-{next(_sequence)}",
        sold_on=timezone.now(),
    )
