"""The audit trail: every write of an audited model leaves one entry per row, saying who, from
which request and address, through the web or the API, and what changed (before and after);
password hashes never reach it; entries are never changed or removed; a failed action leaves
neither a change nor an entry.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import DataError, connection, transaction
from django.db.models import F
from django.test import Client
from django.utils import timezone

from taxdesk.clocks.actions import pause_deadline, start_deadline
from taxdesk.clocks.models import Deadline, DeadlinePause
from taxdesk.core import audit
from taxdesk.core.actions import create_user, update_service_unit
from taxdesk.core.choices import AuditAction, AuditSource, Role
from taxdesk.core.models import AuditEntry, ServiceUnit, User
from taxdesk.customers.models import Taxpayer
from taxdesk.testing.cast import PASSWORD

DEFAULT_HOURS = "09:00-12:00,13:00-18:00"


def entries_of(obj):
    return AuditEntry.objects.filter(
        content_type__app_label=obj._meta.app_label,
        content_type__model=obj._meta.model_name,
        object_id=str(obj.pk),
    ).order_by("id")


def new_entries(since_id: int):
    return AuditEntry.objects.filter(id__gt=since_id).order_by("id")


def last_id() -> int:
    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


def trail_text() -> str:
    return json.dumps(list(AuditEntry.objects.values("changes", "object_repr")), default=str)


# --- through the web and the API ------------------------------------------------------------


def test_page_change_records_actor_request_ip_source_and_changes(cast, client_for):
    unit = cast.unit_a
    client = client_for(cast.admin_a)
    start = last_id()
    response = client.post(
        f"/units/{unit.pk}/edit/",
        {
            "address": "杭州市西湖区文三路 1 号",
            "hotline": "",
            "working_hours": "08:30-12:00,13:00-17:30",
            "entry_deadline_workdays": 1,
            "session_idle_minutes": 30,
        },
        HTTP_X_REQUEST_ID="web-req-000123",
        REMOTE_ADDR="10.20.30.40",
    )
    assert response.status_code == 302
    assert response["X-Request-ID"] == "web-req-000123"
    [entry] = new_entries(start).filter(content_type__model="serviceunit")
    assert entry.action == AuditAction.UPDATE
    assert entry.actor == cast.admin_a and entry.actor_repr == str(cast.admin_a)
    assert entry.request_id == "web-req-000123"
    assert entry.ip == "10.20.30.40"
    assert entry.source == AuditSource.WEB
    assert entry.object_id == str(unit.pk) and entry.object_repr == unit.name
    assert entry.changes == {
        "address": ["", "杭州市西湖区文三路 1 号"],
        "working_hours": [DEFAULT_HOURS, "08:30-12:00,13:00-17:30"],
    }
    assert (entry.unit_id, entry.body_id) == (unit.pk, cast.body_x.pk)


def test_api_change_with_a_token_is_recorded_as_api(cast):
    client = Client()
    response = client.post("/api/auth/token/", {"username": "admin_b", "password": PASSWORD})
    token = response.json()["token"]
    start = last_id()
    response = client.patch(
        f"/api/units/{cast.unit_b.pk}/",
        json.dumps({"hotline": "400-820-8820"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
        HTTP_X_REQUEST_ID="api-req-000456",
        REMOTE_ADDR="192.168.1.9",
    )
    assert response.status_code == 200
    assert response["X-Request-ID"] == "api-req-000456"
    [entry] = new_entries(start)
    assert entry.actor == cast.admin_b
    assert (entry.source, entry.request_id, entry.ip) == ("api", "api-req-000456", "192.168.1.9")
    assert entry.changes == {"hotline": ["", "400-820-8820"]}


@pytest.mark.parametrize("header", [None, "", "short", "has spaces in it", "x" * 65, "a/b/c/d/e/f"])
def test_request_id_is_made_when_missing_or_malformed(cast, client_for, header):
    client = client_for(cast.admin_a)
    extra = {} if header is None else {"HTTP_X_REQUEST_ID": header}
    start = last_id()
    response = client.patch(
        f"/api/units/{cast.unit_a.pk}/",
        json.dumps({"hotline": "0571-1234"}),
        content_type="application/json",
        **extra,
    )
    assert response.status_code == 200
    made = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    assert new_entries(start).get().request_id == made


def test_each_request_gets_its_own_id_also_on_reads(cast, client_for):
    client = client_for(cast.dispatcher_a)
    first = client.get("/units/")["X-Request-ID"]
    second = client.get("/api/me/")["X-Request-ID"]
    assert first and second and first != second
    assert client.get("/", HTTP_X_REQUEST_ID="trace-abcdef12")["X-Request-ID"] == "trace-abcdef12"


def test_api_create_and_delete_are_recorded(cast, client_for):
    client = client_for(cast.supervisor_x)
    start = last_id()
    response = client.post(
        "/api/calendar/days/",
        json.dumps({"date": "2027-01-04", "is_workday": False, "reason": "台风"}),
        content_type="application/json",
        HTTP_X_REQUEST_ID="create-day-0001",
    )
    assert response.status_code == 201
    pk = response.json()["id"]
    [created] = new_entries(start)
    assert created.action == AuditAction.CREATE
    assert created.object_id == str(pk)
    assert created.actor == cast.supervisor_x and created.source == AuditSource.API
    assert created.request_id == "create-day-0001"
    assert created.changes == {
        "id": [None, pk],
        "date": [None, "2027-01-04"],
        "is_workday": [None, False],
        "reason": [None, "台风"],
    }

    start = last_id()
    response = client.delete(f"/api/calendar/days/{pk}/", HTTP_X_REQUEST_ID="delete-day-0001")
    assert response.status_code == 204
    [deleted] = new_entries(start)
    assert deleted.action == AuditAction.DELETE
    assert deleted.request_id == "delete-day-0001" and deleted.actor == cast.supervisor_x
    assert deleted.changes == {
        "id": [pk, None],
        "date": ["2027-01-04", None],
        "is_workday": [False, None],
        "reason": ["台风", None],
    }


def test_reads_write_nothing(cast, client_for):
    client = client_for(cast.supervisor_x)
    start = last_id()
    for url in ("/", "/units/", "/clocks/", "/audit/", "/calendar/", "/api/units/", "/api/me/"):
        assert client.get(url).status_code == 200
    assert not new_entries(start).exists()


def test_saving_without_a_change_writes_nothing(cast):
    unit = ServiceUnit.objects.get(pk=cast.unit_a.pk)
    start = last_id()
    unit.save()
    unit.hotline = ""
    unit.save()
    assert not new_entries(start).exists()


# --- bulk paths -----------------------------------------------------------------------------


def test_queryset_update_records_one_entry_per_row(cast):
    start = last_id()
    with audit.acting(cast.supervisor_x):
        count = ServiceUnit.objects.filter(supervision_body=cast.body_x).update(
            hotline="12366", entry_deadline_workdays=F("entry_deadline_workdays") + 1
        )
    assert count == 2
    entries = list(new_entries(start))
    assert {e.object_id for e in entries} == {str(cast.unit_a.pk), str(cast.unit_b.pk)}
    for entry in entries:
        assert entry.action == AuditAction.UPDATE
        assert entry.actor == cast.supervisor_x
        assert entry.changes == {"hotline": ["", "12366"], "entry_deadline_workdays": [1, 2]}
        assert entry.unit_id == int(entry.object_id)
    assert len({e.request_id for e in entries}) == 1 and entries[0].request_id
    # Nothing changes the second time: nothing to record.
    start = last_id()
    with audit.acting(cast.supervisor_x):
        ServiceUnit.objects.filter(supervision_body=cast.body_x).update(hotline="12366")
    assert not new_entries(start).exists()


def test_queryset_update_records_only_the_audited_fields(cast):
    """``audit_exclude`` holds for every path: an update of excluded fields only records
    nothing (an import's progress); an update of both records the audited ones."""
    now = timezone.now()
    start = last_id()
    with audit.acting(cast.root):
        assert User.objects.filter(pk=cast.trainer_a.pk).update(last_login=now) == 1
    assert not new_entries(start).exists()
    assert User.objects.get(pk=cast.trainer_a.pk).last_login == now
    with audit.acting(cast.root):
        User.objects.filter(pk=cast.trainer_a.pk).update(
            last_login=now + timedelta(hours=1), full_name="培训员甲"
        )
    assert [e.changes for e in new_entries(start)] == [{"full_name": ["trainer_a", "培训员甲"]}]


def test_no_code_writes_around_the_audited_managers():
    """``_base_manager`` is a plain manager: a write through it would leave no entry.

    The one exception, marked "# audit: blank", fills a new unit's message templates with
    blank rows that stand for the code's defaults (nobody wrote them).
    """
    from pathlib import Path

    import taxdesk

    root = Path(taxdesk.__file__).parent
    write = re.compile(
        r"_base_manager\b[^\n]*\.(update|create|get_or_create|update_or_create|bulk_create|"
        r"bulk_update|delete)\("
    )
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for path in sorted(root.rglob("*.py"))
        if "tests" not in path.parts
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if write.search(line) and not line.rstrip().endswith("# audit: blank")
    ]
    assert offenders == []


def test_bulk_update_records_each_row_before_and_after(cast):
    units = list(ServiceUnit.objects.filter(code__in=["UA", "UC"]).order_by("code"))
    units[0].address = "地址甲"
    units[1].address = "地址丙"
    units[1].hotline = "400-1"
    start = last_id()
    with audit.acting(cast.root):
        ServiceUnit.objects.bulk_update(units, ["address", "hotline"])
    entries = {e.object_id: e.changes for e in new_entries(start)}
    assert entries == {
        str(units[0].pk): {"address": ["", "地址甲"]},
        str(units[1].pk): {"address": ["", "地址丙"], "hotline": ["", "400-1"]},
    }


def test_bulk_create_records_each_row(cast):
    start = last_id()
    with audit.acting(cast.sales_a):
        made = Taxpayer.objects.bulk_create(
            [
                Taxpayer(
                    number=f"91330100MAB00000{i}X",
                    name=f"批量企业{i}",
                    service_unit=cast.unit_a,
                    supervision_body=cast.body_x,  # bulk_create skips save()
                    tax_office=cast.office_a,
                )
                for i in range(3)
            ]
        )
    entries = list(new_entries(start))
    assert [e.object_id for e in entries] == [str(t.pk) for t in made]
    for entry, taxpayer in zip(entries, made, strict=True):
        assert entry.action == AuditAction.CREATE and entry.actor == cast.sales_a
        assert entry.changes["name"] == [None, taxpayer.name]
        assert entry.changes["service_unit"] == [None, cast.unit_a.pk]
        assert entry.unit_id == cast.unit_a.pk and entry.body_id == cast.body_x.pk


@pytest.mark.skipif(connection.vendor != "postgresql", reason="SQLite does not limit lengths")
def test_a_bulk_path_entry_that_does_not_fit_is_djangos_data_error(cast):
    """Entries of bulk paths are copied in with the driver's COPY; its errors still reach
    callers as Django's own types, and the write is undone with them."""
    before = Taxpayer.objects.count()
    with (
        pytest.raises(DataError),
        audit.acting(cast.sales_a),
        audit.context(request_id="r" * 80),
    ):
        Taxpayer.objects.bulk_create(
            [
                Taxpayer(
                    number="91330100MAB000009X",
                    name="过长请求号的企业",
                    service_unit=cast.unit_a,
                    supervision_body=cast.body_x,
                )
            ]
        )
    assert Taxpayer.objects.count() == before


def test_cascade_delete_records_the_children(cast):
    clock = start_deadline(
        cast.pa1,
        "MNT-04",
        started_at=timezone.now() - timedelta(minutes=1),
        service_unit=cast.unit_a,
        taxpayer=cast.pa1,
        by=cast.dispatcher_a,
    )
    pause = pause_deadline(
        clock, reason="user_unreachable", evidence="电话无人接听", at=timezone.now(), by=cast.root
    )
    start = last_id()
    with audit.acting(cast.root):
        Deadline.objects.get(pk=clock.pk).delete()
    assert not DeadlinePause.objects.filter(pk=pause.pk).exists()
    deleted = {(e.content_type.model, e.object_id): e for e in new_entries(start)}
    assert set(deleted) == {("deadline", str(clock.pk)), ("deadlinepause", str(pause.pk))}
    child = deleted[("deadlinepause", str(pause.pk))]
    assert child.action == AuditAction.DELETE and child.actor == cast.root
    assert child.changes["evidence"] == ["电话无人接听", None]
    assert child.unit_id == cast.unit_a.pk  # still in unit A's trail
    assert deleted[("deadline", str(clock.pk))].changes["rule"] == ["MNT-04", None]


# --- what is never recorded -----------------------------------------------------------------


def test_password_hashes_never_reach_the_trail(cast):
    start = last_id()
    user = create_user(
        username="new_tech",
        password="Very-secret-42",
        role=Role.TECHNICIAN,
        service_unit=cast.unit_a,
        by=cast.admin_a,
    )
    [created] = new_entries(start)
    assert created.changes["password"] == [None, "***"]

    # A password change is recorded as a change, without either value.
    start = last_id()
    user.set_password("Another-secret-43")
    user.save()
    [changed] = new_entries(start)
    assert changed.changes == {"password": ["***", "***"]}

    # The bulk path too.
    start = last_id()
    User.objects.filter(pk=user.pk).update(password=make_password("Third-secret-44"))
    [bulk] = new_entries(start)
    assert bulk.changes == {"password": ["***", "***"]}

    start = last_id()
    User.objects.filter(pk=user.pk).delete()
    [gone] = new_entries(start)
    assert gone.changes["password"] == ["***", None]

    text = trail_text()
    for hashed in User.objects.values_list("password", flat=True):
        assert hashed not in text
    assert not re.search(r"(md5|pbkdf2_sha256|argon2|bcrypt)\$", text)
    assert "secret" not in text


def test_last_login_is_not_audited(cast):
    client = Client()
    start = last_id()
    response = client.post("/accounts/login/", {"username": "trainer_a", "password": PASSWORD})
    assert response.status_code == 302
    cast.trainer_a.refresh_from_db()
    assert cast.trainer_a.last_login is not None
    entries = list(new_entries(start))
    assert [e.action for e in entries] == [AuditAction.LOGIN]
    assert not any("last_login" in e.changes for e in AuditEntry.objects.all())


# --- entries are never changed or removed ---------------------------------------------------


def test_entries_cannot_be_changed_or_deleted(cast):
    entry = AuditEntry.objects.filter(content_type__model="serviceunit").first()
    original = (entry.action, entry.object_repr, entry.changes)
    count = AuditEntry.objects.count()

    entry.object_repr = "forged"
    attempts = [
        entry.save,
        entry.delete,
        lambda: AuditEntry.objects.filter(pk=entry.pk).update(object_repr="forged"),
        lambda: AuditEntry.objects.all().delete(),
        lambda: AuditEntry.objects.filter(pk=entry.pk).delete(),
        lambda: AuditEntry.objects.bulk_update([entry], ["object_repr"]),
    ]
    for attempt in attempts:
        # Each in its own savepoint: a refusal inside Django's own atomic block spoils it.
        with pytest.raises(PermissionError), transaction.atomic():
            attempt()

    fresh = AuditEntry.objects.get(pk=entry.pk)
    assert (fresh.action, fresh.object_repr, fresh.changes) == original
    assert AuditEntry.objects.count() == count


def test_the_admin_shows_entries_read_only(cast, client_for):
    entry = AuditEntry.objects.filter(content_type__model="serviceunit").first()
    client = client_for(cast.root)
    count = AuditEntry.objects.count()
    base = "/admin/core/auditentry/"
    assert client.get(base).status_code == 200
    page = client.get(f"{base}{entry.pk}/change/")
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.post(f"{base}{entry.pk}/change/", {"object_repr": "forged"}).status_code == 403
    assert client.get(f"{base}{entry.pk}/delete/").status_code == 403
    assert client.post(f"{base}{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get(f"{base}add/").status_code == 403
    assert client.post(f"{base}add/", {"action": "create"}).status_code == 403
    client.post(base, {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"})
    fresh = AuditEntry.objects.get(pk=entry.pk)
    assert fresh.object_repr == entry.object_repr
    # Only the admin's own sign-in entry was added (force_login above).
    assert AuditEntry.objects.count() == count


def test_no_page_or_endpoint_writes_entries(cast, client_for):
    client = client_for(cast.admin_a)
    entry = AuditEntry.objects.filter(unit_id=cast.unit_a.pk).first()
    count = AuditEntry.objects.count()
    assert client.post("/audit/", {"object_repr": "x"}).status_code == 405
    assert client.post(f"/history/core.serviceunit/{cast.unit_a.pk}/").status_code == 405
    for method in ("post", "put", "patch", "delete"):
        response = getattr(client, method)(f"/api/audit/{entry.pk}/")
        assert response.status_code in (404, 405)
    assert AuditEntry.objects.count() == count
    assert AuditEntry.objects.get(pk=entry.pk).object_repr == entry.object_repr


# --- failed actions -------------------------------------------------------------------------


def test_failed_action_leaves_no_change_and_no_entry(cast):
    unit = cast.unit_a
    start = last_id()
    with pytest.raises(ValidationError) as caught:
        update_service_unit(
            ServiceUnit.objects.get(pk=unit.pk),
            by=cast.admin_a,
            address="新地址",
            working_hours="18:00-09:00",
        )
    assert "working_hours" in caught.value.message_dict
    fresh = ServiceUnit.objects.get(pk=unit.pk)
    assert (fresh.address, fresh.working_hours) == ("", DEFAULT_HOURS)
    assert not new_entries(start).exists()


def test_refused_action_leaves_no_change_and_no_entry(cast):
    start = last_id()
    with pytest.raises(ValidationError):
        update_service_unit(
            ServiceUnit.objects.get(pk=cast.unit_a.pk), by=cast.dispatcher_a, address="x"
        )
    with pytest.raises(ValidationError):
        update_service_unit(
            ServiceUnit.objects.get(pk=cast.unit_b.pk), by=cast.admin_a, address="x"
        )
    assert not ServiceUnit.objects.filter(address="x").exists()
    assert not new_entries(start).exists()


def test_action_failing_after_its_write_rolls_back_the_entry_too(cast, monkeypatch):
    """The entry is written in the action's transaction: if a later step fails, neither the
    change nor its entry survive."""
    import taxdesk.clocks.actions

    def broken(**kwargs):
        raise RuntimeError("recompute failed")

    monkeypatch.setattr(taxdesk.clocks.actions, "recompute_open_deadlines", broken)
    start = last_id()
    with pytest.raises(RuntimeError):
        update_service_unit(
            ServiceUnit.objects.get(pk=cast.unit_a.pk),
            by=cast.admin_a,
            working_hours="08:00-16:00",
        )
    assert ServiceUnit.objects.get(pk=cast.unit_a.pk).working_hours == DEFAULT_HOURS
    assert not new_entries(start).exists()


def test_successful_action_is_recorded_once_with_its_actor(cast):
    start = last_id()
    update_service_unit(
        ServiceUnit.objects.get(pk=cast.unit_a.pk), by=cast.admin_a, hotline="0571-88888888"
    )
    [entry] = new_entries(start)
    assert entry.actor == cast.admin_a
    assert entry.source == AuditSource.COMMAND and entry.request_id
    assert entry.changes == {"hotline": ["", "0571-88888888"]}


# --- history page ---------------------------------------------------------------------------


def test_history_page_of_a_unit_shows_its_entries(cast, client_for):
    unit = cast.unit_a
    client = client_for(cast.admin_a)
    client.post(
        f"/units/{unit.pk}/edit/",
        {
            "address": "滨江区 88 号",
            "hotline": "",
            "working_hours": DEFAULT_HOURS,
            "entry_deadline_workdays": 1,
            "session_idle_minutes": 30,
        },
    )
    response = client.get(f"/history/core.serviceunit/{unit.pk}/")
    assert response.status_code == 200
    rows = response.context["rows"]
    # Newest first: the edit, the tax office it was given, its creation.
    assert [e.action for e in rows] == [AuditAction.UPDATE, AuditAction.UPDATE, AuditAction.CREATE]
    assert rows[1].changes == {"tax_offices": ["added", [cast.office_a.pk]]}
    assert list(rows) == list(entries_of(unit).order_by("-at", "-id"))
    page = response.content.decode()
    assert "滨江区 88 号" in page and str(cast.admin_a) in page
    # Another unit's history does not show this change.
    other = client_for(cast.root).get(f"/history/core.serviceunit/{cast.unit_b.pk}/")
    assert "滨江区 88 号" not in other.content.decode()


def test_a_units_body_is_looked_up_once_per_action(cast):
    """Entries of records that know only their unit carry the unit's body; within one
    acting() block the body is read once per unit, outside it every time."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from taxdesk.core.audit import _body_of_unit

    with CaptureQueriesContext(connection) as outside:
        assert _body_of_unit(cast.unit_a.pk) == cast.body_x.pk
        assert _body_of_unit(cast.unit_a.pk) == cast.body_x.pk
    assert len(outside.captured_queries) == 2
    with audit.acting(cast.admin_a), CaptureQueriesContext(connection) as inside:
        for _ in range(3):
            assert _body_of_unit(cast.unit_a.pk) == cast.body_x.pk
            assert _body_of_unit(cast.unit_c.pk) == cast.body_y.pk
        with audit.acting(cast.root):  # nested: the same action
            assert _body_of_unit(cast.unit_a.pk) == cast.body_x.pk
    assert len(inside.captured_queries) == 2
