"""The message pages for every member of the cast: the log (rows, filters, htmx, the Excel
export, query counts), a message with its attempts and "send again", and the template pages
(list, edit with the preview, restore the default)."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from taxdesk.notifications.actions import deliver, send_message
from taxdesk.notifications.choices import MessageStatus
from taxdesk.notifications.models import Message, MessageTemplate
from taxdesk.testing.notifications import (
    CAST,
    EXPECTED_LOG,
    EXPECTED_VIEW,
    SENDERS,
    TEMPLATE_EDITORS,
    build_messages,
)


@pytest.fixture
def world(cast):
    return build_messages(cast)


def row_pks(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<tr data-pk="(\d+)"', html)]


# ----------------------------------------------------------------------------- the log
@pytest.mark.parametrize("username", CAST)
def test_the_log_shows_exactly_the_rows_in_scope(world, client_for, username):
    response = client_for(world.cast.users[username]).get("/messages/")
    if username not in EXPECTED_LOG:
        assert response.status_code == 403
        return
    assert response.status_code == 200
    html = response.content.decode()
    assert {world.key_of(pk) for pk in row_pks(html)} == EXPECTED_LOG[username]
    assert "短信" in html  # the page speaks Chinese


@pytest.mark.parametrize("username", CAST)
def test_a_message_opens_for_whoever_may_see_it(world, client_for, username):
    client = client_for(world.cast.users[username])
    for key, message in world.messages.items():
        response = client.get(f"/messages/{message.pk}/")
        expected = 200 if key in EXPECTED_VIEW[username] else 404
        assert response.status_code == expected, (key, response.status_code)


def test_anonymous_is_sent_to_log_in(world, client):
    for url in ("/messages/", f"/messages/{world.a_sms.pk}/", "/messages/templates/"):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"]


def test_the_menu_shows_messages_to_the_logs_readers(world, client_for):
    for username in CAST:
        html = client_for(world.cast.users[username]).get("/").content.decode()
        assert ('data-nav="messages"' in html) == (username in EXPECTED_LOG), username


def test_filters_channel_status_date_and_recipient(world, client_for):
    client = client_for(world.cast.supervisor_x)

    def keys(**params):
        response = client.get("/messages/", params)
        assert response.status_code == 200
        return {world.key_of(pk) for pk in row_pks(response.content.decode())}

    assert keys(channel="email") == {"a_mail"}
    assert keys(status="sent") == {"a_sms", "b_sms"}
    assert keys(status="failed") == {"a_mail"}
    assert keys(q="5678") == {"a_sms"}
    assert keys(q="boss@") == {"a_mail"}
    assert keys(q="企业pb1") == {"b_sms"}
    assert keys(service_unit=world.cast.unit_b.pk) == {"b_sms"}
    today = world.a_sms.created_at.astimezone().date().isoformat()
    assert keys(sent_from=today, sent_to=today) == {"a_sms", "a_mail", "b_sms"}
    assert keys(sent_from="2000-01-01", sent_to="2000-01-02") == set()
    assert keys(related_type="customers.taxpayer", related_id=world.cast.pa1.pk) == {"a_sms"}
    # Another body's unit is not a choice: an invalid filter shows nothing.
    assert keys(service_unit=world.cast.unit_c.pk) == set()


def test_htmx_gets_the_table_only(world, client_for):
    response = client_for(world.cast.admin_a).get(
        "/messages/", {"channel": "sms"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "<html" not in html
    assert {world.key_of(pk) for pk in row_pks(html)} == {"a_sms"}
    assert 'id="export-link"' in html and "channel=sms" in html


def test_export_to_excel_is_the_whole_filtered_log(world, client_for):
    client = client_for(world.cast.admin_a)
    response = client.get("/messages/", {"export": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert "接收方" in header and "状态" in header and "渠道" in header
    assert len(rows) == 3
    texts = {row[header.index("接收方")] for row in rows[1:]}
    assert texts == {"13812345678", "boss@pa2.example"}
    statuses = {row[header.index("状态")] for row in rows[1:]}
    assert statuses == {"已发送", "发送失败"}
    only_mail = client.get("/messages/", {"export": "xlsx", "channel": "email"})
    sheet = load_workbook(BytesIO(b"".join(only_mail.streaming_content))).active
    assert sheet.max_row == 2
    assert (
        client_for(world.cast.technician_a).get("/messages/", {"export": "xlsx"}).status_code == 403
    )


def test_the_log_queries_do_not_grow_with_rows(world, client_for):
    cast = world.cast
    client = client_for(cast.supervisor_x)
    client.get("/messages/")

    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/messages/")
        return len(ctx.captured_queries), len(row_pks(response.content.decode()))

    before, rows_before = count()
    for n in range(5):
        message = send_message(
            service_unit=cast.unit_b,
            channel="sms",
            to=f"1390000001{n}",
            by=cast.admin_b,
            body="测试",
            taxpayer=cast.pb1,
            idempotency_key=f"more-{n}",
        )
        deliver(message.pk)
    after, rows_after = count()
    assert rows_after == rows_before + 5
    assert after == before


# ----------------------------------------------------------------------------- a message
def test_the_detail_shows_the_providers_answer_and_the_attempts(world, client_for):
    html = client_for(world.cast.admin_a).get(f"/messages/{world.a_mail.pk}/").content.decode()
    assert "合同续签提醒" in html
    assert "refused: 550 No such user" in html
    assert 'data-outcome="failed"' in html
    assert 'data-testid="retry"' in html
    html = client_for(world.cast.admin_a).get(f"/messages/{world.a_sms.pk}/").content.decode()
    assert f"stored-{world.a_sms.uid}" in html
    assert "【服务单位A】企业pa1您好" in html
    assert 'data-testid="retry"' not in html  # sent: nothing to resend


@pytest.mark.parametrize("username", CAST)
def test_send_again_only_for_the_units_senders(
    world, client_for, username, django_capture_on_commit_callbacks
):
    client = client_for(world.cast.users[username])
    message = world.a_mail
    html = client.get(f"/messages/{message.pk}/").content.decode()
    may = "a" in SENDERS.get(username, set())
    assert ('data-testid="retry"' in html) == may
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/messages/{message.pk}/retry/")
    if may:
        assert response.status_code == 302
        message.refresh_from_db()
        # Sent again after the commit (the stored e-mail backend here): sent.
        assert message.status == MessageStatus.SENT
        assert message.attempts == 2
    else:
        visible = "a_mail" in EXPECTED_VIEW[username]
        assert response.status_code == (403 if visible else 404)
        assert Message.objects.get(pk=message.pk).status == MessageStatus.FAILED


# ----------------------------------------------------------------------------- templates
@pytest.mark.parametrize("username", CAST)
def test_template_list_and_edit_by_role(world, client_for, username):
    cast = world.cast
    client = client_for(cast.users[username])
    response = client.get("/messages/templates/")
    if username not in EXPECTED_LOG:
        assert response.status_code == 403
    else:
        assert response.status_code == 200
        html = response.content.decode()
        rows = MessageTemplate.objects.filter(pk__in=row_pks(html))
        units = {t.service_unit.code[-1].lower() for t in rows}
        assert units == {key[0] for key in EXPECTED_LOG[username]}
        assert ('data-testid="edit"' in html) == (username in TEMPLATE_EDITORS)
    for key in ("a", "b", "c"):
        row = MessageTemplate.objects.get(
            service_unit=cast.units[f"unit_{key}"], key="visit.no_show"
        )
        status = client.get(f"/messages/templates/{row.pk}/").status_code
        if key in TEMPLATE_EDITORS.get(username, set()):
            assert status == 200
        elif row.service_unit.pk in _units_seen(cast, username):
            assert status == 403
        else:
            assert status == 404


def _units_seen(cast, username):
    """The units whose templates the user may see (tax officers and taxpayers: none)."""
    rows = MessageTemplate.objects.restrict(cast.users[username])
    return set(rows.values_list("service_unit_id", flat=True))


def test_edit_saves_and_the_list_says_changed(world, client_for):
    cast = world.cast
    client = client_for(cast.admin_a)
    row = MessageTemplate.objects.get(service_unit=cast.unit_a, key="visit.no_show")
    html = client.get(f"/messages/templates/{row.pk}/").content.decode()
    assert "{{ arrived_at }}" in html  # the variables are listed
    assert "2025-10-09 14:02" in html  # and the preview shows the samples
    body = "{{ taxpayer }}：{{ arrived_at }}到达，{{ left_at }}离开。"
    response = client.post(f"/messages/templates/{row.pk}/", {"subject": "", "body": body})
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.body == body
    html = client.get("/messages/templates/").content.decode()
    assert 'data-testid="changed"' in html
    response = client.post(f"/messages/templates/{row.pk}/reset/")
    assert response.status_code == 302
    row.refresh_from_db()
    assert row.is_default


def test_edit_refuses_an_unknown_variable_next_to_the_field(world, client_for):
    cast = world.cast
    client = client_for(cast.admin_a)
    row = MessageTemplate.objects.get(service_unit=cast.unit_a, key="visit.no_show")
    response = client.post(
        f"/messages/templates/{row.pk}/", {"subject": "", "body": "{{ taxpayer }}{{ arivedat }}"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-error-for="body"' in html
    assert "未知变量" in html and "arivedat" in html
    row.refresh_from_db()
    assert row.is_default


def test_preview_is_an_htmx_fragment(world, client_for):
    cast = world.cast
    row = MessageTemplate.objects.get(service_unit=cast.unit_a, key="training.notice")
    client = client_for(cast.admin_a)
    response = client.post(
        f"/messages/templates/{row.pk}/preview/",
        {"subject": "培训通知", "body": "{{ trainee }}：{{ time }}在{{ place }}"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "<html" not in html
    assert "王芳：2025-10-15 09:00在文三路 1 号三楼培训教室" in html
    response = client.post(
        f"/messages/templates/{row.pk}/preview/",
        {"subject": "", "body": "{{ trainee }}{% if x %}"},
        HTTP_HX_REQUEST="true",
    )
    assert 'data-testid="preview-errors"' in response.content.decode()
    # Not the admin: no preview either.
    response = client_for(cast.dispatcher_a).post(
        f"/messages/templates/{row.pk}/preview/", {"body": "x"}
    )
    assert response.status_code == 403
