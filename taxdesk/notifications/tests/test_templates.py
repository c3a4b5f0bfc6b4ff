"""Message templates: the syntax, validation when a text is saved (never at send time), the
preview with sample values, the default text and the unit's own, and the audit trail."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError

from taxdesk.core.choices import AuditAction
from taxdesk.core.models import AuditEntry, ServiceUnit
from taxdesk.notifications import catalogue, rendering
from taxdesk.notifications.actions import (
    ensure_templates,
    preview,
    reset_template,
    update_template,
)
from taxdesk.notifications.models import MessageTemplate

SHIPPED_KEYS = {
    "dispatch.contact",
    "visit.reminder",
    "visit.no_show",
    "training.notice",
    "revisit.notice",
    "clock.reminder",
}


def template(unit, key="visit.no_show") -> MessageTemplate:
    return MessageTemplate.objects.get(service_unit=unit, key=key)


# ----------------------------------------------------------------------------- syntax
def test_render_substitutes_plain_variables_without_escaping():
    parts = rendering.parse("{{ a }} & <b>{{b}}</b> {{ a }}")
    assert rendering.variables_in(parts) == ["a", "b"]
    assert rendering.render(parts, {"a": "甲&乙", "b": 3}) == "甲&乙 & <b>3</b> 甲&乙"


def test_render_writes_times_in_shanghai_and_dates_as_iso():
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    utc = datetime(2025, 10, 9, 6, 2, 30, tzinfo=ZoneInfo("UTC"))
    text = rendering.render_text(
        "{{ t }}|{{ d }}|{{ n }}", {"t": utc, "d": date(2025, 10, 9), "n": None}
    )
    assert text == "2025-10-09 14:02|2025-10-09|"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("{% if x %}是{% endif %}", "template_tag"),
        ("{# 注释 #}", "template_tag"),
        ("{{ taxpayer|upper }}", "bad_variable"),
        ("{{ taxpayer.name }}", "bad_variable"),
        ("{{ }}", "bad_variable"),
        ("您好 {{ taxpayer", "unbalanced"),
        ("您好 taxpayer }}", "unbalanced"),
    ],
)
def test_only_plain_variables_are_allowed(text, code):
    with pytest.raises(ValidationError) as excinfo:
        rendering.parse(text)
    assert excinfo.value.code == code


def test_check_names_the_unknown_variables_and_the_allowed_ones():
    with pytest.raises(ValidationError) as excinfo:
        rendering.check("{{ taxpayer }}{{ tiem }}{{ plcae }}", {"taxpayer", "time"})
    assert excinfo.value.code == "unknown_variable"
    message = excinfo.value.messages[0]
    assert "tiem" in message and "plcae" in message and "time" in message


def test_a_variable_missing_at_send_time_is_an_error():
    with pytest.raises(ValidationError) as excinfo:
        rendering.render_text("{{ a }}{{ b }}", {"a": 1})
    assert excinfo.value.code == "missing_variable"


def test_sms_parts_count_70_alone_67_per_part():
    assert rendering.sms_parts("") == 0
    assert rendering.sms_parts("字" * 70) == 1
    assert rendering.sms_parts("字" * 71) == 2
    assert rendering.sms_parts("字" * 134) == 2
    assert rendering.sms_parts("字" * 135) == 3


@pytest.mark.parametrize("kind", catalogue.kinds(), ids=lambda k: k.key)
def test_every_shipped_default_is_valid_and_renders_its_samples(kind):
    for text in (kind.subject, kind.body):
        parts = rendering.check(text, kind.variable_names)
        assert rendering.render(parts, kind.samples())
    # Every variable a kind declares is one its default text uses or the common ones.
    used = set(rendering.variables_in(rendering.parse(kind.subject + kind.body)))
    assert {v.name for v in kind.variables} <= used


@pytest.mark.rule("MNT-07")
def test_no_show_default_names_arrival_and_leaving_times():
    kind = catalogue.get_kind("visit.no_show")
    assert {"arrived_at", "left_at"} <= kind.variable_names
    assert kind.rule == "MNT-07"


@pytest.mark.rule("TRN-17")
def test_training_notice_default_names_time_and_place():
    kind = catalogue.get_kind("training.notice")
    names = rendering.variables_in(rendering.parse(kind.body))
    assert "time" in names and "place" in names


def test_register_kind_refuses_a_second_kind_under_one_key():
    kind = catalogue.get_kind("visit.reminder")
    catalogue.register_kind(kind)  # the same kind again is harmless
    with pytest.raises(ValueError):
        catalogue.register_kind(
            catalogue.TemplateKind(key=kind.key, name="x", rule="", subject="", body="x")
        )


# ----------------------------------------------------------------------------- rows
def test_every_unit_has_a_row_for_every_kind(cast):
    for unit in cast.units.values():
        keys = set(MessageTemplate.objects.filter(service_unit=unit).values_list("key", flat=True))
        assert keys == SHIPPED_KEYS
        assert all(t.is_default for t in MessageTemplate.objects.filter(service_unit=unit))
    # Made outside the audit trail: no one changed anything.
    content_type = ContentType.objects.get_for_model(MessageTemplate)
    assert not AuditEntry.objects.filter(content_type=content_type).exists()


def test_ensure_templates_adds_missing_kinds_only(cast):
    MessageTemplate.objects.filter(service_unit=cast.unit_a, key="visit.reminder").delete()
    kept = template(cast.unit_b, "visit.reminder").pk
    assert ensure_templates() == 1
    assert ensure_templates() == 0
    assert template(cast.unit_a, "visit.reminder").is_default
    assert template(cast.unit_b, "visit.reminder").pk == kept


def test_migrate_gives_existing_units_the_kinds_they_lack(cast):
    from django.core.management import call_command

    MessageTemplate.objects.filter(key="revisit.notice").delete()
    call_command("migrate", verbosity=0)
    assert MessageTemplate.objects.filter(key="revisit.notice").count() == len(cast.units)


def test_a_new_unit_gets_its_templates(cast):
    unit = ServiceUnit.objects.create(
        name="新单位", code="UN", city="城n", supervision_body=cast.body_x
    )
    assert MessageTemplate.objects.filter(service_unit=unit).count() == len(SHIPPED_KEYS)


# ----------------------------------------------------------------------------- saving
def test_admin_rewrites_a_template_audited(cast):
    row = template(cast.unit_a)
    body = "{{ taxpayer }}：{{ technician }}{{ arrived_at }}到达，{{ left_at }}离开。"
    update_template(row, subject="未遇通知（{{ unit }}）", body=body, by=cast.admin_a)
    row.refresh_from_db()
    assert row.body == body
    assert row.subject == "未遇通知（{{ unit }}）"
    assert row.updated_by == cast.admin_a
    assert not row.is_default
    entry = AuditEntry.objects.get(
        content_type=ContentType.objects.get_for_model(MessageTemplate),
        object_id=str(row.pk),
        action=AuditAction.UPDATE,
    )
    assert entry.actor == cast.admin_a
    assert entry.unit_id == cast.unit_a.pk
    assert entry.changes["body"] == ["", body]
    # Unit B keeps the default.
    assert template(cast.unit_b).is_default


@pytest.mark.parametrize(
    ("subject", "body", "field", "code"),
    [
        ("", "{{ taxpayer }}于{{ arived_at }}", "body", "unknown_variable"),
        ("{{ subjekt }}", "{{ taxpayer }}", "subject", "unknown_variable"),
        ("", "{% now 'Y' %}", "body", "template_tag"),
        ("", "{{ taxpayer", "body", "unbalanced"),
        ("", "   ", "body", "required"),
        ("", "字" * 501, "body", "too_long"),
        ("", "{{ unit }}" + "字" * 489, "body", "too_long"),
    ],
)
def test_save_refuses_bad_text_and_keeps_the_old(cast, subject, body, field, code):
    row = template(cast.unit_a)
    with pytest.raises(ValidationError) as excinfo:
        update_template(row, subject=subject, body=body, by=cast.admin_a)
    assert excinfo.value.error_dict[field][0].code == code
    row.refresh_from_db()
    assert row.is_default
    assert not AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(MessageTemplate), object_id=str(row.pk)
    ).exists()


@pytest.mark.parametrize("username", ["dispatcher_a", "technician_a", "admin_b", "supervisor_x"])
def test_only_the_units_admin_rewrites_its_templates(cast, username):
    row = template(cast.unit_a)
    with pytest.raises(ValidationError) as excinfo:
        update_template(row, subject="", body="{{ taxpayer }}", by=cast.users[username])
    assert excinfo.value.code == "forbidden"
    with pytest.raises(ValidationError):
        reset_template(row, by=cast.users[username])
    row.refresh_from_db()
    assert row.is_default


def test_saving_the_default_text_keeps_it_the_default(cast):
    row = template(cast.unit_a)
    kind = row.kind
    update_template(row, subject=kind.subject, body=f"  {kind.body}\n", by=cast.admin_a)
    row.refresh_from_db()
    assert row.is_default and row.body == "" and row.subject == ""


def test_reset_goes_back_to_the_default(cast):
    row = template(cast.unit_a)
    update_template(row, subject="", body="{{ taxpayer }}您好", by=cast.admin_a)
    reset_template(row, by=cast.admin_a)
    row.refresh_from_db()
    assert row.is_default
    assert row.effective_body == catalogue.get_kind("visit.no_show").body


# ----------------------------------------------------------------------------- preview
def test_preview_renders_the_samples_and_the_units_own_values(cast):
    cast.unit_a.hotline = "400-123-4567"
    cast.unit_a.save()
    row = template(cast.unit_a)
    shown = preview(
        row, "{{ unit }}通知", "{{ taxpayer }}：{{ arrived_at }}到，请致电{{ hotline }}"
    )
    assert shown["errors"] == {}
    assert shown["subject"] == "服务单位A通知"
    assert shown["body"] == "杭州测试科技有限公司：2025-10-09 14:02到，请致电400-123-4567"
    assert shown["sms"] == "【服务单位A】" + shown["body"]
    assert shown["sms_parts"] == 1


def test_preview_shows_the_errors_saving_would_give(cast):
    row = template(cast.unit_a)
    shown = preview(row, "{{ x }}", "{{ taxpayer }}{{ tim }}")
    assert set(shown["errors"]) == {"subject", "body"}
    assert shown["codes"] == {"subject": ["unknown_variable"], "body": ["unknown_variable"]}
    assert "tim" in shown["errors"]["body"][0]
