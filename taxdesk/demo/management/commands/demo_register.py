"""The demo's register: taxpayers, devices, sales, contracts and charges of the two demo units.

``load_demo`` runs it after the foundation (units, tax offices, users); on its own,
``manage.py demo_register`` adds the register to demo units that have no taxpayers yet.

Everything is written through the actions, as the staff would have done it over the last two
years: the fee schedules and the proration table by the unit's administrator, stock
received quarter by quarter, taxpayers registered by the sales clerk or the desk, devices sold
(which prices them, fills the application form and starts the INS-06 clock), issued and
installed, contracts signed or refused and renewed, maintenance fees charged under them
(INS-07), payments and formal invoices recorded, a few corrections, refunds, status changes,
repairs and migrations to UKey, and two spreadsheets imported (one clean, one with bad rows).
The first taxpayers of each unit follow set stories (``Planner.SCENARIOS``), so that every
state has an example whatever the size and the day.

How the history is replayed: each taxpayer's life is a *story*, a generator that yields the
moment of its next step. A scheduler runs every story's steps in time order with Django's
clock (``django.utils.timezone.now``) set to that step's moment, so what the actions stamp
(the audit trail, ``entered_at``, ``created_at``) and what they check ("not in the future",
the INS-06 due time, the schedule in force) all see the day on which the step happened. A step
that would fall after the real present is not taken, nor anything after it in its story: the
history simply stops today, which is what leaves recent records half done (clocks still
running, contracts awaiting signature, charges unpaid).

Every random choice comes from ``random.Random(seed)``: the same seed and size give the same
register, dated relative to today. Names carry "（演示）": no demo enterprise pretends to be a
real one. The whole load is one transaction: nothing is left half loaded.
"""

from __future__ import annotations

import heapq
import io
import random
import time as wallclock
from collections import defaultdict, deque
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from stdnum.cn import uscc

from taxdesk.billing import actions as billing
from taxdesk.billing.choices import FeeKind
from taxdesk.core import audit
from taxdesk.core.choices import AuditSource, Role
from taxdesk.core.models import ServiceUnit
from taxdesk.customers import actions as customers
from taxdesk.customers.choices import (
    ContactRole,
    InvoiceType,
    TaxpayerStatus,
    TaxpayerType,
)
from taxdesk.demo.words import (
    BRAND_FIRST,
    BRAND_SECOND,
    GIVEN,
    MOBILE_PREFIXES,
    SURNAMES,
    TRADES,
)
from taxdesk.devices.actions import move_device, receive_stock
from taxdesk.devices.choices import DeviceStatus, DeviceType
from taxdesk.devices.models import Device
from taxdesk.sales.actions import sell_devices
from taxdesk.workdays.store import current_calendar

DEFAULT_TAXPAYERS = 2000
DEFAULT_SEED = 2025
HISTORY_DAYS = 730  # sales spread over the last two years

GOLDEN = DeviceType.GOLDEN_TAX_DISK
CONTROL = DeviceType.TAX_CONTROL_DISK
REPORTING = DeviceType.REPORTING_DISK
UKEY = DeviceType.UKEY

# Where the demo's enterprises are: the districts of each unit's city and their area codes
# (the 3rd–8th characters of a 统一社会信用代码).
DISTRICTS = {
    "杭州": [
        ("上城区", "330102"),
        ("拱墅区", "330105"),
        ("西湖区", "330106"),
        ("滨江区", "330108"),
        ("萧山区", "330109"),
        ("余杭区", "330110"),
        ("富阳区", "330111"),
        ("临安区", "330112"),
        ("临平区", "330113"),
        ("钱塘区", "330114"),
    ],
    "宁波": [
        ("海曙区", "330203"),
        ("江北区", "330205"),
        ("北仑区", "330206"),
        ("镇海区", "330211"),
        ("鄞州区", "330212"),
        ("奉化区", "330213"),
        ("象山县", "330225"),
        ("宁海县", "330226"),
        ("余姚市", "330281"),
        ("慈溪市", "330282"),
    ],
}
AREA_PHONE = {"杭州": "0571", "宁波": "0574"}
ROADS = [
    "人民路",
    "解放路",
    "建设路",
    "中山路",
    "环城北路",
    "文化路",
    "新华路",
    "东风路",
    "长江路",
    "滨江大道",
    "科技大道",
    "创业路",
    "工业路",
    "开发路",
    "兴业街",
    "望江路",
    "学院路",
    "园区路",
]
SHOP_TRADES = ["商行", "经营部", "便利店", "五金店", "服装店", "餐馆"]
OFFICE_HOURS = ["周一至周五 8:30-17:00", "周一至周五 9:00-17:30", "周一至周六 8:00-18:00", ""]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

# Serial numbers: (prefix, digits after the prefix and the unit's digit).
SERIALS = {GOLDEN: "66", CONTROL: "49", REPORTING: "88", UKEY: "UK"}
SUPPLIERS = {
    GOLDEN: "航天信息股份有限公司",
    CONTROL: "百望股份有限公司",
    REPORTING: "航天信息股份有限公司",
    UKEY: "税务UKey统一配发（演示）",
}
TYPE_CODES = {GOLDEN: "01", CONTROL: "02", REPORTING: "03", UKEY: "04"}

# The published standards (yuan): 2012, and the lower prices from August 2017.
SCHEDULES = [
    {
        "name": "2012年税控系统收费标准（演示）",
        "valid_from": date(2012, 9, 1),
        "valid_to": date(2017, 7, 31),
        "supervision_approval": "某省税控监〔2012〕8号（演示）",
        "tax_approval": "某税函〔2012〕126号（演示）",
        "approved_on": date(2012, 8, 20),
        "items": [
            (FeeKind.DEVICE, GOLDEN, "490.00"),
            (FeeKind.DEVICE, CONTROL, "490.00"),
            (FeeKind.DEVICE, REPORTING, "230.00"),
            (FeeKind.MAINTENANCE, "", "330.00"),
            (FeeKind.ONSITE, "", "100.00"),
        ],
    },
    {
        "name": "2017年税控系统收费标准（演示）",
        "valid_from": date(2017, 8, 1),
        "valid_to": None,
        "supervision_approval": "某省税控监〔2017〕15号（演示）",
        "tax_approval": "某税函〔2017〕203号（演示）",
        "approved_on": date(2017, 7, 20),
        "items": [
            (FeeKind.DEVICE, GOLDEN, "200.00"),
            (FeeKind.DEVICE, CONTROL, "200.00"),
            (FeeKind.DEVICE, REPORTING, "100.00"),
            (FeeKind.DEVICE, UKEY, "0.00"),
            (FeeKind.MAINTENANCE, "", "280.00"),
            (FeeKind.ONSITE, "", "80.00"),
        ],
        "repairs": [("更换USB数据线", "20.00"), ("外壳更换", "50.00"), ("芯片数据恢复", "120.00")],
    },
]
# Share of the first year's maintenance fee by the month service starts: the months left.
PRORATION = {m: (Decimal(13 - m) * 100 / 12).quantize(Decimal("0.01")) for m in range(1, 13)}

REFUSAL_NOTES = [
    "用户表示自行维护，暂不签订技术服务合同",
    "用户称需公司领导审批，拒绝当场签字",
    "用户对服务条款有异议，拒绝签署",
]


# ----------------------------------------------------------------------------- the clock
@contextmanager
def clock_at(moment: datetime) -> Iterator[None]:
    """Set Django's clock (``timezone.now`` and what derives from it) to ``moment``."""
    real = timezone.now
    timezone.now = lambda: moment
    try:
        yield
    finally:
        timezone.now = real


Story = Generator[datetime, None, None]


class Replay:
    """Runs stories' steps in time order, each at its own moment (see the module docstring)."""

    def __init__(self, present: datetime, progress: Callable[[datetime], None] | None = None):
        self.present = present
        self.progress = progress
        self._heap: list[tuple[datetime, int, Story]] = []
        self._seq = 0
        self.steps = 0

    def spawn(self, story: Story) -> None:
        """Start ``story``: its code up to its first ``yield`` runs now."""
        self._advance(story, None)

    def _advance(self, story: Story, previous: datetime | None) -> None:
        try:
            moment = next(story)
        except StopIteration:
            return
        if previous is not None and moment < previous:
            raise RuntimeError(f"a demo story went back in time: {moment} < {previous}")
        if moment > self.present:
            story.close()  # the rest of this story lies in the future
            return
        self._seq += 1
        heapq.heappush(self._heap, (moment, self._seq, story))

    def run(self) -> None:
        while self._heap:
            moment, _seq, story = heapq.heappop(self._heap)
            if self.progress:
                self.progress(moment)
            with clock_at(moment):
                self.steps += 1
                self._advance(story, moment)


# ----------------------------------------------------------------------------- the plan
@dataclass
class Sale:
    at: datetime
    types: list[str]
    paid_after: timedelta | None  # None: not paid (yet)
    invoice_after: timedelta | None
    issue_after: int = 0  # working days to the issue at the tax office
    install_after: int = 1  # working days from the issue to the installation
    returned: str = ""  # a device type returned (and refunded) the day after the sale


@dataclass
class Plan:
    """What happens to one taxpayer, decided up front (so stock can be planned for it)."""

    index: int
    unit_code: str
    number: str
    name: str
    district: str
    address: str
    taxpayer_type: str
    office_hours: str
    invoice_types: list[str]
    contacts: list[dict]
    registered_at: datetime
    by_desk: bool
    # INS-06: "before" (complete when registered), "after" (completed in time), "late".
    entry: str
    missing: str = ""  # what the record lacks at registration: "approval", "contact", "office"
    completed_at: datetime | None = None
    approved_on: date | None = None
    sales: list[Sale] = field(default_factory=list)
    contract: str = ""  # "signed", "refused", "draft" or "" (none)
    sign_after: timedelta = timedelta(0)
    renewals: int = 0  # how many renewals the taxpayer signs when asked
    correction: bool = False
    unpaid_fee: bool = False  # the first maintenance fee stays unpaid
    repair_at: datetime | None = None
    repair_back_after: timedelta | None = None
    type_change_at: datetime | None = None
    status_moves: list[tuple[datetime, str]] = field(default_factory=list)
    migrate_at: datetime | None = None
    showcase: bool = False


def credit_code(rng: random.Random, area: str, individual: bool = False) -> str:
    """A well-formed 统一社会信用代码: 9 (registered by market regulation), 1 enterprise or
    2 individual business, the area, a 9-character organisation code, the check character."""
    body = ("92" if individual else "91") + area + "MA" + "".join(rng.choices(USCC_ALPHABET, k=7))
    return body + uscc.calc_check_digit(body)


def person(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


class Planner:
    """Decides every taxpayer's story for one unit, with its own seeded random numbers."""

    def __init__(self, *, unit_code: str, city: str, count: int, seed: int, present, calendar):
        self.unit_code = unit_code
        self.city = city
        self.count = count
        self.rng = random.Random(f"{seed}-{unit_code}")
        self.present = present
        self.today = timezone.localdate(present)
        self.calendar = calendar
        self.numbers: set[str] = set()
        self.mobiles: set[str] = set()

    def workday_moment(self, day: date, rng: random.Random, start=9, end=17) -> datetime:
        """A moment in office hours of ``day``, or of the next working day."""
        if not self.calendar.is_workday(day):
            day = self.calendar.next_workday(day)
        minute = rng.randrange(start * 60, end * 60)
        return timezone.make_aware(datetime.combine(day, time(minute // 60, minute % 60)))

    def after_workdays(self, moment: datetime, n: int, rng: random.Random) -> datetime:
        day = self.calendar.add_workdays(timezone.localdate(moment), n) if n else None
        if day is None:
            later = moment + timedelta(minutes=rng.randrange(20, 240))
            return later if timezone.localdate(later) == timezone.localdate(moment) else moment
        return self.workday_moment(day, rng)

    def mobile(self, rng: random.Random) -> str:
        while True:
            number = rng.choice(MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"
            if number not in self.mobiles:
                self.mobiles.add(number)
                return number

    def names(self) -> Iterator[tuple[str, bool]]:
        brands = [a + b for a in BRAND_FIRST for b in BRAND_SECOND if a != b]
        combos = [(b, t) for b in brands for t in TRADES]
        self.rng.shuffle(combos)
        shops = [(b, t) for b in brands for t in SHOP_TRADES]
        self.rng.shuffle(shops)
        for i in range(self.count):
            if i % 12 == 11 and shops:
                brand, trade = shops.pop()
                yield f"{brand}{trade}（演示）", True
            else:
                brand, trade = combos.pop()
                suffix = "股份有限公司" if i % 10 == 3 else "有限公司"
                yield f"{self.city}{brand}{trade}{suffix}（演示）", False

    def plans(self) -> list[Plan]:
        plans = []
        for index, (name, individual) in enumerate(self.names()):
            rng = random.Random(self.rng.random())
            plans.append(self.plan(index, name, individual, rng))
        for plan, kind in zip(plans, self.SCENARIOS, strict=False):
            self.scenario(plan, kind)
        return plans

    def plan(self, index, name, individual, rng) -> Plan:
        district, area = rng.choice(DISTRICTS[self.city])
        number = credit_code(rng, area, individual)
        while number in self.numbers:
            number = credit_code(rng, area, individual)
        self.numbers.add(number)
        if individual:
            name = f"{self.city}市{district}{name}"
        address = f"{self.city}市{district}{rng.choice(ROADS)}{rng.randrange(1, 999)}号"
        general = not individual and rng.random() < 0.35
        taxpayer_type = TaxpayerType.GENERAL if general else TaxpayerType.SMALL
        # First sale: spread over the last two years, a little denser lately.
        offset = int(HISTORY_DAYS * (rng.random() ** 1.15))
        first_sale = self.workday_moment(self.today - timedelta(days=offset), rng)
        if first_sale > self.present:
            first_sale = self.workday_moment(self.calendar.previous_workday(self.today), rng)
        invoice_types = (
            [InvoiceType.SPECIAL, InvoiceType.ORDINARY] if general else [InvoiceType.ORDINARY]
        )
        if rng.random() < 0.4:
            invoice_types.append(InvoiceType.ELECTRONIC)
        if first_sale.date() >= date(2024, 12, 1):
            invoice_types.append(InvoiceType.DIGITAL)
        contacts = [
            {"name": person(rng), "role": ContactRole.CLERK, "mobile": self.mobile(rng)},
        ]
        if rng.random() < 0.45:
            contacts.append(
                {
                    "name": person(rng),
                    "role": rng.choice([ContactRole.FINANCE, ContactRole.LEGAL]),
                    "mobile": self.mobile(rng),
                    "landline": (
                        f"{AREA_PHONE[self.city]}-8{rng.randrange(10**7):07d}"
                        if rng.random() < 0.5
                        else ""
                    ),
                }
            )
        entry = rng.choices(["before", "after", "late"], weights=[58, 32, 10])[0]
        # Entered completely a day or two before the sale, or in a hurry just before it.
        registered_at = first_sale - timedelta(minutes=rng.randrange(10, 90))
        if entry == "before":
            earlier = self.calendar.add_workdays(first_sale.date(), -rng.randrange(0, 3))
            registered_at = min(registered_at, self.workday_moment(earlier, rng))
        plan = Plan(
            index=index,
            unit_code=self.unit_code,
            number=number,
            name=name,
            district=district,
            address=address,
            taxpayer_type=taxpayer_type,
            office_hours=rng.choice(OFFICE_HOURS),
            invoice_types=invoice_types,
            contacts=contacts,
            registered_at=registered_at,
            by_desk=rng.random() < 0.3,
            entry=entry,
            approved_on=timezone.localdate(registered_at) - timedelta(days=rng.randrange(1, 30)),
        )
        if entry != "before":
            plan.missing = rng.choice(["approval", "contact", "office"])
            workdays = rng.randrange(0, 4) if entry == "after" else rng.randrange(4, 12)
            plan.completed_at = self.after_workdays(first_sale, workdays, rng)
            if plan.completed_at < first_sale:
                plan.completed_at = first_sale + timedelta(minutes=rng.randrange(30, 120))
        # Some registered taxpayers have bought nothing (yet): they use 数电 only, or are
        # waiting for their device.
        if rng.random() < 0.07:
            plan.entry = "before"
            plan.missing = ""
            plan.completed_at = None
            return plan
        recent = (self.today - first_sale.date()).days < 180
        if recent and rng.random() < 0.45:
            types = [UKEY]
        else:
            types = [rng.choice([GOLDEN, GOLDEN, CONTROL])]
            if rng.random() < 0.45:
                types.append(REPORTING)
        plan.sales.append(self.sale(first_sale, types, rng))
        if rng.random() < 0.015 and REPORTING in types:
            plan.sales[0].returned = REPORTING
        if types != [UKEY] and rng.random() < 0.09:
            second = first_sale + timedelta(days=rng.randrange(30, 400))
            if second.date() < self.today:
                second = self.workday_moment(second.date(), rng)
                second_types = [types[0]] + ([REPORTING] if rng.random() < 0.4 else [])
                plan.sales.append(self.sale(second, second_types, rng))
        last_sale = plan.sales[-1].at
        if types != [UKEY]:
            plan.contract = rng.choices(["signed", "refused", "draft"], weights=[84, 9, 7])[0]
            plan.sign_after = timedelta(
                minutes=rng.randrange(5, 60)
                if rng.random() < 0.75
                else rng.randrange(1, 20) * 1440 + rng.randrange(60)
            )
            if plan.contract == "draft" and (self.today - first_sale.date()).days > 60:
                plan.contract = "signed"  # a draft of long ago was signed in the end
                plan.sign_after = timedelta(days=rng.randrange(20, 60))
            plan.renewals = rng.choices([0, 1, 2], weights=[18, 52, 30])[0]
            plan.correction = rng.random() < 0.03
        # Later life: a repair, a change of type, a status change, a migration to UKey.
        later = last_sale + timedelta(days=rng.randrange(60, 500))
        life = rng.random()
        if types != [UKEY] and life < 0.04:
            plan.migrate_at = self.workday_moment(later.date(), rng)
        elif life < 0.07:
            plan.status_moves.append(
                (self.workday_moment(later.date(), rng), TaxpayerStatus.ABNORMAL)
            )
            if rng.random() < 0.4:
                back = later + timedelta(days=rng.randrange(20, 120))
                plan.status_moves.append(
                    (self.workday_moment(back.date(), rng), TaxpayerStatus.NORMAL)
                )
        elif life < 0.09:
            plan.status_moves.append(
                (self.workday_moment(later.date(), rng), TaxpayerStatus.CANCELLED)
            )
        elif types != [UKEY] and life < 0.13:
            plan.repair_at = self.workday_moment(later.date(), rng)
            plan.repair_back_after = timedelta(days=rng.randrange(2, 10))
        if taxpayer_type == TaxpayerType.SMALL and not individual and rng.random() < 0.06:
            moment = last_sale + timedelta(days=rng.randrange(30, 400))
            plan.type_change_at = self.workday_moment(moment.date(), rng)
        return plan

    def sale(self, at: datetime, types: list[str], rng: random.Random) -> Sale:
        paid = rng.random() < 0.9
        return Sale(
            at=at,
            types=types,
            paid_after=timedelta(hours=rng.randrange(0, 24 * 8)) if paid else None,
            invoice_after=(
                timedelta(hours=rng.randrange(0, 24 * 6)) if paid and rng.random() < 0.9 else None
            ),
            issue_after=rng.choices([0, 1, 2], weights=[60, 30, 10])[0],
            install_after=rng.choices([0, 1, 2, 3], weights=[30, 40, 20, 10])[0],
        )

    def import_rows(self, count: int) -> list[dict]:
        """Rows of a spreadsheet from the unit's old system, by the import template's keys."""
        rng = random.Random(f"import-{self.unit_code}")
        rows = []
        for i in range(count):
            district, area = rng.choice(DISTRICTS[self.city])
            number = credit_code(rng, area)
            while number in self.numbers:
                number = credit_code(rng, area)
            self.numbers.add(number)
            brand = rng.choice(BRAND_FIRST) + rng.choice(BRAND_SECOND)
            rows.append(
                {
                    "number": number,
                    "name": f"{self.city}{brand}{rng.choice(TRADES)}有限公司（演示）",
                    "address": f"{self.city}市{district}{rng.choice(ROADS)}{i + 1}号",
                    "district": district,
                    "taxpayer_type": rng.choice(["一般纳税人", "小规模纳税人"]),
                    "approved_on": (
                        self.today - timedelta(days=rng.randrange(30, 900))
                    ).isoformat(),
                    "invoice_types": "增值税普通发票",
                    "contact_name": person(rng),
                    "contact_role": "办税员",
                    "contact_mobile": self.mobile(rng),
                }
            )
        return rows

    # ------------------------------------------------------------------- sure cases
    # Whatever the size and the day, each unit has one taxpayer of each of these stories
    # (the first plans), so every page and every state has something to show.
    SCENARIOS = (
        "showcase",
        "open",
        "overdue",
        "late",
        "refused",
        "ending",
        "draft",
        "ukey",
        "returned",
        "correction",
        "abnormal",
        "cancelled",
    )

    def scenario(self, plan: Plan, kind: str) -> None:
        rng = random.Random(f"{kind}-{self.unit_code}")

        def days_ago(n: int) -> datetime:
            return self.workday_moment(self.today - timedelta(days=n), rng)

        def workdays_ago(n: int) -> datetime:
            return self.workday_moment(self.calendar.add_workdays(self.today, -n), rng)

        first = {
            "showcase": lambda: days_ago(600),
            "open": lambda: workdays_ago(1),
            "overdue": lambda: workdays_ago(8),
            "late": lambda: days_ago(40),
            "ending": lambda: days_ago(350),
            "draft": lambda: days_ago(10),
            "ukey": lambda: days_ago(30),
            "returned": lambda: days_ago(100),
            "correction": lambda: days_ago(
                200 if (self.today - timedelta(200)).month <= 10 else 270
            ),
        }.get(kind, lambda: days_ago(300))()
        plan.showcase = kind == "showcase"
        plan.entry, plan.missing, plan.completed_at = "before", "", None
        plan.registered_at = first - timedelta(hours=3)
        plan.approved_on = timezone.localdate(first) - timedelta(days=10)
        plan.status_moves, plan.migrate_at, plan.repair_at = [], None, None
        plan.type_change_at = None
        plan.contract, plan.sign_after, plan.renewals = "signed", timedelta(minutes=20), 0
        plan.correction = False
        types = [UKEY] if kind == "ukey" else [GOLDEN, REPORTING]
        plan.sales = [self.sale(first, types, rng)]
        if kind == "showcase":
            second = self.workday_moment(first.date() + timedelta(days=200), rng)
            plan.sales.append(self.sale(second, [GOLDEN], rng))
            plan.renewals = 2
        for sale in plan.sales:
            sale.paid_after, sale.invoice_after = timedelta(hours=2), timedelta(hours=3)
            sale.returned = ""
        if kind in ("open", "overdue"):
            # The record still lacks its approval date: the INS-06 clock runs (or is late).
            plan.entry, plan.missing = "after", "approval"
            plan.registered_at = first - timedelta(minutes=30)
            plan.completed_at = self.present + timedelta(days=30)
        elif kind == "late":
            plan.entry, plan.missing = "late", "contact"
            plan.registered_at = first - timedelta(minutes=30)
            plan.completed_at = self.after_workdays(first, 6, rng)
        elif kind == "refused":
            plan.contract = "refused"
            plan.unpaid_fee = True
        elif kind == "draft":
            plan.contract = "draft"
            plan.sales[0].paid_after = None
        elif kind == "ukey":
            plan.contract = ""
        elif kind == "returned":
            plan.sales[0].returned = REPORTING
        elif kind == "correction":
            plan.correction = True
        elif kind in ("abnormal", "cancelled"):
            to = TaxpayerStatus.ABNORMAL if kind == "abnormal" else TaxpayerStatus.CANCELLED
            plan.status_moves = [(days_ago(100), to)]


# ----------------------------------------------------------------------------- the builder
class DemoRegister:
    """Replays the planned history of every demo taxpayer through the actions."""

    def __init__(self, *, total: int, seed: int = DEFAULT_SEED, write=None):
        self.total = total
        self.seed = seed
        self.write = write or (lambda line: None)
        self.present = timezone.now()
        self.today = timezone.localdate(self.present)
        self.calendar = current_calendar()
        self.stock: dict[tuple[str, str], deque[str]] = defaultdict(deque)
        self.serial_seq: dict[tuple[str, str], int] = defaultdict(int)
        self.invoice_seq: dict[str, int] = defaultdict(int)
        self.showcase: dict[str, object] = {}
        self.counts: dict[str, int] = defaultdict(int)
        self._month = None
        self._started = wallclock.monotonic()
        self._cpu_started = wallclock.process_time()

    def office(self, moment: datetime) -> datetime:
        """``moment`` if it falls in office hours of a working day, else the next opening
        (09:00 plus the minutes of ``moment``, so that moments stay apart)."""
        local = timezone.localtime(moment)
        day = local.date()
        if self.calendar.is_workday(day) and 9 <= local.hour < 17:
            return moment
        if not (self.calendar.is_workday(day) and local.hour < 9):
            day = self.calendar.next_workday(day)
        return timezone.make_aware(datetime.combine(day, time(9, local.minute)))

    # -------------------------------------------------------------------- entry point
    def history_start(self) -> datetime:
        first = (self.today - timedelta(days=HISTORY_DAYS + 45)).replace(day=1)
        return timezone.make_aware(datetime.combine(first, time(8, 0)))

    def build(self, units: list[ServiceUnit]) -> dict[str, object]:
        """Replay the history of ``units`` (the demo's); returns each unit's showcase
        taxpayer (for its taxpayer user)."""
        replay = Replay(self.present, progress=self._progress)
        per_unit = [
            self.total // len(units) + (1 if i < self.total % len(units) else 0)
            for i in range(len(units))
        ]
        for unit, count in zip(units, per_unit, strict=True):
            staff = {user.role: user for user in unit.staff.all()}
            planner = Planner(
                unit_code=unit.code,
                city=unit.city,
                count=count,
                seed=self.seed,
                present=self.present,
                calendar=self.calendar,
            )
            plans = planner.plans()
            office = unit.tax_offices.order_by("pk").first()
            replay.spawn(self.setup_story(unit, staff))
            for device_type, month, quantity in self.stock_needed(plans):
                replay.spawn(self.stock_story(unit, staff, device_type, month, quantity))
            for plan in plans:
                replay.spawn(self.taxpayer_story(plan, unit, office, staff, planner, replay))
            replay.spawn(self.import_story(unit, office, staff, planner))
        self.write(
            f"  replaying {self.total} taxpayers' last two years in "
            f"{', '.join(u.city for u in units)} …"
        )
        replay.run()
        self.write(f"  done: {replay.steps} steps through the actions in {self._elapsed()}")
        return self.showcase

    def _elapsed(self) -> str:
        # CPU time too: on a busy machine the wall time says little about the work.
        return (
            f"{wallclock.monotonic() - self._started:.0f} s, "
            f"CPU {wallclock.process_time() - self._cpu_started:.0f} s"
        )

    def _progress(self, moment: datetime) -> None:
        month = (moment.year, moment.month)
        if month == self._month:
            return
        self._month = month
        if moment.month in (1, 4, 7, 10) or moment.date() >= self.today - timedelta(days=31):
            self.write(
                f"  … {moment:%Y-%m}  ({self._elapsed()}, "
                f"{self.counts['taxpayers']} taxpayers, {self.counts['sales']} sales)"
            )

    # -------------------------------------------------------------------- the unit's setup
    def setup_story(self, unit, staff) -> Story:
        admin = staff[Role.UNIT_ADMIN]
        yield self.history_start()
        for spec in SCHEDULES:
            items = [
                {"kind": kind, "device_type": device_type, "amount": Decimal(amount)}
                for kind, device_type, amount in spec["items"]
            ]
            items += [
                {"kind": FeeKind.REPAIR, "name": name, "amount": Decimal(amount)}
                for name, amount in spec.get("repairs", [])
            ]
            billing.create_fee_schedule(
                service_unit=unit,
                name=spec["name"],
                valid_from=spec["valid_from"],
                valid_to=spec["valid_to"],
                supervision_approval=spec["supervision_approval"],
                tax_approval=spec["tax_approval"],
                approved_on=spec["approved_on"],
                items=items,
                by=admin,
            )
        billing.set_proration(service_unit=unit, rates=PRORATION, by=admin)

    # -------------------------------------------------------------------- imports
    def import_story(self, unit, office, staff, planner) -> Story:
        """Two spreadsheets from the unit's old system: one clean and imported, one with
        bad rows, checked and waiting to be corrected (its rows reported)."""
        from django.conf import settings
        from django.core.files.base import ContentFile
        from openpyxl import Workbook

        from taxdesk.imports.actions import create_job, start_import
        from taxdesk.imports.columns import COLUMNS, SHEET_NAMES

        day = self.calendar.add_workdays(self.today, -2)
        yield timezone.make_aware(datetime.combine(day, time(10, 0)))
        clerk = staff[Role.SALES_CLERK]
        rows = planner.import_rows(15)
        for row in rows:
            row["tax_office"] = office.name
        bad = [dict(row) for row in planner.import_rows(6)]
        bad[1]["number"] = bad[1]["number"][:-1] + ("0" if bad[1]["number"][-1] != "0" else "1")
        bad[3]["contact_mobile"] = "1380013800"
        bad[4]["approved_on"] = (self.today + timedelta(days=30)).isoformat()

        def xlsx(data: list[dict], name: str) -> ContentFile:
            workbook = Workbook(write_only=True)
            sheet = workbook.create_sheet(SHEET_NAMES["taxpayers"])
            columns = COLUMNS["taxpayers"]
            sheet.append([column.header for column in columns])
            for row in data:
                sheet.append([row.get(column.key, "") for column in columns])
            out = io.BytesIO()
            workbook.save(out)
            return ContentFile(out.getvalue(), name=name)

        inline = getattr(settings, "IMPORTS_INLINE", False)
        settings.IMPORTS_INLINE = True  # checked and imported now, not in a thread later
        try:
            job = create_job(kind="taxpayers", file=xlsx(rows, "老系统纳税人导出.xlsx"), by=clerk)
            job.refresh_from_db()
            start_import(job, by=clerk)
            create_job(kind="taxpayers", file=xlsx(bad, "新户登记表（待更正）.xlsx"), by=clerk)
        finally:
            settings.IMPORTS_INLINE = inline
        self.counts["taxpayers"] += len(rows)

    # -------------------------------------------------------------------- stock
    def stock_needed(self, plans: list[Plan]) -> Iterator[tuple[str, date, int]]:
        """Per device type and quarter, what the quarter's sales take, and a little spare."""
        needed: dict[tuple[str, date], int] = defaultdict(int)

        def quarter(moment: datetime) -> date:
            day = timezone.localdate(moment)
            return date(day.year, (day.month - 1) // 3 * 3 + 1, 1)

        for plan in plans:
            for sale in plan.sales:
                for device_type in sale.types:
                    needed[(device_type, quarter(sale.at))] += 1
            if plan.migrate_at is not None:
                needed[(UKEY, quarter(plan.migrate_at))] += 1
        for (device_type, month), quantity in sorted(needed.items()):
            yield device_type, month, quantity + max(2, quantity // 8)

    def stock_story(self, unit, staff, device_type, month: date, quantity: int) -> Story:
        day = month if self.calendar.is_workday(month) else self.calendar.next_workday(month)
        yield timezone.make_aware(datetime.combine(day, time(8, 30)))
        key = (unit.code, device_type)
        digit = unit.code[-1:].translate(str.maketrans("AB", "12"))
        serials = []
        for _ in range(quantity):
            self.serial_seq[key] += 1
            sequence = self.serial_seq[key]
            if device_type == UKEY:
                serials.append(f"UK{digit}{month:%y%m}{sequence:07d}")
            else:
                serials.append(f"{SERIALS[device_type]}{digit}{month:%y%m}{sequence:05d}")
        receive_stock(
            service_unit=unit,
            device_type=device_type,
            delivery_note=f"CK{month:%Y%m}-{unit.code[-1:]}{TYPE_CODES[device_type]}",
            received_on=day,
            serials=serials,
            supplier=SUPPLIERS[device_type],
            by=staff[Role.SALES_CLERK],
        )
        self.stock[key].extend(serials)
        self.counts["devices"] += len(serials)

    def take(self, unit, device_type: str) -> str:
        queue = self.stock[(unit.code, device_type)]
        if not queue:
            raise CommandError(f"demo: no {device_type} left in {unit.code}'s stock")
        return queue.popleft()

    # -------------------------------------------------------------------- a taxpayer's life
    def taxpayer_story(self, plan: Plan, unit, office, staff, planner, replay) -> Story:
        rng = random.Random(f"{self.seed}-{plan.unit_code}-{plan.index}-run")
        sales_clerk = staff[Role.SALES_CLERK]
        clerk = staff[Role.DISPATCHER] if plan.by_desk else sales_clerk
        yield plan.registered_at
        fields = {
            "number": plan.number,
            "name": plan.name,
            "address": plan.address,
            "district": plan.district,
            "approved_on": plan.approved_on,
            "office_hours": plan.office_hours,
            "invoice_types": plan.invoice_types,
            "taxpayer_type": plan.taxpayer_type,
            "tax_office": office,
        }
        contacts = [dict(c) for c in plan.contacts]
        if plan.missing == "approval":
            fields.pop("approved_on")
            fields["address"] = ""
        elif plan.missing == "office":
            fields.pop("tax_office")
            fields.pop("taxpayer_type")
        elif plan.missing == "contact":
            # Only a landline so far: INS-06 waits for a contact with a mobile number.
            contacts = [
                {
                    "name": contacts[0]["name"],
                    "role": ContactRole.CLERK,
                    "landline": f"{AREA_PHONE[unit.city]}-8{rng.randrange(10**7):07d}",
                }
            ]
        taxpayer = customers.register_taxpayer(
            service_unit=unit, by=clerk, contacts=contacts, **fields
        )
        self.counts["taxpayers"] += 1
        if plan.showcase:
            self.showcase[unit.code] = taxpayer
        completion = plan.completed_at
        for number, sale in enumerate(plan.sales):
            if completion is not None and completion <= sale.at:
                yield completion
                self.complete(taxpayer, plan, unit, office, clerk)
                completion = None
            yield sale.at
            taxpayer.refresh_from_db()
            serials = [self.take(unit, t) for t in sale.types]
            record = sell_devices(
                taxpayer=taxpayer, serials=serials, sold_at=sale.at, by=sales_clerk
            )
            self.counts["sales"] += 1
            replay.spawn(self.devices_story(record, sale, planner, rng, staff))
            replay.spawn(self.payment_story(record, sale, unit, staff, rng))
            if number == 0 and plan.contract:
                replay.spawn(self.contract_story(taxpayer, plan, sale, unit, staff, rng))
        if completion is not None:
            yield completion
            self.complete(taxpayer, plan, unit, office, clerk)
        later = sorted(
            [(m, "status", s) for m, s in plan.status_moves]
            + ([(plan.type_change_at, "type", None)] if plan.type_change_at else [])
            + ([(plan.migrate_at, "migrate", None)] if plan.migrate_at else [])
            + ([(plan.repair_at, "repair", None)] if plan.repair_at else [])
        )
        for moment, what, value in later:
            yield moment
            taxpayer.refresh_from_db()
            if what == "status":
                self.status_change(taxpayer, value, staff)
            elif what == "type":
                customers.change_type(
                    taxpayer,
                    TaxpayerType.GENERAL,
                    effective_on=timezone.localdate(),
                    note="年销售额超过小规模纳税人标准，登记为一般纳税人",
                    by=clerk,
                )
            elif what == "migrate":
                yield from self.migrate(taxpayer, unit, staff, planner, rng)
            elif what == "repair":
                yield from self.repair(taxpayer, plan, staff)

    def complete(self, taxpayer, plan: Plan, unit, office, clerk) -> None:
        """Enter what the record lacked (INS-06 stops when it is complete)."""
        taxpayer.refresh_from_db()
        if plan.missing == "approval":
            customers.update_taxpayer(
                taxpayer, by=clerk, address=plan.address, approved_on=plan.approved_on
            )
        elif plan.missing == "office":
            customers.update_taxpayer(
                taxpayer, by=clerk, tax_office=office, taxpayer_type=plan.taxpayer_type
            )
        elif plan.missing == "contact":
            known = taxpayer.contacts.order_by("pk").first()
            customers.update_contact(known, by=clerk, mobile=plan.contacts[0]["mobile"])
            for contact in plan.contacts[1:]:
                customers.add_contact(taxpayer, by=clerk, **contact)

    def devices_story(self, record, sale: Sale, planner, rng, staff) -> Story:
        clerk = staff[Role.SALES_CLERK]
        devices = list(record.devices.order_by("pk"))
        moment = sale.at
        if sale.returned:
            moment = planner.after_workdays(sale.at, 1, rng)
            yield moment
            returned = next(d for d in devices if d.device_type == sale.returned)
            move_device(
                returned,
                DeviceStatus.RETURNED,
                on=timezone.localdate(),
                note="用户退回报税盘，已退款",
                by=clerk,
            )
            charge = returned.charges.get(kind="charge")
            if charge.payment_state == "paid":
                billing.refund_charge(
                    charge,
                    amount=charge.amount,
                    reason="报税盘退货",
                    on=timezone.localdate(),
                    by=clerk,
                )
            else:
                billing.correct_charge(
                    charge, new_amount=Decimal("0.00"), reason="报税盘退货，不再收费", by=clerk
                )
            devices.remove(returned)
        moment = max(moment, planner.after_workdays(sale.at, sale.issue_after, rng))
        yield moment
        for device in devices:
            move_device(device, DeviceStatus.ISSUED, on=timezone.localdate(), by=clerk)
        moment = planner.after_workdays(moment, sale.install_after, rng)
        yield moment
        for device in devices:
            move_device(
                device, DeviceStatus.IN_USE, on=timezone.localdate(), note="上门安装调试", by=clerk
            )
        self.counts["in use"] += len(devices)

    def payment_story(self, record, sale: Sale, unit, staff, rng) -> Story:
        if sale.paid_after is None:
            return
        clerk = staff[Role.SALES_CLERK]
        # Paid at the counter on a working day; after a return, once the refund is settled.
        yield self.office(sale.at + (sale.paid_after if not sale.returned else timedelta(0)))
        charges = [c for c in record.charges.filter(kind="charge").order_by("pk") if c.amount > 0]
        for charge in charges:
            charge.refresh_from_db()
            if charge.payment_state == "unpaid":
                billing.record_payment(charge, paid_on=timezone.localdate(), by=clerk)
        if sale.invoice_after is None:
            return
        yield self.office(timezone.now() + sale.invoice_after)
        for charge in charges:
            if not charge.corrections.exists():  # a returned device's charge was refunded
                self.invoice(charge, unit, clerk)

    def invoice(self, charge, unit, clerk) -> None:
        """A formal invoice: 12-digit code and 8-digit number, or a 数电票 from December 2024."""
        today = timezone.localdate()
        self.invoice_seq[unit.code] += 1
        sequence = self.invoice_seq[unit.code]
        digit = unit.code[-1:].translate(str.maketrans("AB", "12"))
        if today >= date(2024, 12, 1):
            code, number = "", f"{today:%y}33{digit}{sequence:015d}"
        else:
            code, number = f"03300{today:%y}00{digit}11", f"{sequence:08d}"
        billing.record_invoice(
            charge, invoice_code=code, invoice_number=number, invoice_date=today, by=clerk
        )
        self.counts["invoices"] += 1

    def contract_story(self, taxpayer, plan: Plan, sale: Sale, unit, staff, rng) -> Story:
        clerk = staff[Role.SALES_CLERK]
        yield sale.at + timedelta(minutes=2)
        contract = billing.create_contract(
            taxpayer=taxpayer, starts_on=timezone.localdate(sale.at), by=clerk
        )
        self.counts["contracts"] += 1
        yield self.office(sale.at + plan.sign_after)
        if plan.contract == "draft":
            return
        if plan.contract == "refused":
            billing.record_refusal(
                contract, refused_on=timezone.localdate(), note=rng.choice(REFUSAL_NOTES), by=clerk
            )
        else:
            billing.sign_contract(contract, signed_on=timezone.localdate(), by=clerk)
        yield from self.maintenance(taxpayer, contract, plan, unit, clerk, rng)
        renewals = plan.renewals if plan.contract == "signed" else 0
        while renewals:
            renewals -= 1
            ask = contract.ends_on - timedelta(days=rng.randrange(3, 35))
            yield max(timezone.now(), planner_moment(self.calendar, ask, rng))
            taxpayer.refresh_from_db()
            if taxpayer.status != TaxpayerStatus.NORMAL:
                return
            contract = billing.renew_contract(contract, by=clerk)
            self.counts["renewals"] += 1
            if rng.random() < 0.12:
                return  # awaiting the user's signature
            yield self.office(timezone.now() + timedelta(minutes=rng.randrange(5, 2000)))
            billing.sign_contract(contract, signed_on=timezone.localdate(), by=clerk)
            yield from self.maintenance(taxpayer, contract, plan, unit, clerk, rng)

    def maintenance(self, taxpayer, contract, plan: Plan, unit, clerk, rng) -> Story:
        """The year's maintenance fee under the contract (INS-07), paid and invoiced mostly."""
        charge = billing.create_charge(
            taxpayer=taxpayer,
            fee_kind=FeeKind.MAINTENANCE,
            service_date=contract.starts_on,
            contract=contract,
            by=clerk,
        )
        self.counts["maintenance charges"] += 1
        if plan.correction and contract.renewal_of_id is None and charge.amount > 60:
            billing.correct_charge(
                charge,
                new_amount=charge.amount - Decimal("30.00"),
                reason="首年服务费按合同约定减免 30 元",
                by=clerk,
            )
            self.counts["corrections"] += 1
        if rng.random() < 0.1 or (plan.unpaid_fee and contract.renewal_of_id is None):
            return  # not paid yet
        yield self.office(timezone.now() + timedelta(hours=rng.randrange(0, 24 * 6)))
        billing.record_payment(charge, paid_on=timezone.localdate(), by=clerk)
        if rng.random() < 0.1:
            return
        yield self.office(timezone.now() + timedelta(hours=rng.randrange(1, 24 * 4)))
        self.invoice(charge, unit, clerk)

    def held(self, taxpayer):
        return list(
            Device.objects.filter(
                taxpayer=taxpayer,
                status__in=[DeviceStatus.IN_USE, DeviceStatus.ISSUED, DeviceStatus.SOLD],
            ).order_by("pk")
        )

    def status_change(self, taxpayer, to: str, staff) -> None:
        admin = staff[Role.UNIT_ADMIN]
        if to == TaxpayerStatus.CANCELLED:
            for device in self.held(taxpayer):
                move_device(
                    device,
                    DeviceStatus.CANCELLED,
                    on=timezone.localdate(),
                    note="纳税人注销，设备注销",
                    by=staff[Role.SALES_CLERK],
                )
            note = "税务机关办理注销登记"
        elif to == TaxpayerStatus.ABNORMAL:
            note = "税务机关认定为非正常户"
        else:
            note = "解除非正常户认定"
        customers.change_status(
            taxpayer, to, effective_on=timezone.localdate(), note=note, by=admin
        )
        self.counts[f"status {to}"] += 1

    def migrate(self, taxpayer, unit, staff, planner, rng) -> Story:
        """Migrate from the disks to a UKey: the UKey is sold (free), the disks retire."""
        if taxpayer.status != TaxpayerStatus.NORMAL:
            return
        clerk = staff[Role.SALES_CLERK]
        sale_at = timezone.now()
        record = sell_devices(
            taxpayer=taxpayer, serials=[self.take(unit, UKEY)], sold_at=sale_at, by=clerk
        )
        self.counts["sales"] += 1
        for device in self.held(taxpayer):
            if device.device_type == UKEY:
                continue
            if device.status != DeviceStatus.IN_USE:
                continue
            move_device(
                device,
                DeviceStatus.MIGRATED,
                on=timezone.localdate(),
                note="迁移至税务UKey",
                by=clerk,
            )
        self.counts["migrations"] += 1
        sale = Sale(at=sale_at, types=[UKEY], paid_after=None, invoice_after=None)
        yield from self.devices_story(record, sale, planner, rng, staff)

    def repair(self, taxpayer, plan: Plan, staff) -> Story:
        repairer = staff[Role.REPAIR_TECHNICIAN]
        devices = [d for d in self.held(taxpayer) if d.status == DeviceStatus.IN_USE]
        if not devices:
            return
        device = devices[0]
        move_device(
            device,
            DeviceStatus.UNDER_REPAIR,
            on=timezone.localdate(),
            note="无法读取税控数据，送修",
            by=repairer,
        )
        self.counts["repairs"] += 1
        yield self.office(timezone.now() + plan.repair_back_after)
        device.refresh_from_db()
        move_device(
            device, DeviceStatus.IN_USE, on=timezone.localdate(), note="维修完成", by=repairer
        )


def planner_moment(calendar, day: date, rng: random.Random) -> datetime:
    if not calendar.is_workday(day):
        day = calendar.previous_workday(day)
    minute = rng.randrange(9 * 60, 17 * 60)
    return timezone.make_aware(datetime.combine(day, time(minute // 60, minute % 60)))


def demo_units() -> list[ServiceUnit]:
    return list(
        ServiceUnit.objects.filter(code__startswith="DEMO-")
        .select_related("supervision_body")
        .order_by("code")
    )


class Command(BaseCommand):
    help = (
        "Add the demo's taxpayer register (taxpayers, devices, sales, contracts, charges) to "
        "the demo units; load_demo runs it."
    )

    def add_arguments(self, parser):
        parser.add_argument("--taxpayers", type=int, default=DEFAULT_TAXPAYERS)
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)

    def handle(self, *args, taxpayers, seed, **options):
        units = demo_units()
        if not units:
            raise CommandError("No demo units: run load_demo first.")
        if any(unit.taxpayers.exists() for unit in units):
            raise CommandError("The demo units have taxpayers already.")
        with transaction.atomic(), audit.context(source=AuditSource.COMMAND):
            DemoRegister(total=taxpayers, seed=seed, write=self.stdout.write).build(units)
