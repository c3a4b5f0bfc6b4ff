"""The demo: one body, two units in two cities with a tax office each, a user for every role,
and the taxpayer register of the last two years written through the actions."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.test.utils import override_settings
from django.urls import reverse
from django.utils import timezone

from taxdesk.billing.choices import ChargeKind, ContractState, FeeKind, PaymentState
from taxdesk.billing.models import Charge, FeeSchedule, ProrationRate, ServiceContract
from taxdesk.clocks.choices import ClockStatus
from taxdesk.clocks.models import Deadline
from taxdesk.core.choices import Role
from taxdesk.core.models import AuditEntry, ServiceUnit, SupervisionBody, TaxOffice, User
from taxdesk.customers.choices import TaxpayerStatus
from taxdesk.customers.identifiers import normalize_mobile, validate_taxpayer_number
from taxdesk.customers.models import Taxpayer, TaxpayerChange
from taxdesk.devices.choices import DeviceStatus, DeviceType
from taxdesk.devices.models import Device, validate_serial
from taxdesk.imports.models import ImportJob
from taxdesk.sales.models import Sale, SaleLine

SIZE = 40


@pytest.fixture(scope="class")
def demo(django_db_setup, django_db_blocker):
    """The demo of ``SIZE`` taxpayers, loaded once for the class and rolled back after it."""
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), fast, transaction.atomic():
        out = StringIO()
        call_command("load_demo", "--taxpayers", str(SIZE), stdout=out)
        yield out.getvalue()
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.usefixtures("demo")
class TestDemo:
    def test_every_role_and_tenant(self, demo):
        assert SupervisionBody.objects.count() == 1
        units = list(ServiceUnit.objects.all())
        assert len(units) == 2
        assert len({u.city for u in units}) == 2
        assert TaxOffice.objects.count() == 2
        for unit in units:
            assert unit.tax_offices.count() == 1
        roles = set(User.objects.values_list("role", flat=True))
        assert roles >= {choice.value for choice in Role}
        assert User.objects.filter(is_superuser=True).count() == 1
        for user in User.objects.exclude(is_superuser=True):
            user.full_clean()  # every demo user is tied to the tenant its role needs
            assert user.check_password("taxdesk-demo")
        assert "admin_a" in demo and "taxpayer_b" in demo and "taxdesk-demo" in demo
        for username in ("taxpayer_a", "taxpayer_b"):
            taxpayer = User.objects.get(username=username).taxpayer
            # The taxpayer user's enterprise has a bit of everything.
            assert taxpayer.devices.count() >= 3
            assert taxpayer.contracts.filter(renewal_of__isnull=False).exists()
            assert taxpayer.charges.exclude(invoice_number="").exists()

    def test_taxpayers_valid_and_spread_over_both_units(self):
        # SIZE through the sales history, and 15 imported from a clean spreadsheet per unit.
        assert Taxpayer.objects.count() == SIZE + 2 * 15
        for unit in ServiceUnit.objects.all():
            assert unit.taxpayers.count() == SIZE // 2 + 15
        for taxpayer in Taxpayer.objects.select_related("service_unit"):
            validate_taxpayer_number(taxpayer.number)
            assert len(taxpayer.number) == 18
            assert taxpayer.supervision_body_id == taxpayer.service_unit.supervision_body_id
            assert taxpayer.district and "演示" in taxpayer.name
            for contact in taxpayer.contacts.exclude(mobile=""):
                assert normalize_mobile(contact.mobile) == contact.mobile
        statuses = set(Taxpayer.objects.values_list("status", flat=True))
        assert statuses == set(TaxpayerStatus.values)
        assert TaxpayerChange.objects.filter(kind="status").count() >= 4

    def test_fee_schedules_proration_and_stock(self):
        for unit in ServiceUnit.objects.all():
            closed, current = FeeSchedule.objects.filter(service_unit=unit).order_by("valid_from")
            assert closed.valid_to is not None and current.valid_to is None
            prices = {(i.kind, i.device_type): i.amount for i in current.items.all()}
            assert prices[(FeeKind.MAINTENANCE, "")] == Decimal("280.00")
            assert prices[(FeeKind.DEVICE, DeviceType.GOLDEN_TAX_DISK)] == Decimal("200.00")
            assert prices[(FeeKind.DEVICE, DeviceType.REPORTING_DISK)] == Decimal("100.00")
            old = {(i.kind, i.device_type): i.amount for i in closed.items.all()}
            assert old[(FeeKind.DEVICE, DeviceType.TAX_CONTROL_DISK)] == Decimal("490.00")
            assert old[(FeeKind.DEVICE, DeviceType.REPORTING_DISK)] == Decimal("230.00")
            assert old[(FeeKind.MAINTENANCE, "")] == Decimal("330.00")
            assert ProrationRate.objects.filter(service_unit=unit).count() == 12
            assert unit.stock_batches.exists()
        for device in Device.objects.all():
            validate_serial(device.device_type, device.serial)
        kinds = set(Device.objects.values_list("device_type", "status"))
        assert {t for t, _s in kinds} == set(DeviceType.values)
        assert {s for _t, s in kinds} >= {
            DeviceStatus.IN_STOCK,
            DeviceStatus.IN_USE,
            DeviceStatus.RETURNED,
            DeviceStatus.CANCELLED,
        }

    def test_sales_contracts_and_charges(self):
        assert Sale.objects.count() >= SIZE * 3 // 4
        today = timezone.localdate()
        assert not Sale.objects.filter(sold_on__gt=timezone.now()).exists()
        # Second sets at half price.
        half = SaleLine.objects.exclude(price_note="")
        assert half.exists()
        assert all(line.price * 2 == line.list_price for line in half)
        states = set(ServiceContract.objects.values_list("state", flat=True))
        assert states == set(ContractState.values)
        assert ServiceContract.objects.filter(renewal_of__isnull=False).exists()
        assert ServiceContract.objects.filter(
            state=ContractState.SIGNED, ends_on__gte=today, ends_on__lte=today + timedelta(30)
        ).exists()
        kinds = set(Charge.objects.values_list("kind", "fee_kind", "payment_state"))
        assert (ChargeKind.CHARGE, FeeKind.DEVICE, PaymentState.PAID) in kinds
        assert (ChargeKind.CHARGE, FeeKind.MAINTENANCE, PaymentState.PAID) in kinds
        assert (ChargeKind.CHARGE, FeeKind.MAINTENANCE, PaymentState.UNPAID) in kinds
        assert {ChargeKind.CORRECTION, ChargeKind.REFUND} <= {k for k, _f, _p in kinds}
        invoiced = Charge.objects.exclude(invoice_number="")
        assert invoiced.exists()
        for charge in invoiced:
            assert charge.payment_state == PaymentState.PAID
            assert (len(charge.invoice_code), len(charge.invoice_number)) in ((12, 8), (0, 20))
            assert charge.invoice_date <= today
        # INS-07: every maintenance fee under a signed contract or a recorded refusal.
        for charge in Charge.objects.filter(fee_kind=FeeKind.MAINTENANCE, kind="charge"):
            assert charge.contract.state in (ContractState.SIGNED, ContractState.REFUSED)

    def test_ins_06_clocks_met_breached_and_open(self):
        clocks = Deadline.objects.filter(rule="INS-06")
        statuses = set(clocks.values_list("status", flat=True))
        assert {ClockStatus.MET, ClockStatus.BREACHED, ClockStatus.RUNNING} <= statuses
        assert clocks.filter(status=ClockStatus.MET).count() > clocks.count() // 2
        for clock in clocks:
            taxpayer = Taxpayer.objects.get(pk=clock.object_id)
            first_sale = taxpayer.sales.order_by("sold_on").first()
            assert clock.started_at == first_sale.sold_on
            if clock.status == ClockStatus.RUNNING:
                assert taxpayer.missing_for_entry()  # shows what is still missing
                assert taxpayer.entered_at is None
            else:
                assert clock.stopped_at == max(taxpayer.entered_at, first_sale.sold_on)
                late = clock.stopped_at > clock.due_at
                assert late == (clock.status == ClockStatus.BREACHED)

    def test_history_written_by_the_staff_on_its_days(self):
        entries = AuditEntry.objects.filter(content_type__model="taxpayer")
        assert entries.count() >= SIZE
        assert entries.filter(actor__role=Role.SALES_CLERK).exists()
        assert entries.filter(actor__role=Role.DISPATCHER).exists()
        assert AuditEntry.objects.filter(content_type__model="device").exists()
        # Replayed on the days things happened, not all at once today.
        showcase = User.objects.get(username="taxpayer_a").taxpayer
        created = entries.filter(object_id=str(showcase.pk), action="create").get()
        assert created.at < timezone.now() - timedelta(days=500)
        jobs = {(job.state, job.error_count > 0) for job in ImportJob.objects.all()}
        assert jobs == {("done", False), ("validated", True)}

    def test_every_page_renders_for_the_demo_users(self, client_for):
        users = {u.username: u for u in User.objects.all()}
        sales = users["sales_a"]
        taxpayer = users["taxpayer_a"].taxpayer
        contract = taxpayer.contracts.order_by("pk").first()
        sale = taxpayer.sales.order_by("pk").first()
        device = taxpayer.devices.order_by("pk").first()
        charge = taxpayer.charges.order_by("pk").first()
        schedule = FeeSchedule.objects.filter(service_unit=sales.service_unit).first()
        lists = [
            reverse("customers:taxpayer_list"),
            reverse("devices:device_list"),
            reverse("devices:batch_list"),
            reverse("sales:sale_list"),
            reverse("billing:schedule_list"),
            reverse("billing:charge_list"),
            reverse("billing:contract_list"),
            reverse("imports:job_list"),
            reverse("clocks:list"),
        ]
        pages = [
            reverse("devices:warranty_policies"),
            reverse("billing:proration"),
            reverse("customers:taxpayer_detail", args=[taxpayer.pk]),
            reverse("devices:device_detail", args=[device.pk]),
            reverse("devices:batch_detail", args=[device.batch_id]),
            reverse("sales:sale_detail", args=[sale.pk]),
            reverse("sales:application_pdf", args=[sale.pk]),
            reverse("billing:schedule_detail", args=[schedule.pk]),
            reverse("billing:charge_detail", args=[charge.pk]),
            reverse("billing:contract_detail", args=[contract.pk]),
            reverse("billing:contract_pdf", args=[contract.pk]),
            reverse("customers:taxpayer_add"),
            reverse("sales:sale_add", args=[taxpayer.pk]),
            reverse("billing:charge_add"),
            reverse("billing:contract_add"),
            reverse("devices:batch_receive"),
            reverse("imports:upload"),
            reverse("imports:job_detail", args=[ImportJob.objects.order_by("pk").first().pk]),
        ]
        client = client_for(sales)
        for url in lists:
            response = client.get(url)
            assert response.status_code == 200, url
            assert b'data-testid="rows"' in response.content, url
        for url in pages:
            assert client.get(url).status_code == 200, url
        # The lists of the other roles have the demo's rows too.
        for username in ("admin_b", "supervisor", "tax_a", "taxpayer_a"):
            client = client_for(users[username])
            for url in (
                reverse("customers:taxpayer_list"),
                reverse("devices:device_list"),
                reverse("billing:charge_list"),
                reverse("billing:contract_list"),
            ):
                response = client.get(url)
                assert response.status_code == 200, (username, url)
                assert b'data-testid="rows"' in response.content, (username, url)

    def test_messages_sent_and_one_failed_in_each_units_log(self, client_for):
        from taxdesk.notifications.models import Message

        for unit in ServiceUnit.objects.all():
            messages = Message.objects.filter(service_unit=unit)
            assert messages.filter(status="sent", channel="sms").count() == 3
            assert messages.filter(status="failed", channel="email").count() == 1
            assert not messages.exclude(status__in=["sent", "failed"]).exists()
        for username in ("admin_a", "desk_b", "supervisor"):
            user = User.objects.get(username=username)
            response = client_for(user).get(reverse("notifications:message_list"))
            assert response.status_code == 200, username
            assert b'data-testid="rows"' in response.content, username


@pytest.mark.django_db
def test_demo_loads_once():
    call_command("load_demo", "--taxpayers", "4", stdout=StringIO())
    count = User.objects.count()
    out = StringIO()
    call_command("load_demo", "--if-empty", stdout=out)
    assert User.objects.count() == count
    assert "admin_a" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("load_demo", stdout=StringIO())


def test_demo_refuses_a_register_too_small_for_its_users():
    with pytest.raises(CommandError):
        call_command("load_demo", "--taxpayers", "1", stdout=StringIO())
