"""/api/messages/ and /api/message-templates/ for every member of the cast: exact rows, 404
outside scope, 403 for roles that may not, the Idempotency-Key of a POST, errors in the
API's one shape, cursor pages and query counts."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from taxdesk.customers.models import Contact
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


@pytest.fixture
def contact(cast):
    return Contact.objects.create(taxpayer=cast.pa1, name="张三", mobile="13812345678")


def send(client, data, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post(
        "/api/messages/", json.dumps(data), content_type="application/json", **headers
    )


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content[:500]
    return response.json()["results"]


def assert_error(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


# ----------------------------------------------------------------------------- reading
@pytest.mark.parametrize("username", CAST)
def test_the_list_shows_exactly_the_rows_in_scope(world, client_for, username):
    response = client_for(world.cast.users[username]).get("/api/messages/")
    if username not in EXPECTED_LOG:
        assert_error(response, 403)
        return
    rows = results(response)
    assert {world.key_of(row["id"]) for row in rows} == EXPECTED_LOG[username]


@pytest.mark.parametrize("username", CAST)
def test_a_message_answers_whoever_may_see_it_else_404(world, client_for, username):
    client = client_for(world.cast.users[username])
    for key, message in world.messages.items():
        response = client.get(f"/api/messages/{message.pk}/")
        if key in EXPECTED_VIEW[username]:
            assert response.status_code == 200
        else:
            assert_error(response, 404)


def test_a_message_carries_its_attempts_and_the_providers_answer(world, client_for):
    body = client_for(world.cast.admin_a).get(f"/api/messages/{world.a_mail.pk}/").json()
    assert body["status"] == MessageStatus.FAILED
    assert body["channel"] == "email" and body["to"] == "boss@pa2.example"
    assert body["last_error"] == "refused: 550 No such user"
    assert [a["outcome"] for a in body["attempt_log"]] == ["failed"]
    sms = client_for(world.cast.admin_a).get(f"/api/messages/{world.a_sms.pk}/").json()
    assert sms["related_type"] == "customers.taxpayer"
    assert sms["related_id"] == world.cast.pa1.pk
    assert sms["provider_message_id"] == f"stored-{world.a_sms.uid}"


def test_filters_and_cursor_pages(world, client_for):
    client = client_for(world.cast.supervisor_x)

    def keys(**params):
        return {world.key_of(row["id"]) for row in results(client.get("/api/messages/", params))}

    assert keys(channel="email") == {"a_mail"}
    assert keys(status="sent") == {"a_sms", "b_sms"}
    assert keys(taxpayer=world.cast.pb1.pk) == {"b_sms"}
    assert keys(q="13900") == {"b_sms"}
    assert_error(client.get("/api/messages/", {"service_unit": world.cast.unit_c.pk}), 400)
    seen, url = [], "/api/messages/?page_size=1"
    while url:
        page = client.get(url).json()
        seen += [row["id"] for row in page["results"]]
        url = page["next"]
    assert {world.key_of(pk) for pk in seen} == EXPECTED_LOG["supervisor_x"]
    assert len(seen) == 3


def test_the_list_queries_do_not_grow_with_rows(world, client_for):
    cast = world.cast
    client = client_for(cast.root)
    client.get("/api/messages/")

    def count():
        with CaptureQueriesContext(connection) as ctx:
            rows = results(client.get("/api/messages/"))
        return len(ctx.captured_queries), len(rows)

    before, rows_before = count()
    for n in range(4):
        message = send_message(
            service_unit=cast.unit_b,
            channel="sms",
            to=f"1390000002{n}",
            by=cast.admin_b,
            body="测试",
            related=cast.pb1,
            idempotency_key=f"more-{n}",
        )
        deliver(message.pk)
    after, rows_after = count()
    assert rows_after == rows_before + 4
    assert after == before


# ----------------------------------------------------------------------------- sending
def test_post_sends_an_sms_to_a_contact(
    world, client_for, contact, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = send(
            client_for(world.cast.dispatcher_a),
            {"channel": "sms", "contact": contact.pk, "body": "请明天上午在单位等候。"},
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["to"] == "13812345678"
    assert body["recipient_name"] == "张三"
    assert body["taxpayer"] == world.cast.pa1.pk
    assert body["created_by"] == world.cast.dispatcher_a.pk
    assert Message.objects.get(pk=body["id"]).status == MessageStatus.SENT


def test_the_same_idempotency_key_returns_the_same_message_200_and_sends_once(
    world, client_for, contact, django_capture_on_commit_callbacks
):
    client = client_for(world.cast.dispatcher_a)
    data = {"channel": "sms", "contact": contact.pk, "body": "请明天上午在单位等候。"}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = send(client, data, key="req-1")
        again = send(client, data, key="req-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert len(callbacks) == 1  # one delivery
    message = Message.objects.get(pk=first.json()["id"])
    assert message.attempts == 1
    # The key is the caller's own: another user's same key is another message.
    other = send(client_for(world.cast.admin_a), data, key="req-1")
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]
    # Without a key, each POST is a message of its own.
    assert send(client, data).json()["id"] != send(client, data).json()["id"]
    # The same key for another text is a conflict.
    error = assert_error(
        send(client, {**data, "body": "另一条"}, key="req-1"), 409, "idempotency_conflict"
    )
    assert "幂等键" in error["message"]


def test_post_errors_in_the_one_shape(world, client_for, contact):
    client = client_for(world.cast.dispatcher_a)
    before = Message.objects.count()
    error = assert_error(
        send(client, {"channel": "email", "contact": contact.pk, "body": "x", "subject": "s"}),
        400,
        "bad_email",
    )
    assert "to" in error["fields"]
    error = assert_error(
        send(client, {"channel": "email", "contact": contact.pk, "to": "a@b.cn", "body": "x"}),
        400,
        "required",
    )
    assert "subject" in error["fields"]
    silent = Contact.objects.create(taxpayer=world.cast.pa1, name="李四", landline="0571-87654321")
    error = assert_error(
        send(client, {"channel": "sms", "contact": silent.pk, "body": "x"}), 400, "no_mobile"
    )
    assert "contact" in error["fields"]
    error = assert_error(
        send(client, {"channel": "sms", "contact": contact.pk, "to": "13900000000", "body": "x"}),
        400,
        "not_the_contact",
    )
    assert "to" in error["fields"]
    other_unit = Contact.objects.create(taxpayer=world.cast.pb1, name="王五", mobile="13700000000")
    error = assert_error(
        send(client, {"channel": "sms", "contact": other_unit.pk, "body": "x"}),
        400,
        "does_not_exist",
    )
    assert "contact" in error["fields"]
    assert_error(
        send(client, {"channel": "sms", "contact": contact.pk, "body": "字" * 501}), 400, "too_long"
    )
    error = assert_error(
        send(client, {"channel": "sms", "contact": contact.pk, "body": "x"}, key="k" * 101),
        400,
        "too_long",
    )
    assert error["fields"]["idempotency_key"] == ["幂等键最多 100 个字符。"]
    assert Message.objects.count() == before


@pytest.mark.parametrize("username", CAST)
def test_only_the_units_senders_post(world, client_for, username):
    cast = world.cast
    contact = Contact.objects.create(taxpayer=cast.pa1, name="张三", mobile="13812345678")
    response = send(
        client_for(cast.users[username]), {"channel": "sms", "contact": contact.pk, "body": "您好"}
    )
    if "a" in SENDERS.get(username, set()):
        assert response.status_code == 201
    elif username == "admin_b":
        # Another unit's contact is answered as a missing one.
        assert_error(response, 400, "does_not_exist")
    else:
        assert_error(response, 403)


# ----------------------------------------------------------------------------- templates
@pytest.mark.parametrize("username", CAST)
def test_templates_list_by_role(world, client_for, username):
    response = client_for(world.cast.users[username]).get("/api/message-templates/?page_size=100")
    if username not in EXPECTED_LOG:
        assert_error(response, 403)
        return
    rows = results(response)
    units = {row["service_unit"] for row in rows}
    expected_units = {world.cast.units[f"unit_{key[0]}"].pk for key in EXPECTED_LOG[username]}
    assert units == expected_units
    assert len(rows) == 6 * len(expected_units)
    no_show = next(row for row in rows if row["key"] == "visit.no_show")
    assert no_show["is_default"] is True
    assert no_show["rule"] == "MNT-07"
    assert {"arrived_at", "left_at", "unit", "hotline"} <= {v["name"] for v in no_show["variables"]}


def test_admin_rewrites_a_template_through_the_api(world, client_for):
    cast = world.cast
    row = MessageTemplate.objects.get(service_unit=cast.unit_a, key="visit.no_show")
    client = client_for(cast.admin_a)
    url = f"/api/message-templates/{row.pk}/"
    error = assert_error(
        client.patch(
            url, json.dumps({"body": "{{ taxpayer }}{{ arived }}"}), content_type="application/json"
        ),
        400,
        "unknown_variable",
    )
    assert "arived" in error["fields"]["body"][0]
    row.refresh_from_db()
    assert row.is_default
    response = client.patch(
        url,
        json.dumps({"body": "{{ taxpayer }}：{{ arrived_at }}到，{{ left_at }}走"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["is_default"] is False
    assert response.json()["subject"] == "上门服务未遇通知"  # PATCH kept the subject
    response = client.put(
        url,
        json.dumps({"subject": "未遇", "body": "{{ taxpayer }}"}),
        content_type="application/json",
    )
    assert response.status_code == 200
    row.refresh_from_db()
    assert (row.subject, row.body, row.updated_by) == ("未遇", "{{ taxpayer }}", cast.admin_a)


@pytest.mark.parametrize("username", CAST)
def test_only_the_units_admin_rewrites(world, client_for, username):
    cast = world.cast
    row = MessageTemplate.objects.get(service_unit=cast.unit_a, key="visit.reminder")
    response = client_for(cast.users[username]).patch(
        f"/api/message-templates/{row.pk}/",
        json.dumps({"body": "{{ taxpayer }}"}),
        content_type="application/json",
    )
    if "a" in TEMPLATE_EDITORS.get(username, set()):
        assert response.status_code == 200
    elif "a_sms" in EXPECTED_VIEW[username]:
        assert_error(response, 403)
    else:
        assert_error(response, 404)
