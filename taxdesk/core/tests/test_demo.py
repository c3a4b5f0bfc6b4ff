"""The demo: one body, two units in two cities with a tax office each, a user for every role."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from taxdesk.clocks.choices import ClockStatus
from taxdesk.clocks.models import Deadline
from taxdesk.core.choices import Role
from taxdesk.core.models import AuditEntry, ServiceUnit, SupervisionBody, TaxOffice, User
from taxdesk.customers.models import Taxpayer


@pytest.mark.django_db
def test_demo_loads_every_role_and_real_clocks():
    out = StringIO()
    call_command("load_demo", stdout=out)
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
    assert "admin_a" in out.getvalue() and "taxdesk-demo" in out.getvalue()
    assert Taxpayer.objects.count() == 24
    statuses = set(Deadline.objects.values_list("status", flat=True))
    assert ClockStatus.MET in statuses and ClockStatus.BREACHED in statuses
    assert Deadline.objects.filter(status=ClockStatus.RUNNING).exists()
    # Everything the demo wrote is in the audit trail, by the people who did it.
    assert AuditEntry.objects.filter(content_type__model="taxpayer").count() >= 24
    assert AuditEntry.objects.filter(actor__role=Role.SALES_CLERK).exists()


@pytest.mark.django_db
def test_demo_loads_once():
    call_command("load_demo", stdout=StringIO())
    count = User.objects.count()
    out = StringIO()
    call_command("load_demo", "--if-empty", stdout=out)
    assert User.objects.count() == count
    assert "admin_a" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("load_demo", stdout=StringIO())
