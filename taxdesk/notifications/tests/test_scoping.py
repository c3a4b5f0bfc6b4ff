"""restrict() on the messages, their attempts and the templates, for every member of the cast
and every action, against the answer key (taxdesk/testing/notifications.py)."""

from __future__ import annotations

import pytest

from taxdesk.core.scoping import ACTIONS, ADD, CHANGE, DELETE, VIEW
from taxdesk.notifications.models import Message, MessageAttempt, MessageTemplate
from taxdesk.testing.notifications import (
    CAST,
    EXPECTED_VIEW,
    SENDERS,
    TEMPLATE_EDITORS,
    build_messages,
)

UNIT_OF = {"a_sms": "a", "a_mail": "a", "b_sms": "b", "c_sms": "c"}
# The units whose templates each member of the cast reads: the units they work for or
# supervise; tax officers and taxpayers none.
TEMPLATE_UNITS = {
    "root": {"a", "b", "c"},
    **{name: {"a"} for name in EXPECTED_VIEW if name.endswith("_a") and name != "tax_a"},
    "admin_b": {"b"},
    "technician_b": {"b"},
    "supervisor_x": {"a", "b"},
    "supervisor_y": {"c"},
    "tax_a": set(),
    "taxpayer_pa1": set(),
}


@pytest.fixture
def world(cast):
    return build_messages(cast)


def unit_key(unit) -> str:
    return unit.code[-1].lower()


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("username", CAST)
def test_messages_by_role_and_action(world, username, action):
    user = world.cast.users[username]
    rows = {world.key_of(m.pk) for m in Message.objects.restrict(user, action)}
    if action == VIEW:
        expected = EXPECTED_VIEW[username]
    else:
        expected = {key for key, unit in UNIT_OF.items() if unit in SENDERS.get(username, set())}
    assert rows == expected


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("username", CAST)
def test_attempts_follow_their_messages_and_only_root_writes_them(world, username, action):
    user = world.cast.users[username]
    rows = {world.key_of(a.message_id) for a in MessageAttempt.objects.restrict(user, action)}
    if action == VIEW or username == "root":
        assert rows == EXPECTED_VIEW[username]
    else:
        assert rows == set()


@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("username", CAST)
def test_templates_by_role_and_action(world, username, action):
    user = world.cast.users[username]
    rows = list(MessageTemplate.objects.restrict(user, action).select_related("service_unit"))
    units = {unit_key(t.service_unit) for t in rows}
    if action == VIEW:
        assert units == TEMPLATE_UNITS[username]
    elif action in (CHANGE, ADD, DELETE):
        assert units == TEMPLATE_EDITORS.get(username, set())
    assert len(rows) == 6 * len(units)
