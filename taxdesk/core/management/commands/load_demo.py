"""Load the demo: one supervision body, two service units in two cities with a tax office each,
a user for every role, a few taxpayers and clocks. Every name says it is a demo.

Run once on a new database (``--if-empty`` does nothing when any service unit exists);
later issues extend it. Nothing here is loaded outside the demo.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from stdnum.cn import uscc

from taxdesk.clocks.actions import start_deadline, stop_deadline
from taxdesk.core import audit
from taxdesk.core.actions import create_user
from taxdesk.core.choices import AuditSource, Role
from taxdesk.core.models import ServiceUnit, SupervisionBody, TaxOffice
from taxdesk.customers.models import Taxpayer
from taxdesk.workdays.store import current_calendar

DEMO_PASSWORD = "taxdesk-demo"

UNITS = [
    # code, name, city, tax office, area code of the credit codes, hotline
    (
        "A",
        "杭州示范税控服务有限公司（演示）",
        "杭州",
        "国家税务总局杭州市演示区税务局",
        "330106",
        "400-000-0001",
    ),
    (
        "B",
        "宁波示范税控服务有限公司（演示）",
        "宁波",
        "国家税务总局宁波市演示区税务局",
        "330203",
        "400-000-0002",
    ),
]

UNIT_STAFF = [
    ("admin", Role.UNIT_ADMIN, "单位管理员"),
    ("desk", Role.DISPATCHER, "客服派工员"),
    ("tech", Role.TECHNICIAN, "技术服务人员"),
    ("trainer", Role.TRAINER, "培训教师"),
    ("sales", Role.SALES_CLERK, "发行销售员"),
    ("repair", Role.REPAIR_TECHNICIAN, "维修员"),
]

COMPANIES = [
    "商贸",
    "科技",
    "建材",
    "餐饮",
    "物流",
    "服装",
    "电子",
    "医药",
    "农业",
    "印务",
    "五金",
    "文化",
]


def credit_code(area: str, serial: int) -> str:
    """A well-formed 统一社会信用代码 (check character computed) for demo enterprises."""
    body = f"91{area}{serial:09d}"
    return body + uscc.calc_check_digit(body)


class Command(BaseCommand):
    help = "Load the TaxDesk demo data (demo logins are printed)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when the database already has a service unit",
        )

    def handle(self, *args, if_empty=False, **options):
        if ServiceUnit.objects.exists():
            if if_empty:
                self._print_existing_logins()
                return
            raise CommandError(
                "The database already has service units; the demo loads only "
                "into an empty database."
            )
        with transaction.atomic(), audit.context(source=AuditSource.COMMAND):
            logins = self._load()
        self.stdout.write(
            self.style.SUCCESS(f"Demo data loaded. Logins (password {DEMO_PASSWORD}):")
        )
        for username, what in logins:
            self.stdout.write(f"  {username:<14} {what}")

    def _print_existing_logins(self) -> None:
        from taxdesk.core.models import User

        demo = User.objects.filter(
            Q(service_unit__code__startswith="DEMO-")
            | Q(supervision_body__code="DEMO-SB")
            | Q(tax_office__code__startswith="DEMO-")
            | Q(taxpayer__service_unit__code__startswith="DEMO-")
            | Q(username="admin", is_superuser=True)
        ).order_by("id")
        if not demo.exists():
            self.stdout.write("The database has data and no demo logins; nothing loaded.")
            return
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD} unless changed):")
        for user in demo:
            what = user.get_role_display() or "platform administrator"
            self.stdout.write(f"  {user.username:<14} {user.full_name} · {what}")

    def _load(self) -> list[tuple[str, str]]:
        logins: list[tuple[str, str]] = []
        admin = create_user(
            username="admin",
            password=DEMO_PASSWORD,
            role="",
            is_superuser=True,
            is_staff=True,
            full_name="平台管理员",
        )
        logins.append(("admin", "平台管理员 platform administrator"))
        body = SupervisionBody.objects.create(
            name="某省税控服务监督中心（演示）", code="DEMO-SB", region="某省"
        )
        create_user(
            username="supervisor",
            password=DEMO_PASSWORD,
            role=Role.SUPERVISION_OFFICER,
            supervision_body=body,
            full_name="监督专员",
            by=admin,
        )
        logins.append(("supervisor", "服务监督单位 supervision officer"))
        now = timezone.now()
        calendar = current_calendar()
        for code, name, city, office_name, area, hotline in UNITS:
            office = TaxOffice.objects.create(
                name=office_name, code=f"DEMO-TO-{code}", city=city, supervision_body=body
            )
            unit = ServiceUnit.objects.create(
                name=name,
                code=f"DEMO-{code}",
                city=city,
                supervision_body=body,
                hotline=hotline,
                address=f"{city}市演示路 1 号",
            )
            unit.tax_offices.add(office)
            suffix = code.lower()
            for stem, role, title in UNIT_STAFF:
                username = f"{stem}_{suffix}"
                create_user(
                    username=username,
                    password=DEMO_PASSWORD,
                    role=role,
                    service_unit=unit,
                    full_name=f"{city}{title}",
                    by=admin,
                )
                logins.append((username, f"{name} · {title}"))
            create_user(
                username=f"tax_{suffix}",
                password=DEMO_PASSWORD,
                role=Role.TAX_OFFICER,
                tax_office=office,
                full_name=f"{city}税务专管员",
                by=admin,
            )
            logins.append((f"tax_{suffix}", f"{office_name} · 税务机关"))
            sales = unit.staff.get(role=Role.SALES_CLERK)
            taxpayers = []
            with audit.acting(sales):
                for i, trade in enumerate(COMPANIES):
                    taxpayers.append(
                        Taxpayer.objects.create(
                            number=credit_code(area, 70000000 + i * 37 + (1 if code == "B" else 0)),
                            name=f"{city}演示{trade}有限公司",
                            service_unit=unit,
                            tax_office=office,
                        )
                    )
            create_user(
                username=f"taxpayer_{suffix}",
                password=DEMO_PASSWORD,
                role=Role.TAXPAYER,
                taxpayer=taxpayers[0],
                full_name="企业办税员",
                by=admin,
            )
            logins.append((f"taxpayer_{suffix}", f"{taxpayers[0].name} · 纳税人用户"))
            self._clocks(unit, sales, taxpayers, now, calendar)
        return logins

    def _clocks(self, unit, sales, taxpayers, now, calendar):
        """INS-06 clocks: new users entered in time, late, and still to enter."""
        today = timezone.localdate(now)
        for i, taxpayer in enumerate(taxpayers):
            sold_on = calendar.add_workdays(today, -(i % 6) - 1)
            started = timezone.make_aware(datetime.combine(sold_on, time(10)))
            deadline = start_deadline(
                taxpayer,
                "INS-06",
                started_at=started,
                service_unit=unit,
                taxpayer=taxpayer,
                by=sales,
            )
            if i % 3 == 0:
                stop_deadline(taxpayer, "INS-06", at=started + timedelta(hours=5), by=sales)
            elif i % 3 == 1 and deadline.due_at < now:
                stop_deadline(taxpayer, "INS-06", at=deadline.due_at + timedelta(hours=9), by=sales)
