"""Personal data (core.privacy): how a phone number is masked, what in stored data is a phone
number, which members of the cast see numbers in full and whose reads are recorded, and the
template filters and export columns built on it.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.template import Context, Template
from django.test import RequestFactory

from taxdesk.core import privacy
from taxdesk.core.choices import AuditAction, AuditSource
from taxdesk.core.generic import ObjectListView
from taxdesk.core.models import AuditEntry, User
from taxdesk.core.privacy import Personal, mask_personal, mask_phone
from taxdesk.testing.cast import EXPECTED_VIEW, READS_RECORDED, SEES_FULL_PHONES

CAST = sorted(EXPECTED_VIEW)


@pytest.mark.parametrize(
    ("number", "shown"),
    [
        ("13812345678", "138****5678"),
        ("+86 138 1234 5678", "138****5678"),
        ("0086-13812345678", "138****5678"),
        ("0571-87654321", "057****4321"),
        ("(0571) 8765 4321", "057****4321"),
        ("87654321", "****4321"),
        ("400-880-0000", "****0000"),
        ("8765432", "****32"),
        ("654321", "****21"),
        ("12345", "****"),
        ("1", "****"),
        ("", ""),
        (None, ""),
        ("   ", ""),
    ],
)
def test_mask_phone_hides_at_least_four_digits(number, shown):
    assert mask_phone(number) == shown


@pytest.mark.parametrize(
    "number", ["13812345678", "0571-87654321", "87654321", "8765432", "654321", "12345"]
)
def test_a_masked_number_never_holds_the_number(number):
    digits = "".join(c for c in number if c.isdigit())
    masked = mask_phone(number)
    assert digits not in masked.replace("*", "")
    assert masked.count("*") == 4
    shown = masked.replace("*", "")
    assert len(digits) - len(shown) >= 4


def test_mask_personal_masks_the_values_under_phone_keys_at_any_depth():
    changes = {
        "name": ["张三", "张三丰"],
        "mobile": ["13812345678", "13912345678"],
        "landline": ["", "0571-87654321"],
        "taxpayer": [None, 7],
        "application": [
            None,
            {
                "taxpayer": {
                    "name": "企业",
                    "contacts": [
                        {"name": "李四", "role": "办税员", "mobile": "13700001111", "landline": ""}
                    ],
                },
                "service_unit": {"name": "单位", "hotline": "0571-88888888"},
            },
        ],
    }
    assert mask_personal(changes) == {
        "name": ["张三", "张三丰"],
        "mobile": ["138****5678", "139****5678"],
        "landline": ["", "057****4321"],
        "taxpayer": [None, 7],
        "application": [
            None,
            {
                "taxpayer": {
                    "name": "企业",
                    "contacts": [
                        {"name": "李四", "role": "办税员", "mobile": "137****1111", "landline": ""}
                    ],
                },
                # The unit's service hotline is published, not personal.
                "service_unit": {"name": "单位", "hotline": "0571-88888888"},
            },
        ],
    }
    # The stored data is left as it was.
    assert changes["mobile"] == ["13812345678", "13912345678"]


def test_mask_personal_leaves_plain_values_and_absent_numbers():
    assert mask_personal({"mobile": None, "phone": True}) == {"mobile": None, "phone": True}
    assert mask_personal("13812345678") == "13812345678"  # not under a phone key
    assert mask_personal([{"mobile": "13812345678"}]) == [{"mobile": "138****5678"}]


@pytest.mark.parametrize("username", CAST)
def test_who_sees_full_numbers_and_whose_reads_are_recorded(cast, username):
    user = cast.users[username]
    assert privacy.needs_personal_data(user) == (username in SEES_FULL_PHONES)
    assert privacy.reads_are_recorded(user) == (username in READS_RECORDED)
    expected = "13812345678" if username in SEES_FULL_PHONES else "138****5678"
    assert privacy.phone_for(user, "13812345678") == expected


def test_nobody_else_sees_full_numbers(cast):
    assert not privacy.needs_personal_data(None)
    assert not privacy.needs_personal_data(AnonymousUser())
    assert not privacy.reads_are_recorded(AnonymousUser())
    roleless = User.objects.create(username="nobody", role="")
    assert not privacy.needs_personal_data(roleless)
    assert not privacy.reads_are_recorded(roleless)


def test_record_read_writes_a_view_entry_in_the_records_tenants(cast):
    taxpayer = cast.pa1
    assert not privacy.record_read(cast.admin_a, taxpayer)
    assert not AuditEntry.objects.filter(action=AuditAction.VIEW).exists()
    assert privacy.record_read(cast.tax_a, taxpayer)
    entry = AuditEntry.objects.get(action=AuditAction.VIEW)
    assert entry.actor == cast.tax_a and entry.actor_repr == str(cast.tax_a)
    assert entry.content_type.model_class() is type(taxpayer)
    assert entry.object_id == str(taxpayer.pk) and entry.object_repr == str(taxpayer)
    assert (entry.unit_id, entry.body_id) == (cast.unit_a.pk, cast.body_x.pk)
    assert entry.changes == {}
    assert entry.source == AuditSource.COMMAND  # no request here


@pytest.mark.parametrize("username", ["admin_a", "supervisor_x", "tax_a", "taxpayer_pa1"])
def test_template_filters(cast, username):
    user = cast.users[username]
    html = Template(
        "{% load taxdesk %}{{ number|phone:user }}|{{ data|personal:user }}|"
        "{% if user|sees_personal_data %}full{% else %}masked{% endif %}"
    ).render(Context({"user": user, "number": "13812345678", "data": {"mobile": "13912345678"}}))
    if username in SEES_FULL_PHONES:
        assert html == "13812345678|{&#x27;mobile&#x27;: &#x27;13912345678&#x27;}|full"
    else:
        assert html == "138****5678|{&#x27;mobile&#x27;: &#x27;139****5678&#x27;}|masked"


class _Row:
    def __init__(self, mobile):
        self.mobile = mobile


class _Contacts(ObjectListView):
    model = User  # any model: the column reads a plain attribute
    export_columns = [("Whole", "mobile"), Personal(("Masked", "mobile"))]


@pytest.mark.parametrize("username", ["sales_a", "supervisor_x"])
def test_personal_export_columns_are_masked_for_roles_without_need(cast, username):
    request = RequestFactory().get("/")
    request.user = cast.users[username]
    view = _Contacts()
    view.setup(request)
    getters = view.export_getters()
    assert [header for header, _getter in getters] == ["Whole", "Masked"]
    row = _Row("13812345678")
    masked = "13812345678" if username in SEES_FULL_PHONES else "138****5678"
    assert [getter(row) for _header, getter in getters] == ["13812345678", masked]
