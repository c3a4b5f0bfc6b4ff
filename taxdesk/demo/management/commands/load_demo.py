"""Load the demo: one supervision body, two service units in two cities with a tax office each,
a user for every role, then the taxpayer register of the last two years (about 2,000
taxpayers with their devices, sales, contracts, charges and INS-06 clocks, written through the
actions: see ``demo_register``). Every name says it is a demo.

Run once on a new database (``--if-empty`` does nothing when any service unit exists);
later issues extend it. Nothing here is loaded outside the demo. ``--taxpayers N`` loads a
smaller (or larger) register; ``--seed`` another one of the same shape.
"""

from __future__ import annotations

import time as wallclock
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q

from taxdesk.core import audit
from taxdesk.core.actions import create_user
from taxdesk.core.choices import AuditSource, Role
from taxdesk.core.models import ServiceUnit, SupervisionBody, TaxOffice
from taxdesk.demo.messages import add_messages

from .demo_register import DEFAULT_SEED, DEFAULT_TAXPAYERS, DemoRegister, clock_at

DEMO_PASSWORD = "taxdesk-demo"

UNITS = [
    # code, name, city, tax office, hotline
    (
        "A",
        "杭州示范税控服务有限公司（演示）",
        "杭州",
        "国家税务总局杭州市演示区税务局",
        "400-000-0001",
    ),
    (
        "B",
        "宁波示范税控服务有限公司（演示）",
        "宁波",
        "国家税务总局宁波市演示区税务局",
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


class Command(BaseCommand):
    help = "Load the TaxDesk demo data (demo logins are printed)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when the database already has a service unit",
        )
        parser.add_argument(
            "--taxpayers",
            type=int,
            default=DEFAULT_TAXPAYERS,
            help=f"taxpayers in the two units together (default {DEFAULT_TAXPAYERS})",
        )
        parser.add_argument(
            "--seed", type=int, default=DEFAULT_SEED, help="another register of the same shape"
        )

    def handle(
        self, *args, if_empty=False, taxpayers=DEFAULT_TAXPAYERS, seed=DEFAULT_SEED, **options
    ):
        if taxpayers < 2:
            raise CommandError("--taxpayers: at least 2 (one for each unit's taxpayer user).")
        if ServiceUnit.objects.exists():
            if if_empty:
                self._print_existing_logins()
                return
            raise CommandError(
                "The database already has service units; the demo loads only "
                "into an empty database."
            )
        started = wallclock.monotonic()
        self.stdout.write(f"Loading the demo ({taxpayers} taxpayers); this takes a few minutes.")
        register = DemoRegister(total=taxpayers, seed=seed, write=self.stdout.write)
        with transaction.atomic(), audit.context(source=AuditSource.COMMAND):
            # The units and their staff exist before the history the register replays.
            with clock_at(register.history_start() - timedelta(days=1)):
                logins, admin, units = self._load()
            self.stdout.write("  units, tax offices and users: done")
            showcase = register.build(units)
            logins += self._taxpayer_users(units, showcase, admin)
            self.stdout.write(f"  messages: {add_messages(units, showcase)}")
        self.stdout.write(f"  loaded in {wallclock.monotonic() - started:.0f} s")
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

    def _load(self) -> tuple[list[tuple[str, str]], object, list[ServiceUnit]]:
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
        units = []
        for code, name, city, office_name, hotline in UNITS:
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
            units.append(unit)
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
        return logins, admin, units

    def _taxpayer_users(self, units, showcase, admin) -> list[tuple[str, str]]:
        """Each unit's taxpayer user, of an enterprise with a bit of everything."""
        logins = []
        for unit in units:
            suffix = unit.code.removeprefix("DEMO-").lower()
            taxpayer = showcase[unit.code]
            create_user(
                username=f"taxpayer_{suffix}",
                password=DEMO_PASSWORD,
                role=Role.TAXPAYER,
                taxpayer=taxpayer,
                full_name="企业办税员",
                by=admin,
            )
            logins.append((f"taxpayer_{suffix}", f"{taxpayer.name} · 纳税人用户"))
        return logins
