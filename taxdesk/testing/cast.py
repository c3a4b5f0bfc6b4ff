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


# More of the answer key: the clocks, users, tax offices and supervision bodies each member of
# the cast may view (by their keys in the World), and the records whose audit entries they may
# read. Kept apart from the literal above so that what was there stays as it was.
UNIT_A_STAFF = frozenset(
    {"admin_a", "dispatcher_a", "technician_a", "trainer_a", "sales_a", "repair_a"}
)
UNIT_B_STAFF = frozenset({"admin_b", "technician_b"})
_UNIT_A = {
    "clocks": {"clock_pa1", "clock_pa2"},
    "users": set(UNIT_A_STAFF),
    "offices": {"office_a"},
    "bodies": {"body_x"},
    # Entries carry the unit of the record: the unit, its taxpayers, clocks and staff, and
    # the users of its taxpayers.
    "audit": {"unit_a", "pa1", "pa2", "clock_pa1", "clock_pa2", *UNIT_A_STAFF, "taxpayer_pa1"},
}
_UNIT_B = {
    "clocks": {"clock_pb1"},
    "users": set(UNIT_B_STAFF),
    "offices": {"office_b"},
    "bodies": {"body_x"},
    "audit": {"unit_b", "pb1", "clock_pb1", *UNIT_B_STAFF},
}
_MORE_VIEW = {
    "root": {
        "clocks": {"clock_pa1", "clock_pa2", "clock_pb1", "clock_pc1"},
        "users": {
            "root",
            *UNIT_A_STAFF,
            *UNIT_B_STAFF,
            "supervisor_x",
            "supervisor_y",
            "tax_a",
            "taxpayer_pa1",
        },
        "offices": {"office_a", "office_b", "office_c"},
        "bodies": {"body_x", "body_y"},
        "audit": {
            "body_x",
            "body_y",
            "office_a",
            "office_b",
            "office_c",
            "unit_a",
            "unit_b",
            "unit_c",
            "pa1",
            "pa2",
            "pb1",
            "pc1",
            "clock_pa1",
            "clock_pa2",
            "clock_pb1",
            "clock_pc1",
            "root",
            *UNIT_A_STAFF,
            *UNIT_B_STAFF,
            "supervisor_x",
            "supervisor_y",
            "tax_a",
            "taxpayer_pa1",
        },
    },
    **{name: _UNIT_A for name in UNIT_A_STAFF},
    **{name: _UNIT_B for name in UNIT_B_STAFF},
    "supervisor_x": {
        "clocks": {"clock_pa1", "clock_pa2", "clock_pb1"},
        "users": {*UNIT_A_STAFF, *UNIT_B_STAFF, "supervisor_x"},
        "offices": {"office_a", "office_b"},
        "bodies": {"body_x"},
        "audit": {
            "body_x",
            "office_a",
            "office_b",
            "supervisor_x",
            "tax_a",  # a tax officer's record belongs to the body of their office
            *_UNIT_A["audit"],
            *_UNIT_B["audit"],
        },
    },
    "supervisor_y": {
        "clocks": {"clock_pc1"},
        "users": {"supervisor_y"},
        "offices": {"office_c"},
        "bodies": {"body_y"},
        "audit": {"body_y", "office_c", "unit_c", "pc1", "clock_pc1", "supervisor_y"},
    },
    # A tax officer reads what concerns their office, but not the trail.
    "tax_a": {
        "clocks": {"clock_pa1", "clock_pa2"},
        "users": {"tax_a"},
        "offices": {"office_a"},
        "bodies": {"body_x"},
        "audit": set(),
    },
    # A taxpayer user reaches their own enterprise only.
    "taxpayer_pa1": {
        "clocks": {"clock_pa1"},
        "users": {"taxpayer_pa1"},
        "offices": {"office_a"},
        "bodies": {"body_x"},
        "audit": set(),
    },
}
for _name, _extra in _MORE_VIEW.items():
    EXPECTED_VIEW[_name].update({kind: set(keys) for kind, keys in _extra.items()})


def key_of(world: World, obj) -> str | None:
    """The World key of a cast record ("unit_a", "pa1", "clock_pa1", "admin_a" …)."""
    for group in ("users", "units", "taxpayers", "offices", "bodies", "deadlines"):
        for key, value in world.__dict__[group].items():
            if type(value) is type(obj) and value.pk == obj.pk:
                return key
    return None


def audit_keys(world: World) -> dict[tuple[int, str], str]:
    """(content type id, object id) of every cast record → its World key, to name entries."""
    from django.contrib.contenttypes.models import ContentType

    keys = {}
    for group in ("users", "units", "taxpayers", "offices", "bodies", "deadlines"):
        for key, obj in world.__dict__[group].items():
            keys[(ContentType.objects.get_for_model(obj).pk, str(obj.pk))] = key
    return keys


# Personal data (core.privacy, docs/decisions/0008): who sees phone numbers in full — the
# units' own staff, the taxpayer's own user and the platform administrator; the supervision
# and tax officers see them masked — and whose reads of a taxpayer's full record are kept in
# the audit trail.
SEES_FULL_PHONES = frozenset({"root", *UNIT_A_STAFF, *UNIT_B_STAFF, "taxpayer_pa1"})
READS_RECORDED = frozenset({"supervisor_x", "supervisor_y", "tax_a"})
