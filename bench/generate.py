"""Generate a register of the size of a province: 1,000,000 taxpayers, 2,000,000 devices and
their contacts, for the search benchmark (``bench/search.py``).

Run from the project root::

    .venv/bin/python bench/generate.py --taxpayers 10000            # SQLite, var/bench/10k/
    .venv/bin/python bench/generate.py --taxpayers 1000000          # SQLite, var/bench/1m/
    .venv/bin/python bench/generate.py --taxpayers 1000000 --db postgresql   # taxdesk_bench_1m

The database is the benchmark's own (``bench/benchdb.py``): never the demo's. ``--reset``
drops it first; without it, a data set that exists already is left as it is.

**This bypasses the actions and the audit trail on purpose**: rows are written with bulk
inserts (``executemany`` on SQLite, ``COPY`` on PostgreSQL), minutes instead of the hours a
million ``register_taxpayer`` calls would take. What it writes is still valid data, checked on
a sample at the end by the models' own validation: 统一社会信用代码 with their check characters
(unique within the supervision body, as the constraint wants), ``supervision_body`` kept with
the taxpayer's unit, mobile numbers that ``phonenumbers`` accepts, serial numbers in each type's
format (unique), devices with the status, dates and warranty a sale would give them. The
contacts' phone tails are computed by the database (generated columns), and the name index
(FTS5 on SQLite, pg_trgm on PostgreSQL) is rebuilt once after the load, as
``customers.search_index`` keeps it.

The tenancy (one supervision body, ``--units`` service units of one province with a tax office
each, one sales clerk per unit) is made with the ORM. The first unit is the largest (30% of
the taxpayers); ``bench/search.py`` searches as its sales clerk.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import benchdb

from taxdesk.demo.words import (
    BRAND_CHARS_WIDE,
    GIVEN,
    MOBILE_PREFIXES,
    SURNAMES,
    TRADES,
)

CHUNK = 20_000
SEED = 1

CITIES = [
    ("杭州", "3301", "0571"),
    ("宁波", "3302", "0574"),
    ("温州", "3303", "0577"),
    ("嘉兴", "3304", "0573"),
    ("湖州", "3305", "0572"),
    ("绍兴", "3306", "0575"),
    ("金华", "3307", "0579"),
    ("衢州", "3308", "0570"),
    ("舟山", "3309", "0580"),
    ("台州", "3310", "0576"),
    ("丽水", "3311", "0578"),
]
DISTRICT_NAMES = ["城区", "东区", "西区", "南区", "北区", "开发区", "新区", "高新区"]
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
ORG_SPACE = 31**7  # the 7 free characters of the organisation code
ORG_STEP = 1_000_003  # coprime with 31: i → i·step mod 31^7 is one-to-one
# (type, serial prefix); UKeys have letters, disks 12 digits.
DEVICE_KINDS = [
    ("golden_tax_disk", "66"),
    ("tax_control_disk", "49"),
    ("reporting_disk", "88"),
    ("ukey", "UK"),
]


def org_code(index: int) -> str:
    value = (index * ORG_STEP) % ORG_SPACE
    chars = []
    for _ in range(7):
        value, digit = divmod(value, 31)
        chars.append(USCC_ALPHABET[digit])
    return "MA" + "".join(reversed(chars))


# ----------------------------------------------------------------------------- writing
class Loader:
    """Bulk inserts of plain rows into one model's table, bypassing the ORM."""

    def __init__(self, connection):
        self.connection = connection
        self.vendor = connection.vendor

    def columns(self, model) -> list:
        return [f for f in model._meta.concrete_fields if not getattr(f, "generated", False)]

    def _sqlite_value(self, value):
        if isinstance(value, datetime):
            return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, list | dict):
            return json.dumps(value, ensure_ascii=False)
        if isinstance(value, bool):
            return int(value)
        return value

    def _pg_value(self, value):
        if isinstance(value, list | dict):
            return json.dumps(value, ensure_ascii=False)
        return value

    def insert(self, model, rows: list[dict]) -> None:
        """Insert ``rows`` (attname → value; a missing column takes the field's default)."""
        if not rows:
            return
        fields = self.columns(model)
        defaults = {f.attname: f.get_default() for f in fields}
        table = model._meta.db_table
        names = [f.attname for f in fields]
        columns = ", ".join(self.connection.ops.quote_name(f.column) for f in fields)
        convert = self._sqlite_value if self.vendor == "sqlite" else self._pg_value
        values = [tuple(convert(row.get(n, defaults[n])) for n in names) for row in rows]
        raw = self.connection.connection
        if self.vendor == "sqlite":
            marks = ", ".join("?" * len(fields))
            raw.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", values)
        else:
            with raw.cursor() as cursor:
                with cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                    for value in values:
                        copy.write_row(value)


# ----------------------------------------------------------------------------- the data
class Generator:
    def __init__(self, *, taxpayers: int, devices: int, units: int, seed: int):
        self.taxpayers = taxpayers
        self.devices = devices
        self.units_count = units
        self.rng = random.Random(seed)
        self.today = date.today()
        self.now = datetime.now(UTC)

    # ------------------------------------------------------------------- tenancy (ORM)
    def tenancy(self):
        from taxdesk.core.choices import Role
        from taxdesk.core.models import ServiceUnit, SupervisionBody, TaxOffice, User

        body = SupervisionBody.objects.create(
            name="基准测试省税控服务监督中心", code="BENCH-SB", region="基准测试省"
        )
        self.body = body
        self.units = []
        for i in range(self.units_count):
            city, area, _phone = CITIES[i % len(CITIES)]
            office = TaxOffice.objects.create(
                name=f"国家税务总局{city}市基准{i + 1}区税务局",
                code=f"BENCH-TO-{i + 1}",
                city=city,
                supervision_body=body,
            )
            unit = ServiceUnit.objects.create(
                name=f"{city}基准税控服务有限公司{i + 1}",
                code=f"BENCH-{i + 1}",
                city=city,
                supervision_body=body,
                hotline="400-000-0000",
                address=f"{city}市基准路 {i + 1} 号",
            )
            unit.tax_offices.add(office)
            user = User(
                username=f"bench_sales_{i + 1}",
                role=Role.SALES_CLERK,
                service_unit=unit,
                full_name="基准测试销售员",
            )
            user.set_unusable_password()
            user.save()
            self.units.append((unit, office, city, area))
        # The first unit serves 30% of the province, the others share the rest.
        rest = (1 - 0.3) / max(1, self.units_count - 1)
        self.weights = [0.3] + [rest] * (self.units_count - 1)

    # ------------------------------------------------------------------- one taxpayer
    def names(self):
        rng = self.rng
        while True:
            city = rng.choice(CITIES)[0]
            brand = rng.choice(BRAND_CHARS_WIDE) + rng.choice(BRAND_CHARS_WIDE)
            trade = rng.choice(TRADES)
            suffix = "股份有限公司" if rng.random() < 0.1 else "有限公司"
            yield f"{city}{brand}{trade}{suffix}"

    def mobile(self) -> str:
        return self.rng.choice(MOBILE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"

    def run(self, loader: Loader, report) -> dict[str, int]:
        from stdnum.cn import uscc

        from taxdesk.customers.models import Contact, Taxpayer
        from taxdesk.devices.models import Device, StockBatch

        rng = self.rng
        counts = {"taxpayers": 0, "contacts": 0, "devices": 0, "batches": 0}
        batch_ids = self.batches(loader, StockBatch)
        counts["batches"] = sum(len(v) for v in batch_ids.values())
        names = self.names()
        next_ids = {
            model: (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
            for model in (Taxpayer, Contact, Device)
        }
        serial_seq = dict.fromkeys(dict(DEVICE_KINDS), 0)
        held_target = int(self.devices * 0.95)
        per_taxpayer = held_target / max(1, self.taxpayers)
        devices_left = self.devices
        units = self.units
        weights = self.weights
        for start in range(0, self.taxpayers, CHUNK):
            size = min(CHUNK, self.taxpayers - start)
            taxpayers, contacts, devices = [], [], []
            for offset in range(size):
                index = start + offset
                taxpayer_id = next_ids[Taxpayer] + index
                unit, office, city, area = rng.choices(units, weights)[0]
                district_area = f"{area}{rng.randrange(2, 12):02d}"
                body = f"91{district_area}{org_code(index)}"
                number = body + uscc.calc_check_digit(body)
                general = rng.random() < 0.35
                district = rng.choice(DISTRICT_NAMES)
                sold = self.today - timedelta(days=rng.randrange(30, 3650))
                taxpayers.append(
                    {
                        "id": taxpayer_id,
                        "number": number,
                        "name": next(names),
                        "address": f"{city}市{district}建设路{rng.randrange(1, 999)}号",
                        "district": district,
                        "service_unit_id": unit.pk,
                        "supervision_body_id": self.body.pk,
                        "tax_office_id": office.pk,
                        "taxpayer_type": "general" if general else "small",
                        "approved_on": sold - timedelta(days=rng.randrange(1, 30)),
                        "status": rng.choices(
                            ["normal", "cancelled", "abnormal"], [0.93, 0.04, 0.03]
                        )[0],
                        "office_hours": "",
                        "invoice_types": ["special", "ordinary"] if general else ["ordinary"],
                        "entered_at": datetime.combine(sold, datetime.min.time(), UTC),
                        "created_at": self.now,
                    }
                )
                for c in range(1 if rng.random() < 0.55 else 2):
                    contacts.append(
                        {
                            "id": next_ids[Contact] + counts["contacts"] + len(contacts),
                            "taxpayer_id": taxpayer_id,
                            "name": rng.choice(SURNAMES) + rng.choice(GIVEN),
                            "role": "clerk" if c == 0 else "finance",
                            "mobile": self.mobile(),
                            "landline": (
                                f"{CITIES[0][2]}-8{rng.randrange(10**7):07d}"
                                if rng.random() < 0.3
                                else ""
                            ),
                        }
                    )
                # About two devices each: a main disk, often a reporting disk or a UKey.
                want = int(per_taxpayer) + (1 if rng.random() < per_taxpayer % 1 else 0)
                want = min(want, devices_left)
                main = rng.choice(("golden_tax_disk", "tax_control_disk"))
                kinds = [main, "reporting_disk", "ukey", main][:want]
                for kind in kinds:
                    serial_seq[kind] += 1
                    devices.append(
                        self.device(
                            next_ids[Device] + counts["devices"] + len(devices),
                            kind,
                            serial_seq[kind],
                            unit,
                            batch_ids,
                            taxpayer_id=taxpayer_id,
                            sold=sold,
                        )
                    )
                devices_left -= len(kinds)
            loader.insert(Taxpayer, taxpayers)
            loader.insert(Contact, contacts)
            loader.insert(Device, devices)
            counts["taxpayers"] += len(taxpayers)
            counts["contacts"] += len(contacts)
            counts["devices"] += len(devices)
            report(counts)
        # The rest of the devices wait in the units' stock.
        while devices_left > 0:
            devices = []
            for _ in range(min(CHUNK, devices_left)):
                kind = rng.choice(DEVICE_KINDS)[0]
                serial_seq[kind] += 1
                unit = rng.choices(units, weights)[0][0]
                devices.append(
                    self.device(
                        next_ids[Device] + counts["devices"] + len(devices),
                        kind,
                        serial_seq[kind],
                        unit,
                        batch_ids,
                    )
                )
            loader.insert(Device, devices)
            counts["devices"] += len(devices)
            devices_left -= len(devices)
            report(counts)
        return counts

    def device(self, pk, kind, sequence, unit, batch_ids, *, taxpayer_id=None, sold=None):
        prefix = dict(DEVICE_KINDS)[kind]
        width = 14 if kind == "ukey" else 10
        row = {
            "id": pk,
            "service_unit_id": unit.pk,
            "device_type": kind,
            "serial": f"{prefix}{sequence:0{width}d}",
            "batch_id": self.rng.choice(batch_ids[(unit.pk, kind)]),
            "status": "in_stock",
            "status_changed_on": self.today - timedelta(days=self.rng.randrange(1, 400)),
        }
        if taxpayer_id is not None:
            row.update(
                taxpayer_id=taxpayer_id,
                status=self.rng.choices(
                    ["in_use", "issued", "under_repair", "cancelled", "migrated"],
                    [0.9, 0.03, 0.01, 0.03, 0.03],
                )[0],
                status_changed_on=sold + timedelta(days=1),
                sold_on=sold,
                warranty_until=sold.replace(year=sold.year + 3) - timedelta(days=1)
                if not (sold.month == 2 and sold.day == 29)
                else date(sold.year + 3, 2, 28),
            )
        return row

    def batches(self, loader: Loader, model) -> dict[tuple[int, str], list[int]]:
        """A delivery note per unit, type and quarter of the last ten years."""
        first = (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
        rows, ids = [], {}
        for unit, *_rest in self.units:
            for kind, _prefix in DEVICE_KINDS:
                for quarter in range(40):
                    received = self.today - timedelta(days=91 * quarter + 10)
                    pk = first + len(rows)
                    rows.append(
                        {
                            "id": pk,
                            "service_unit_id": unit.pk,
                            "device_type": kind,
                            "delivery_note": f"CK{received:%Y%m}{quarter:02d}{kind[:2].upper()}",
                            "supplier": "航天信息股份有限公司",
                            "received_on": received,
                        }
                    )
                    ids.setdefault((unit.pk, kind), []).append(pk)
        loader.insert(model, rows)
        return ids


# ----------------------------------------------------------------------------- checks
def check_sample(rows: int = 200) -> None:
    """The models' own validation on a sample of what was written."""
    from taxdesk.customers.identifiers import normalize_mobile, validate_taxpayer_number
    from taxdesk.customers.models import Contact, Taxpayer
    from taxdesk.devices.models import Device, validate_serial

    for taxpayer in Taxpayer.objects.order_by("?")[:rows]:
        validate_taxpayer_number(taxpayer.number)
        taxpayer.full_clean(validate_constraints=False)
        assert taxpayer.supervision_body_id == taxpayer.service_unit.supervision_body_id
    for contact in Contact.objects.order_by("?")[:rows]:
        assert normalize_mobile(contact.mobile) == contact.mobile
        assert contact.mobile_tail == contact.mobile[-4:]
    for device in Device.objects.order_by("?")[:rows]:
        validate_serial(device.device_type, device.serial)
        device.full_clean(validate_unique=False, validate_constraints=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--taxpayers", type=int, default=1_000_000)
    parser.add_argument("--devices", type=int, help="default: twice the taxpayers")
    parser.add_argument("--units", type=int, default=10, help="service units (default 10)")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--reset", action="store_true", help="drop the data set first")
    benchdb.add_arguments(parser)
    args = parser.parse_args()
    args.label = args.label or benchdb.size_label(args.taxpayers)
    devices = args.devices if args.devices is not None else 2 * args.taxpayers
    if args.reset:
        benchdb.drop(args)
    where = benchdb.setup(args, create=True)

    from django.core.management import call_command
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from taxdesk.customers.models import Contact, Taxpayer
    from taxdesk.customers.search_index import drop_name_index, ensure_name_index
    from taxdesk.devices.models import Device, StockBatch

    print(f"==> {where}")
    started = time.monotonic()
    call_command("migrate", verbosity=0)
    print(f"    migrated in {time.monotonic() - started:.1f} s")
    existing = Taxpayer.objects.count()
    if existing:
        print(f"    the data set has {existing:,} taxpayers already (--reset to start again)")
        return

    generator = Generator(
        taxpayers=args.taxpayers, devices=devices, units=args.units, seed=args.seed
    )
    loader = Loader(connection)
    last = {"at": time.monotonic()}

    def report(counts):
        now = time.monotonic()
        if now - last["at"] < 5 and counts["taxpayers"] < args.taxpayers:
            return
        last["at"] = now
        rows = counts["taxpayers"] + counts["contacts"] + counts["devices"]
        elapsed = now - load_started
        print(
            f"    {counts['taxpayers']:>9,} taxpayers {counts['contacts']:>9,} contacts "
            f"{counts['devices']:>9,} devices  {elapsed:6.0f} s  {rows / elapsed:,.0f} rows/s",
            flush=True,
        )

    connection.ensure_connection()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA cache_size=-262144")  # 256 MB
    # The name index is rebuilt once at the end, not row by row.
    drop_name_index(connection)
    load_started = time.monotonic()
    with transaction.atomic():
        generator.tenancy()
    with transaction.atomic():
        counts = generator.run(loader, report)
    load_seconds = time.monotonic() - load_started
    rows = counts["taxpayers"] + counts["contacts"] + counts["devices"]
    print(f"    inserted {rows:,} rows in {load_seconds:.0f} s: {rows / load_seconds:,.0f} rows/s")
    step = time.monotonic()
    ensure_name_index(connection)
    print(f"    name index built in {time.monotonic() - step:.0f} s")
    step = time.monotonic()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            models = [Taxpayer, Contact, Device, StockBatch]
            for sql in connection.ops.sequence_reset_sql(no_style(), models):
                cursor.execute(sql)
            cursor.execute("ANALYZE")
        else:
            cursor.execute("ANALYZE")
    print(f"    analysed in {time.monotonic() - step:.0f} s")
    check_sample()
    total = time.monotonic() - started
    print(
        f"==> {counts['taxpayers']:,} taxpayers, {counts['contacts']:,} contacts, "
        f"{counts['devices']:,} devices, {counts['batches']:,} batches in {total:.0f} s "
        f"({rows / load_seconds:,.0f} rows/s inserting); sample validated"
    )


if __name__ == "__main__":
    main()
