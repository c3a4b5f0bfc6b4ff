"""The cast of test users and the world they live in (Healthchecks' alice/bob, NetBox's
ViewTestCases): two supervision bodies, three service units, a tax office each, a user for
every role, taxpayers and clocks in each unit. Every test module that adds a model checks what
each member of the cast may see and change.

    body X ── unit A (tax office TA) ── taxpayers pa1, pa2
           └─ unit B (tax office TB) ── taxpayer pb1
    body Y ── unit C (tax office TC) ── taxpayer pc1
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from taxdesk.clocks.actions import start_deadline
from taxdesk.core.choices import Role
from taxdesk.core.models import ServiceUnit, SupervisionBody, TaxOffice, User
from taxdesk.customers.models import Taxpayer

PASSWORD = "cast-Password-1"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class World:
    bodies: dict[str, SupervisionBody] = field(default_factory=dict)
    offices: dict[str, TaxOffice] = field(default_factory=dict)
    units: dict[str, ServiceUnit] = field(default_factory=dict)
    taxpayers: dict[str, Taxpayer] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    deadlines: dict[str, object] = field(default_factory=dict)

    def __getattr__(self, name):
        # cast.admin_a, cast.unit_a … read naturally in tests.
        for group in ("users", "units", "taxpayers", "offices", "bodies", "deadlines"):
            values = self.__dict__.get(group, {})
            if name in values:
                return values[name]
        raise AttributeError(name)


# Which taxpayers, clocks and units each member of the cast may see.
def _user(username, role, **tenant) -> User:
    user = User(username=username, role=role, full_name=username, **tenant)
    user.set_password(PASSWORD)
    user.full_clean()
    user.save()
    return user


def build_world() -> World:
    w = World()
    w.bodies["body_x"] = SupervisionBody.objects.create(name="监督X", code="SBX")
    w.bodies["body_y"] = SupervisionBody.objects.create(name="监督Y", code="SBY")
    for key, body in (("a", "body_x"), ("b", "body_x"), ("c", "body_y")):
        office = TaxOffice.objects.create(
            name=f"税务局{key.upper()}",
            code=f"T{key.upper()}",
            city=f"城{key}",
            supervision_body=w.bodies[body],
        )
        unit = ServiceUnit.objects.create(
            name=f"服务单位{key.upper()}",
            code=f"U{key.upper()}",
            city=f"城{key}",
            supervision_body=w.bodies[body],
        )
        unit.tax_offices.add(office)
        w.offices[f"office_{key}"] = office
        w.units[f"unit_{key}"] = unit
    for name, unit_key in (("pa1", "a"), ("pa2", "a"), ("pb1", "b"), ("pc1", "c")):
        w.taxpayers[name] = Taxpayer.objects.create(
            number=f"91330100MA{name.upper():>7}".replace(" ", "0")[:18],
            name=f"企业{name}",
            service_unit=w.units[f"unit_{unit_key}"],
            tax_office=w.offices[f"office_{unit_key}"],
        )
    superuser = User(username="root", is_superuser=True, is_staff=True)
    superuser.set_password(PASSWORD)
    superuser.save()
    w.users["root"] = superuser
    unit_roles = {
        "admin": Role.UNIT_ADMIN,
        "dispatcher": Role.DISPATCHER,
        "technician": Role.TECHNICIAN,
        "trainer": Role.TRAINER,
        "sales": Role.SALES_CLERK,
        "repair": Role.REPAIR_TECHNICIAN,
    }
    for stem, role in unit_roles.items():
        w.users[f"{stem}_a"] = _user(f"{stem}_a", role, service_unit=w.units["unit_a"])
    w.users["admin_b"] = _user("admin_b", Role.UNIT_ADMIN, service_unit=w.units["unit_b"])
    w.users["technician_b"] = _user("technician_b", Role.TECHNICIAN, service_unit=w.units["unit_b"])
    w.users["supervisor_x"] = _user(
        "supervisor_x", Role.SUPERVISION_OFFICER, supervision_body=w.bodies["body_x"]
    )
    w.users["supervisor_y"] = _user(
        "supervisor_y", Role.SUPERVISION_OFFICER, supervision_body=w.bodies["body_y"]
    )
    w.users["tax_a"] = _user("tax_a", Role.TAX_OFFICER, tax_office=w.offices["office_a"])
    w.users["taxpayer_pa1"] = _user("taxpayer_pa1", Role.TAXPAYER, taxpayer=w.taxpayers["pa1"])
    started = datetime(2025, 9, 26, 10, 0, tzinfo=SHANGHAI)
    for name, taxpayer in w.taxpayers.items():
        w.deadlines[f"clock_{name}"] = start_deadline(
            taxpayer,
            "INS-06",
            started_at=started,
            service_unit=taxpayer.service_unit,
            taxpayer=taxpayer,
            by=superuser,
        )
    return w


# The rows each member of the cast may VIEW, by kind: the answer key of the scoping tests.
EXPECTED_VIEW = {
    "root": {"units": {"a", "b", "c"}, "taxpayers": {"pa1", "pa2", "pb1", "pc1"}},
    "admin_a": {"units": {"a"}, "taxpayers": {"pa1", "pa2"}},
    "dispatcher_a": {"units": {"a"}, "taxpayers": {"pa1", "pa2"}},
    "technician_a": {"units": {"a"}, "taxpayers": {"pa1", "pa2"}},
    "trainer_a": {"units": {"a"}, "taxpayers": {"pa1", "pa2"}},
    "sales_a": {"units": {"a"}, "taxpayers": {"pa1", "pa2"}},
    "repair_a": {"units": {"a"}, "taxpayers": {"pa1", "pa2"}},
    "admin_b": {"units": {"b"}, "taxpayers": {"pb1"}},
    "technician_b": {"units": {"b"}, "taxpayers": {"pb1"}},
    "supervisor_x": {"units": {"a", "b"}, "taxpayers": {"pa1", "pa2", "pb1"}},
    "supervisor_y": {"units": {"c"}, "taxpayers": {"pc1"}},
    "tax_a": {"units": {"a"}, "taxpayers": {"pa1", "pa2"}},
    "taxpayer_pa1": {"units": {"a"}, "taxpayers": {"pa1"}},
}
