"""Row scoping: ``Model.objects.restrict(user, action)`` gives each member of the cast exactly
the rows the answer key (``taxdesk.testing.cast.EXPECTED_VIEW``) says, for every scoped model
and every action.

- view: the rows in the user's reach (unit, supervision body, tax office, own enterprise);
- add / change / delete: the same rows for the roles in the model's ``scope.editors`` (and the
  superuser), nothing for anyone else;
- tax officers never write; anonymous and inactive users see nothing;
- the national calendar is public: every signed-in user reads it, only supervision officers
  and the superuser write it.
"""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.contrib.contenttypes.models import ContentType

from taxdesk.clocks.models import Deadline
from taxdesk.core.choices import Role
from taxdesk.core.models import AuditEntry, ServiceUnit, SupervisionBody, TaxOffice, User
from taxdesk.core.scoping import ACTIONS, ADD, CHANGE, DELETE, VIEW, can, scope_filter
from taxdesk.customers.models import Taxpayer
from taxdesk.testing.cast import EXPECTED_VIEW, audit_keys, key_of
from taxdesk.workdays.models import CalendarYear

CAST = sorted(EXPECTED_VIEW)
WRITES = (ADD, CHANGE, DELETE)

# Who may write each model: the answer key for add/change/delete. It is compared with the
# models' own ``scope.editors`` below, so widening a model's editors means changing this too.
EDITORS = {
    ServiceUnit: {Role.UNIT_ADMIN},
    Taxpayer: {Role.UNIT_ADMIN, Role.SALES_CLERK, Role.DISPATCHER},
    Deadline: {Role.UNIT_ADMIN, Role.DISPATCHER, Role.TECHNICIAN, Role.REPAIR_TECHNICIAN},
    User: {Role.UNIT_ADMIN},
    TaxOffice: set(),
    SupervisionBody: set(),
    AuditEntry: set(),
    CalendarYear: {Role.SUPERVISION_OFFICER},
}

# Which part of the answer key each model's rows are checked against.
KIND = {
    ServiceUnit: "units",
    Taxpayer: "taxpayers",
    Deadline: "clocks",
    User: "users",
    TaxOffice: "offices",
    SupervisionBody: "bodies",
    AuditEntry: "audit",
    CalendarYear: "years",
}
MODELS = list(EDITORS)
MODEL_IDS = [m.__name__ for m in MODELS]
YEARS = {"2027", "2028"}


@pytest.fixture
def world(cast):
    """The cast plus two entered calendar years (public rows)."""
    CalendarYear.objects.create(year=2027, holidays=["2027-01-01"], notice="test")
    CalendarYear.objects.create(year=2028, holidays=["2028-01-01"], notice="test")
    return cast


def expected_view(username: str, model) -> set[str]:
    kind = KIND[model]
    if kind == "years":
        return set(YEARS)
    keys = EXPECTED_VIEW[username][kind]
    if kind == "audit" and username == "root":
        # The entered years have no tenant: their entries are the platform's alone.
        return {*keys, *(f"year_{y}" for y in YEARS)}
    if kind == "units":
        return {f"unit_{u}" for u in keys}
    return set(keys)


def expected_write(user, model) -> set[str]:
    if model is CalendarYear:
        writes = user.is_superuser or user.role == Role.SUPERVISION_OFFICER
        return set(YEARS) if writes else set()
    if user.is_superuser or user.role in EDITORS[model]:
        return expected_view(user.username, model)
    return set()


def seen(world, model, user, action) -> list[str]:
    """The keys of the rows ``restrict`` lets ``user`` reach (with repeats, if any)."""
    rows = list(model.objects.restrict(user, action))
    if model is CalendarYear:
        return [str(row.year) for row in rows]
    if model is AuditEntry:
        keys = audit_keys(world)
        for year in CalendarYear.objects.all():
            keys[(ContentType.objects.get_for_model(year).pk, str(year.pk))] = f"year_{year}"
        # A record has several entries (created, changed …): repeats are checked by entry.
        assert len({e.pk for e in rows}) == len(rows), "repeated audit entries"
        return sorted({keys.get((e.content_type_id, e.object_id), f"?{e.pk}") for e in rows})
    return [key_of(world, row) or f"?{row.pk}" for row in rows]


def test_editor_roles_are_what_the_answer_key_says():
    for model, roles in EDITORS.items():
        assert set(model.scope.editors) == roles, model.__name__


@pytest.mark.parametrize("username", CAST)
@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_view_gives_exactly_the_expected_rows(world, model, username):
    rows = seen(world, model, world.users[username], VIEW)
    assert len(rows) == len(set(rows)), f"{username} gets repeated rows of {model.__name__}"
    assert set(rows) == expected_view(username, model)


@pytest.mark.parametrize("action", WRITES)
@pytest.mark.parametrize("username", CAST)
@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_writes_only_for_editor_roles(world, model, username, action):
    user = world.users[username]
    rows = seen(world, model, user, action)
    assert len(rows) == len(set(rows))
    assert set(rows) == expected_write(user, model)


def test_the_answer_key_is_not_trivial(world):
    """Every model has rows some members may write and others may not."""
    for model in MODELS:
        everything = expected_view("root", model)
        assert everything, model.__name__
        limited = [u for u in CAST if expected_view(u, model) != everything]
        if model is not CalendarYear:
            assert limited, f"everyone sees every {model.__name__}"


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_tax_officers_never_write_and_read_only_their_office(world, model, action):
    rows = seen(world, model, world.tax_a, action)
    if action == VIEW:
        assert set(rows) == expected_view("tax_a", model)
    else:
        assert rows == []


def test_no_scoped_model_lets_tax_officers_write():
    """Across every app, including models added later: tax officers only read."""
    scoped = [m for m in apps.get_models() if hasattr(m, "scope")]
    assert Deadline in scoped and CalendarYear in scoped
    for model in scoped:
        assert Role.TAX_OFFICER not in model.scope.editors, model.__name__


def _inactive(world):
    gone_admin = User(
        username="gone_admin_a",
        role=Role.UNIT_ADMIN,
        service_unit=world.unit_a,
        is_active=False,
    )
    gone_admin.set_unusable_password()
    gone_admin.save()
    gone_root = User(username="gone_root", is_superuser=True, is_active=False)
    gone_root.set_unusable_password()
    gone_root.save()
    gone_supervisor = User(
        username="gone_supervisor",
        role=Role.SUPERVISION_OFFICER,
        supervision_body=world.body_x,
        is_active=False,
    )
    gone_supervisor.set_unusable_password()
    gone_supervisor.save()
    return [gone_admin, gone_root, gone_supervisor]


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("model", MODELS, ids=MODEL_IDS)
def test_anonymous_and_inactive_users_see_nothing(world, model, action):
    for user in [None, AnonymousUser(), *_inactive(world)]:
        assert not model.objects.restrict(user, action).exists(), (model.__name__, user)
    # The same rows are there for an active user of the same reach.
    if action == VIEW:
        assert model.objects.restrict(world.root, action).exists()


def test_user_without_role_reaches_nothing_but_the_public_calendar(world):
    nobody = User(username="nobody")
    nobody.set_unusable_password()
    nobody.save()
    for model in MODELS:
        for action in ACTIONS:
            rows = seen(world, model, nobody, action)
            if model is CalendarYear and action == VIEW:
                assert set(rows) == YEARS
            else:
                assert rows == [], (model.__name__, action)


def test_can_agrees_with_restrict_object_by_object(world):
    objects = [*world.units.values(), *world.deadlines.values(), *world.taxpayers.values()]
    for username in CAST:
        user = world.users[username]
        for obj in objects:
            for action in ACTIONS:
                expected = type(obj).objects.restrict(user, action).filter(pk=obj.pk).exists()
                assert can(user, action, obj) is expected
    # And it is not all-or-nothing: admin_a changes unit A but not unit B.
    assert can(world.admin_a, CHANGE, world.unit_a)
    assert not can(world.admin_a, CHANGE, world.unit_b)
    assert not can(world.admin_a, VIEW, world.unit_b)
    assert can(world.dispatcher_a, VIEW, world.unit_a)
    assert not can(world.dispatcher_a, CHANGE, world.unit_a)


def test_public_calendar_editors_reach_every_year(world):
    """The calendar is national: a supervision officer of any body corrects any year."""
    for user in (world.supervisor_x, world.supervisor_y, world.root):
        for action in WRITES:
            assert scope_filter(CalendarYear.scope, user, action) is not None
    for user in (world.admin_a, world.tax_a, world.taxpayer_pa1, world.technician_b):
        for action in WRITES:
            assert scope_filter(CalendarYear.scope, user, action) is None


def test_unknown_action_is_refused(world):
    with pytest.raises(ValueError):
        ServiceUnit.objects.restrict(world.admin_a, "approve")


def test_restrict_follows_a_move_between_units(world):
    """Scoping reads the user's tenant now, not a cached answer."""
    tech = world.technician_a
    assert {key_of(world, u) for u in ServiceUnit.objects.restrict(tech)} == {"unit_a"}
    tech.service_unit = world.unit_b
    tech.save()
    assert {key_of(world, u) for u in ServiceUnit.objects.restrict(tech)} == {"unit_b"}
    assert {key_of(world, t) for t in Taxpayer.objects.restrict(tech)} == {"pb1"}
