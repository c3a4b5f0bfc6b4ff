"""The import pages for every member of the cast: what each sees, 404 outside their scope,
403 where they may look but not import; the page flow from upload to import; progress while
a run works; the error report."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from openpyxl import load_workbook

from taxdesk.customers.models import Taxpayer
from taxdesk.imports.actions import create_job, start_import
from taxdesk.imports.models import ImportJob
from taxdesk.testing.cast import EXPECTED_VIEW
from taxdesk.testing.imports import (
    JOBS_VIEW,
    complete_taxpayer,
    taxpayer_number,
    taxpayers_upload,
)

CAST = sorted(EXPECTED_VIEW)


def listed(html: str) -> set[int]:
    return {int(pk) for pk in re.findall(r'<tr data-pk="(\d+)">', html)}


def keys_of(jobs, pks) -> set[str]:
    return {key for key, job in jobs.items() if job.pk in pks}


# --------------------------------------------------------------------------- the list
@pytest.mark.parametrize("username", CAST)
def test_list_shows_each_member_of_the_cast_exactly_their_jobs(cast, jobs, client_for, username):
    response = client_for(cast.users[username]).get("/imports/")
    assert response.status_code == 200
    html = response.content.decode()
    assert keys_of(jobs, listed(html)) == JOBS_VIEW[username]
    if not JOBS_VIEW[username]:
        assert 'data-testid="empty"' in html


def test_list_offers_upload_only_to_writers(cast, jobs, client_for):
    assert 'data-testid="upload"' in client_for(cast.sales_a).get("/imports/").content.decode()
    assert 'data-testid="upload"' in client_for(cast.dispatcher_a).get("/imports/").content.decode()
    for name in ("technician_a", "supervisor_x"):
        html = client_for(cast.users[name]).get("/imports/").content.decode()
        assert 'data-testid="upload"' not in html


def test_list_filters_by_kind(cast, jobs, client_for):
    html = client_for(cast.admin_a).get("/imports/", {"kind": "devices"}).content.decode()
    assert keys_of(jobs, listed(html)) == {"a_devices"}


def test_list_queries_do_not_grow_with_the_jobs(cast, jobs, client_for):
    client = client_for(cast.supervisor_x)
    client.get("/imports/")

    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/imports/")
        return len(ctx.captured_queries), len(listed(response.content.decode()))

    before, rows_before = count()
    for n in range(3):
        create_job(
            kind="taxpayers",
            file=taxpayers_upload([complete_taxpayer(10 + n, "税务局A")]),
            by=cast.sales_a,
        )
    after, rows_after = count()
    assert rows_after == rows_before + 3
    assert after == before


# --------------------------------------------------------------------------- one job
@pytest.mark.parametrize("username", CAST)
def test_detail_is_404_outside_the_scope(cast, jobs, client_for, username):
    client = client_for(cast.users[username])
    for key, job in jobs.items():
        for path in (f"/imports/{job.pk}/", f"/imports/{job.pk}/status/"):
            expected = 200 if key in JOBS_VIEW[username] else 404
            assert client.get(path).status_code == expected, (path, key)


def test_detail_shows_the_errors_with_row_column_value_and_reason(cast, imports_inline, client_for):
    job = create_job(
        kind="taxpayers",
        file=taxpayers_upload(
            [complete_taxpayer(1, "税务局A"), complete_taxpayer(2, "税务局A", contact_mobile="123")]
        ),
        by=cast.sales_a,
    )
    html = client_for(cast.sales_a).get(f"/imports/{job.pk}/").content.decode()
    table = html.split('data-testid="errors"')[1]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", table)
    assert cells[:3] == ["3", "联系人手机", "123"]
    assert cells[3]  # the reason
    # The file has an error: no plain import, but the explicit valid-rows import.
    assert 'data-testid="import-all"' not in html
    assert 'data-testid="import-valid"' in html
    assert 'name="valid_only" value="1"' in html
    # Not running any more: the panel does not poll.
    assert 'hx-trigger="every 1s"' not in html


def test_a_clean_job_offers_the_import_to_writers_only(cast, jobs, client_for):
    job = jobs["a_clean"]
    assert (
        'data-testid="import-all"'
        in client_for(cast.sales_a).get(f"/imports/{job.pk}/").content.decode()
    )
    for name in ("technician_a", "supervisor_x"):
        html = client_for(cast.users[name]).get(f"/imports/{job.pk}/").content.decode()
        assert 'data-testid="import-all"' not in html


def test_page_flow_upload_check_import(cast, imports_inline, client_for):
    client = client_for(cast.dispatcher_a)
    assert client.get("/imports/new/").status_code == 200
    response = client.post(
        "/imports/new/",
        {"kind": "taxpayers", "file": taxpayers_upload([complete_taxpayer(1, "税务局A")])},
    )
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert response["Location"] == f"/imports/{job.pk}/"
    assert (job.state, job.created_by, job.service_unit) == (
        "validated",
        cast.dispatcher_a,
        cast.unit_a,
    )
    assert not Taxpayer.objects.filter(number=taxpayer_number(1)).exists()
    response = client.post(f"/imports/{job.pk}/run/")
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.state, job.created_count, job.run_by) == ("done", 1, cast.dispatcher_a)
    html = client.get(f"/imports/{job.pk}/").content.decode()
    assert 'data-state="done"' in html


def test_upload_form_refuses_what_is_not_named_xlsx(cast, imports_inline, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(cast.sales_a)
    upload = SimpleUploadedFile("list.csv", b"a,b\n1,2\n")
    response = client.post("/imports/new/", {"kind": "taxpayers", "file": upload})
    assert response.status_code == 400
    assert 'data-error-for="file"' in response.content.decode()
    assert not ImportJob.objects.exists()


def test_an_upload_that_is_not_a_workbook_fails_its_job(cast, imports_inline, client_for):
    """The upload only keeps the file; the check finds it unreadable and the job's page says
    so, without the import buttons."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    client = client_for(cast.sales_a)
    upload = SimpleUploadedFile("fake.xlsx", b"not a workbook")
    response = client.post("/imports/new/", {"kind": "taxpayers", "file": upload})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert response["Location"] == f"/imports/{job.pk}/"
    assert (job.state, job.failure) == ("failed", "无法将该文件作为 .xlsx 工作簿读取。")
    html = client.get(f"/imports/{job.pk}/").content.decode()
    assert 'data-testid="failure"' in html
    assert "无法将该文件作为 .xlsx 工作簿读取。" in html
    assert 'data-testid="import-all"' not in html


def test_upload_form_offers_the_dispatcher_taxpayers_only(cast, imports_inline, client_for):
    client = client_for(cast.dispatcher_a)
    form = client.get("/imports/new/").context["form"]
    assert [value for value, _ in form.fields["kind"].choices] == ["taxpayers"]
    response = client.post(
        "/imports/new/",
        {"kind": "devices", "file": taxpayers_upload([complete_taxpayer(1, "税务局A")])},
    )
    assert response.status_code == 400
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize("username", ["technician_a", "trainer_a", "supervisor_x", "tax_a"])
def test_upload_page_is_forbidden_to_readers(cast, imports_inline, client_for, username):
    client = client_for(cast.users[username])
    assert client.get("/imports/new/").status_code == 403
    response = client.post(
        "/imports/new/",
        {"kind": "taxpayers", "file": taxpayers_upload([complete_taxpayer(1, "税务局A")])},
    )
    assert response.status_code == 403
    assert not ImportJob.objects.exists()


def test_superuser_names_the_unit_of_the_upload(cast, imports_inline, client_for):
    response = client_for(cast.root).post(
        "/imports/new/",
        {
            "kind": "taxpayers",
            "file": taxpayers_upload([complete_taxpayer(1, "税务局B")]),
            "service_unit": cast.unit_b.pk,
        },
    )
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert (job.service_unit, job.valid_rows) == (cast.unit_b, 1)


# --------------------------------------------------------------------------- import: who may
@pytest.mark.parametrize(
    "username, key, status",
    [
        ("technician_a", "a_clean", 403),  # sees the job, may not import
        ("trainer_a", "a_clean", 403),
        ("supervisor_x", "a_clean", 403),
        ("dispatcher_a", "a_devices", 403),  # taxpayers only
        ("repair_a", "a_devices", 403),
        ("admin_b", "a_clean", 404),  # another unit's job
        ("supervisor_y", "a_clean", 404),
        ("tax_a", "a_clean", 404),
    ],
)
def test_run_is_refused(cast, jobs, client_for, username, key, status):
    job = jobs[key]
    response = client_for(cast.users[username]).post(f"/imports/{job.pk}/run/")
    assert response.status_code == status
    job.refresh_from_db()
    assert job.state == "validated"


# --------------------------------------------------------------------------- progress
def test_progress_partial_polls_while_running_and_shows_the_numbers(cast, jobs, client_for):
    job = jobs["a_clean"]
    ImportJob._base_manager.filter(pk=job.pk).update(
        state="validating",
        validated_at=None,
        expected_rows=200,
        processed_rows=50,
        progress_at=timezone.now(),
    )
    response = client_for(cast.technician_a).get(
        f"/imports/{job.pk}/status/", HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert f'hx-get="/imports/{job.pk}/status/"' in html
    assert 'hx-trigger="every 1s"' in html
    assert 'aria-valuenow="25"' in html
    assert "50" in html.split('data-testid="processed"')[1]

    # Importing: the progress counts the rows to import.
    ImportJob._base_manager.filter(pk=job.pk).update(
        state="importing",
        validated_at=timezone.now(),
        total_rows=10,
        valid_rows=8,
        processed_rows=6,
    )
    html = client_for(cast.sales_a).get(f"/imports/{job.pk}/status/").content.decode()
    assert 'aria-valuenow="75"' in html
    assert 'hx-trigger="every 1s"' in html


def test_progress_is_reported_while_the_check_reads_the_rows(cast, imports_inline, monkeypatch):
    from taxdesk.imports import actions, rows

    monkeypatch.setattr(rows, "BATCH_SIZE", 10)
    seen = []
    original = actions._progress

    def record(job_id, outcome, expected):
        seen.append((outcome.total, expected))
        original(job_id, outcome, expected)

    monkeypatch.setattr(actions, "_progress", record)
    monkeypatch.setattr(rows, "PROGRESS_EVERY", 0)
    job = create_job(
        kind="taxpayers",
        file=taxpayers_upload([complete_taxpayer(n, "税务局A") for n in range(1, 36)]),
        by=cast.sales_a,
    )
    job = ImportJob.objects.get(pk=job.pk)
    totals = [total for total, _expected in seen]
    assert totals[0] == 0
    assert totals == sorted(totals)
    assert {10, 20, 30, 35} <= set(totals)
    assert {expected for _total, expected in seen} == {35}  # the sheet says how many rows
    assert (job.processed_rows, job.total_rows) == (35, 35)
    assert job.percent == 100


def test_a_run_that_stopped_answering_fails_its_job(cast, jobs, client_for):
    job = jobs["a_clean"]
    ImportJob._base_manager.filter(pk=job.pk).update(
        state="importing", progress_at=timezone.now() - timedelta(minutes=30)
    )
    html = client_for(cast.sales_a).get(f"/imports/{job.pk}/").content.decode()
    job.refresh_from_db()
    assert job.state == "failed"
    assert job.failure
    assert 'data-testid="failure"' in html
    assert 'hx-trigger="every 1s"' not in html


def test_a_recent_run_is_left_running(cast, jobs, client_for):
    job = jobs["a_clean"]
    ImportJob._base_manager.filter(pk=job.pk).update(
        state="importing", progress_at=timezone.now() - timedelta(minutes=1)
    )
    client_for(cast.sales_a).get(f"/imports/{job.pk}/")
    job.refresh_from_db()
    assert job.state == "importing"


# --------------------------------------------------------------------------- error report
def test_error_report_lists_the_stored_errors(cast, imports_inline, client_for):
    job = create_job(
        kind="taxpayers",
        file=taxpayers_upload([complete_taxpayer(1, "税务局A", name="")]),
        by=cast.sales_a,
    )
    response = client_for(cast.supervisor_x).get(f"/imports/{job.pk}/errors.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2
    assert rows[1][:3] == (2, "纳税人名称", None)
    assert rows[1][3]
    assert client_for(cast.admin_b).get(f"/imports/{job.pk}/errors.xlsx").status_code == 404


def test_only_the_first_errors_are_kept_and_all_are_counted(cast, imports_inline, monkeypatch):
    from taxdesk.imports import rows

    monkeypatch.setattr(rows, "MAX_STORED_ERRORS", 3)
    job = create_job(
        kind="taxpayers",
        file=taxpayers_upload([complete_taxpayer(n, "税务局A", name="") for n in range(1, 8)]),
        by=cast.sales_a,
    )
    job = ImportJob.objects.get(pk=job.pk)
    assert job.error_count == 7
    assert [e["row"] for e in job.errors] == [2, 3, 4]
    assert job.more_errors == 4


def test_the_jobs_states_are_in_its_history(cast, jobs, client_for):
    from taxdesk.core.generic import history_url

    job = jobs["a_clean"]
    start_import(job, by=cast.sales_a)
    response = client_for(cast.admin_a).get(history_url(job))
    assert response.status_code == 200
    html = response.content.decode()
    for state in ("uploaded", "validating", "validated", "importing", "done"):
        assert state in html, state
