"""The clock pages and the calendar year page, driven through the test client."""

from __future__ import annotations

import re
from datetime import datetime
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.translation import gettext

from taxdesk.clocks.actions import pause_deadline, start_deadline, stop_deadline
from taxdesk.clocks.choices import ClockStatus, PauseReason
from taxdesk.clocks.models import Deadline, DeadlinePause
from taxdesk.core.choices import AuditSource
from taxdesk.core.models import AuditEntry
from taxdesk.customers.models import Taxpayer
from taxdesk.workdays.models import CalendarYear
from taxdesk.workdays.store import _revision

SH = ZoneInfo("Asia/Shanghai")
# What the pages take as "now" when they say how much time is left.
NOW = datetime(2025, 9, 30, 16, 25, tzinfo=SH)
CJK = re.compile(r"[\u4e00-\u9fff]")


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)


def start(record, rule, at, by):
    return start_deadline(
        record, rule, started_at=at, service_unit=record.service_unit, taxpayer=record, by=by
    )


@pytest.fixture
def frozen_now(time_machine):
    """The whole process's clock stopped at NOW."""
    time_machine.move_to(NOW, tick=False)
    return NOW


@pytest.fixture
def clocks(cast):
    c = SimpleNamespace(cast=cast)
    c.contact = start(cast.pa1, "MNT-04", sh(2025, 9, 30, 16), cast.dispatcher_a)  # due 17:00
    c.fix = start(cast.pa1, "MNT-03", sh(2025, 9, 30, 16), cast.dispatcher_a)  # due 10-09 16:00
    c.late = start(cast.pa2, "MNT-03", sh(2025, 9, 29, 9), cast.dispatcher_a)  # due 09-29 18:00
    c.done = start(cast.pa2, "MNT-04", sh(2025, 9, 30, 9), cast.dispatcher_a)
    stop_deadline(cast.pa2, "MNT-04", at=sh(2025, 9, 30, 9, 30), by=cast.technician_a)
    c.other_unit = start(cast.pb1, "MNT-04", sh(2025, 9, 30, 16), cast.technician_b)
    return c


def row_pks(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'<td><a href="/clocks/(\d+)/"', html)]


def remaining_cells(html: str) -> list[str]:
    return re.findall(r'data-testid="remaining">([^<]*)</td>', html)


# ----------------------------------------------------------------- the list
@pytest.mark.rule("MNT-04")
def test_mnt_04_list_shows_open_clocks_by_due_time_with_time_left(clocks, frozen_now, client_for):
    cast = clocks.cast
    client = client_for(cast.admin_a)
    client.cookies["django_language"] = "en"  # the footer's switcher; pages ignore the browser
    response = client.get("/clocks/")
    assert response.status_code == 200
    html = response.content.decode()
    assert row_pks(html) == [
        clocks.late.pk,  # 09-29 18:00
        clocks.contact.pk,  # 09-30 17:00
        cast.clock_pa1.pk,  # 09-30 23:59:59
        cast.clock_pa2.pk,
        clocks.fix.pk,  # 10-09 16:00
    ]
    assert remaining_cells(html) == [
        "22 hours 25 minutes overdue",
        "35 minutes left",
        "7 hours 34 minutes left",
        "7 hours 34 minutes left",
        "8 days 23 hours left",
    ]
    # The late one is marked; the met one (stopped) and unit B's are not listed.
    assert html.count('class="clock-overdue"') == 1
    assert clocks.done.pk not in row_pks(html)
    assert clocks.other_unit.pk not in row_pks(html)


@pytest.mark.rule("MNT-04")
def test_mnt_04_list_speaks_chinese_by_default(clocks, frozen_now, client_for):
    html = client_for(clocks.cast.admin_a).get("/clocks/").content.decode()
    cells = remaining_cells(html)
    assert cells[0] == "已超时 22 小时 25 分钟"
    assert cells[1] == "还剩 35 分钟"
    assert cells[-1] == "还剩 8 天 23 小时"


def test_list_htmx_request_gets_the_table_only(clocks, frozen_now, client_for):
    response = client_for(clocks.cast.admin_a).get(
        "/clocks/", {"rule": "MNT-04"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    names = [t.name for t in response.templates]
    assert "clocks/partials/deadline_table.html" in names
    assert "base.html" not in names
    assert "clocks/deadline_list.html" not in names
    html = response.content.decode()
    assert "<html" not in html
    assert "<form" not in html
    assert 'data-testid="rows"' in html
    assert row_pks(html) == [clocks.contact.pk]


def test_list_filter_by_rule(clocks, frozen_now, client_for):
    client = client_for(clocks.cast.admin_a)
    html = client.get("/clocks/", {"rule": "MNT-03"}).content.decode()
    assert row_pks(html) == [clocks.late.pk, clocks.fix.pk]
    html = client.get("/clocks/", {"rule": "INS-06"}).content.decode()
    assert row_pks(html) == [clocks.cast.clock_pa1.pk, clocks.cast.clock_pa2.pk]
    html = client.get("/clocks/", {"rule": "REP-06"}).content.decode()
    assert row_pks(html) == []
    assert 'data-testid="empty"' in html


def test_list_queries_do_not_grow_with_the_rows(clocks, frozen_now, client_for):
    cast = clocks.cast
    client = client_for(cast.admin_a)
    client.get("/clocks/")  # warm the session, content types and calendar

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/clocks/")
        assert response.status_code == 200
        return len(ctx.captured_queries), len(row_pks(response.content.decode()))

    before, rows_before = count()
    for n in range(4):
        taxpayer = Taxpayer.objects.create(
            number=f"91330100QRY{n:07d}",
            name=f"企业q{n}",
            service_unit=cast.unit_a,
            tax_office=cast.office_a,
        )
        start(taxpayer, "INS-06", sh(2025, 9, 26, 10), cast.sales_a)
    after, rows_after = count()
    assert rows_after == rows_before + 4
    assert after == before


# ----------------------------------------------------------------- one clock: pause, resume
@pytest.mark.rule("MNT-04")
def test_mnt_04_detail_offers_the_pause_form_with_the_allowed_reasons(clocks, client_for):
    response = client_for(clocks.cast.technician_a).get(f"/clocks/{clocks.contact.pk}/")
    assert response.status_code == 200
    form = response.context["pause_form"]
    assert [value for value, _label in form.fields["reason"].choices] == [
        PauseReason.USER_UNREACHABLE
    ]
    assert f'action="/clocks/{clocks.contact.pk}/pause/"' in response.content.decode()


@pytest.mark.rule("MNT-04")
def test_mnt_04_pause_post_by_technician_pauses_and_redirects(clocks, client_for):
    cast = clocks.cast
    client = client_for(cast.technician_a)
    response = client.post(
        f"/clocks/{clocks.contact.pk}/pause/",
        {"reason": PauseReason.USER_UNREACHABLE, "evidence": "Called 13800000000 three times"},
    )
    assert response.status_code == 302
    assert response["Location"] == f"/clocks/{clocks.contact.pk}/"
    clock = Deadline.objects.get(pk=clocks.contact.pk)
    assert clock.status == ClockStatus.PAUSED
    pause = clock.pauses.get()
    assert pause.paused_by == cast.technician_a
    assert pause.evidence == "Called 13800000000 three times"
    assert pause.ended_at is None
    entry = AuditEntry.objects.get(
        content_type=ContentType.objects.get_for_model(DeadlinePause), object_id=str(pause.pk)
    )
    assert entry.actor == cast.technician_a
    assert entry.source == AuditSource.WEB
    # The detail page now offers to resume the clock.
    html = client.get(response["Location"]).content.decode()
    assert f'action="/clocks/{clocks.contact.pk}/resume/"' in html


@pytest.mark.rule("MNT-04")
@pytest.mark.parametrize(
    "data, field",
    [
        ({"reason": PauseReason.USER_UNREACHABLE, "evidence": ""}, "evidence"),
        ({"reason": PauseReason.USER_UNREACHABLE, "evidence": "   "}, "evidence"),
        # MNT-04 may not pause for the user's equipment: not among the choices.
        ({"reason": PauseReason.USER_EQUIPMENT, "evidence": "printer"}, "reason"),
    ],
)
def test_mnt_04_bad_pause_post_is_400_with_the_error_and_changes_nothing(
    clocks, client_for, data, field
):
    client = client_for(clocks.cast.technician_a)  # signing in is an audit entry of its own
    before = AuditEntry.objects.count()
    response = client.post(f"/clocks/{clocks.contact.pk}/pause/", data)
    assert response.status_code == 400
    assert f'data-error-for="{field}"' in response.content.decode()
    assert response.context["pause_form"].errors[field]
    assert Deadline.objects.get(pk=clocks.contact.pk).status == ClockStatus.RUNNING
    assert not DeadlinePause.objects.exists()
    assert AuditEntry.objects.count() == before


@pytest.mark.rule("INS-06")
def test_ins_06_pause_form_is_not_offered_and_a_forged_post_is_refused(clocks, client_for):
    # INS-06 offers no pause reason at all; a forged POST gets the form error.
    pk = clocks.cast.clock_pa1.pk
    client = client_for(clocks.cast.admin_a)
    html = client.get(f"/clocks/{pk}/").content.decode()
    assert f'action="/clocks/{pk}/pause/"' not in html
    response = client.post(
        f"/clocks/{pk}/pause/", {"reason": PauseReason.USER_UNREACHABLE, "evidence": "x"}
    )
    assert response.status_code == 400
    assert Deadline.objects.get(pk=pk).status == ClockStatus.RUNNING
    assert not DeadlinePause.objects.exists()


@pytest.mark.rule("MNT-04")
def test_mnt_04_pause_post_by_a_read_only_role_is_forbidden(clocks, client_for):
    response = client_for(clocks.cast.trainer_a).post(
        f"/clocks/{clocks.contact.pk}/pause/",
        {"reason": PauseReason.USER_UNREACHABLE, "evidence": "no answer"},
    )
    assert response.status_code == 403
    assert Deadline.objects.get(pk=clocks.contact.pk).status == ClockStatus.RUNNING


@pytest.mark.rule("MNT-04")
def test_mnt_04_resume_post_runs_the_clock_again(clocks, client_for):
    cast = clocks.cast
    pause_deadline(
        clocks.contact,
        reason=PauseReason.USER_UNREACHABLE,
        evidence="no answer",
        at=sh(2025, 9, 30, 16, 10),
        by=cast.technician_a,
    )
    response = client_for(cast.technician_a).post(f"/clocks/{clocks.contact.pk}/resume/")
    assert response.status_code == 302
    assert response["Location"] == f"/clocks/{clocks.contact.pk}/"
    clock = Deadline.objects.get(pk=clocks.contact.pk)
    assert clock.status == ClockStatus.RUNNING
    pause = clock.pauses.get()
    assert pause.ended_at is not None
    assert clock.paused_for == pause.ended_at - pause.started_at
    # The time paused is shown on the clock's page.
    html = client_for(cast.technician_a).get(f"/clocks/{clock.pk}/").content.decode()
    assert str(clock.paused_for) in html


@pytest.mark.rule("MNT-04")
def test_mnt_04_resume_post_of_a_running_clock_changes_nothing(clocks, client_for):
    response = client_for(clocks.cast.technician_a).post(f"/clocks/{clocks.contact.pk}/resume/")
    assert response.status_code == 302
    clock = Deadline.objects.get(pk=clocks.contact.pk)
    assert clock.status == ClockStatus.RUNNING
    assert clock.due_at == sh(2025, 9, 30, 17)


# ----------------------------------------------------------------- the calendar year page
def conflict_text(day: str) -> str:
    with translation.override("zh-hans"):
        return gettext("%(day)s cannot be both a holiday and a make-up working day.") % {"day": day}


def nothing_saved(revision: int) -> None:
    assert not CalendarYear.objects.exists()
    assert _revision() == revision
    assert not AuditEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(CalendarYear)
    ).exists()


def test_calendar_year_page_offers_the_form_to_the_supervision_officer(cast, client_for):
    html = client_for(cast.supervisor_x).get("/calendar/2027/").content.decode()
    assert 'name="holidays"' in html
    html = client_for(cast.admin_a).get("/calendar/2027/").content.decode()
    assert 'name="holidays"' not in html


def test_calendar_year_conflicting_post_is_400_in_chinese_and_saves_nothing(cast, client_for):
    revision = _revision()
    response = client_for(cast.supervisor_x).post(
        "/calendar/2027/",
        {"holidays": "2027-01-01\n2027-01-02", "workdays": "2027-01-02", "notice": ""},
    )
    assert response.status_code == 400
    html = response.content.decode()
    errors = re.findall(r'data-error-for="workdays">([^<]*)</div>', html)
    assert errors == [conflict_text("2027-01-02")]
    assert "2027-01-02" in errors[0]
    assert CJK.search(errors[0]), errors[0]
    nothing_saved(revision)


def test_calendar_year_bad_date_post_names_the_token(cast, client_for):
    revision = _revision()
    response = client_for(cast.supervisor_x).post(
        "/calendar/2027/", {"holidays": "2027-01-01, 2027-13-01", "workdays": ""}
    )
    assert response.status_code == 400
    errors = re.findall(r'data-error-for="holidays">([^<]*)</div>', response.content.decode())
    assert len(errors) == 1
    assert "2027-13-01" in errors[0]
    assert CJK.search(errors[0])
    nothing_saved(revision)


@pytest.mark.rule("INS-06")
def test_ins_06_calendar_year_valid_post_saves_and_moves_a_provisional_clock(
    cast, client_for, django_capture_on_commit_callbacks
):
    clock = start(cast.pa1, "MNT-15", sh(2026, 12, 31, 10), cast.technician_a)
    assert clock.provisional
    assert clock.due_at == sh(2027, 1, 1, 23, 59, 59)
    revision = _revision()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client_for(cast.supervisor_x).post(
            "/calendar/2027/",
            {
                "holidays": "2027-01-01\n2027-02-05..2027-02-11",
                "workdays": "2027-02-13",
                "notice": "国务院办公厅通知",
            },
        )
    assert response.status_code == 302
    assert response["Location"] == "/calendar/2027/"
    assert len(callbacks) == 1
    row = CalendarYear.objects.get(year=2027)
    assert row.holidays == ["2027-01-01"] + [f"2027-02-{d:02d}" for d in range(5, 12)]
    assert row.workdays == ["2027-02-13"]
    assert row.notice == "国务院办公厅通知"
    assert _revision() != revision
    entry = AuditEntry.objects.get(
        content_type=ContentType.objects.get_for_model(CalendarYear), object_id=str(row.pk)
    )
    assert entry.actor == cast.supervisor_x
    clock.refresh_from_db()
    assert not clock.provisional
    assert clock.due_at == sh(2027, 1, 4, 23, 59, 59)
    html = client_for(cast.supervisor_x).get("/calendar/2027/").content.decode()
    assert 'data-date="2027-02-13" data-working="1"' in html
    assert 'data-date="2027-02-08" data-working="0"' in html


def test_calendar_year_post_without_make_up_days_is_saved(cast, client_for):
    response = client_for(cast.supervisor_x).post(
        "/calendar/2027/", {"holidays": "2027-01-01", "workdays": "", "notice": ""}
    )
    assert response.status_code == 302
    row = CalendarYear.objects.get(year=2027)
    assert (row.holidays, row.workdays) == (["2027-01-01"], [])


def test_calendar_year_post_by_a_unit_admin_is_refused_and_saves_nothing(cast, client_for):
    revision = _revision()
    response = client_for(cast.admin_a).post(
        "/calendar/2027/", {"holidays": "2027-01-01", "workdays": "", "notice": ""}
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert [e.code for e in form.errors.as_data()["__all__"]] == ["forbidden"]
    with translation.override("zh-hans"):
        assert form.non_field_errors() == [gettext("You may not change the calendar.")]
    nothing_saved(revision)
