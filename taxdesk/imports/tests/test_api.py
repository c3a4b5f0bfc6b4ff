"""/api/imports/: scoped lists and details (404 outside), multipart upload that starts the
check, run with valid_only, refusals in the API's one error shape."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from taxdesk.customers.models import Taxpayer
from taxdesk.imports.actions import create_job
from taxdesk.imports.models import ImportJob
from taxdesk.testing.cast import EXPECTED_VIEW
from taxdesk.testing.imports import (
    JOBS_VIEW,
    complete_taxpayer,
    taxpayer_number,
    taxpayers_upload,
)

CAST = sorted(EXPECTED_VIEW)


def assert_error(response, status, code=None):
    assert response.status_code == status, response.content[:300]
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "fields"}
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


@pytest.mark.parametrize("username", CAST)
def test_list_and_detail_per_member_of_the_cast(cast, jobs, client_for, username):
    client = client_for(cast.users[username])
    response = client.get("/api/imports/")
    assert response.status_code == 200
    body = response.json()
    ids = {row["id"] for row in body["results"]}
    assert {k for k, j in jobs.items() if j.pk in ids} == JOBS_VIEW[username]
    assert all("errors" not in row for row in body["results"])
    for key, job in jobs.items():
        detail = client.get(f"/api/imports/{job.pk}/")
        if key in JOBS_VIEW[username]:
            assert detail.status_code == 200
            assert detail.json()["errors"] == []
            assert detail.json()["state"] == "validated"
        else:
            assert_error(detail, 404)


def test_list_queries_do_not_grow_with_the_jobs(cast, jobs, client_for):
    client = client_for(cast.root)
    client.get("/api/imports/")

    def count():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/api/imports/")
        return len(ctx.captured_queries), len(response.json()["results"])

    before, rows_before = count()
    for n in range(3):
        create_job(
            kind="taxpayers",
            file=taxpayers_upload([complete_taxpayer(20 + n, "税务局A")]),
            by=cast.sales_a,
        )
    after, rows_after = count()
    assert (rows_after, after) == (rows_before + 3, before)


def test_upload_checks_and_run_valid_only_imports(cast, imports_inline, client_for):
    client = client_for(cast.sales_a)
    upload = taxpayers_upload(
        [complete_taxpayer(1, "税务局A"), complete_taxpayer(2, "税务局A", name="")]
    )
    response = client.post("/api/imports/", {"kind": "taxpayers", "file": upload})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["state"], body["total_rows"], body["valid_rows"], body["error_count"]) == (
        "validated",
        2,
        1,
        1,
    )
    assert body["errors"][0]["row"] == 3
    assert body["errors"][0]["column"] == "纳税人名称"
    assert body["errors"][0]["code"] == "required"
    job_id = body["id"]

    refused = client.post(f"/api/imports/{job_id}/run/", {}, content_type="application/json")
    assert_error(refused, 400, "not_clean")
    assert not Taxpayer.objects.filter(number=taxpayer_number(1)).exists()

    response = client.post(
        f"/api/imports/{job_id}/run/", {"valid_only": True}, content_type="application/json"
    )
    assert response.status_code == 202, response.content
    assert response.json()["import_valid_only"] is True
    job = ImportJob.objects.get(pk=job_id)
    assert (job.state, job.created_count) == ("done", 1)
    assert Taxpayer.objects.filter(number=taxpayer_number(1)).exists()


@pytest.mark.parametrize("username", ["technician_a", "supervisor_x", "tax_a", "taxpayer_pa1"])
def test_upload_by_a_reader_is_403(cast, imports_inline, client_for, username):
    response = client_for(cast.users[username]).post(
        "/api/imports/",
        {"kind": "taxpayers", "file": taxpayers_upload([complete_taxpayer(1, "税务局A")])},
    )
    assert_error(response, 403)
    assert not ImportJob.objects.exists()


def test_dispatcher_uploads_taxpayers_but_not_devices(cast, imports_inline, client_for):
    client = client_for(cast.dispatcher_a)
    upload = taxpayers_upload([complete_taxpayer(1, "税务局A")])
    assert_error(client.post("/api/imports/", {"kind": "devices", "file": upload}), 403)
    upload = taxpayers_upload([complete_taxpayer(1, "税务局A")])
    assert client.post("/api/imports/", {"kind": "taxpayers", "file": upload}).status_code == 201


def test_upload_of_what_is_not_named_xlsx_is_400(cast, imports_inline, client_for):
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client_for(cast.sales_a).post(
        "/api/imports/",
        {"kind": "taxpayers", "file": SimpleUploadedFile("a.csv", b"a,b\n1,2\n")},
    )
    error = assert_error(response, 400, "not_xlsx")
    assert "file" in error["fields"]
    assert not ImportJob.objects.exists()


def test_upload_of_an_unreadable_file_fails_its_job(cast, imports_inline, client_for):
    """The upload does not read the file; the job's check cannot, and the job fails."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client_for(cast.sales_a).post(
        "/api/imports/",
        {"kind": "taxpayers", "file": SimpleUploadedFile("a.xlsx", b"nope")},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["state"], body["failure"]) == ("failed", "无法将该文件作为 .xlsx 工作簿读取。")
    assert (body["total_rows"], body["valid_rows"], body["errors"]) == (0, 0, [])
    refused = client_for(cast.sales_a).post(
        f"/api/imports/{body['id']}/run/", {}, content_type="application/json"
    )
    assert_error(refused, 400, "not_validated")
    assert ImportJob.objects.get().state == "failed"


def test_a_unit_user_cannot_upload_into_another_unit(cast, imports_inline, client_for):
    response = client_for(cast.sales_a).post(
        "/api/imports/",
        {
            "kind": "taxpayers",
            "file": taxpayers_upload([complete_taxpayer(1, "税务局A")]),
            "service_unit": cast.unit_b.pk,
        },
    )
    assert_error(response, 400)
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    "username, key, status",
    [
        ("technician_a", "a_clean", 403),
        ("supervisor_x", "a_clean", 403),
        ("dispatcher_a", "a_devices", 403),
        ("admin_b", "a_clean", 404),
        ("supervisor_y", "a_clean", 404),
    ],
)
def test_run_refusals(cast, jobs, client_for, username, key, status):
    job = jobs[key]
    response = client_for(cast.users[username]).post(
        f"/api/imports/{job.pk}/run/", {}, content_type="application/json"
    )
    assert_error(response, status)
    job.refresh_from_db()
    assert job.state == "validated"


def test_run_by_a_writer(cast, jobs, client_for):
    job = jobs["a_devices"]
    response = client_for(cast.sales_a).post(
        f"/api/imports/{job.pk}/run/", {}, content_type="application/json"
    )
    assert response.status_code == 202
    job.refresh_from_db()
    assert (job.state, job.created_count) == ("done", 1)
    again = client_for(cast.sales_a).post(
        f"/api/imports/{job.pk}/run/", {}, content_type="application/json"
    )
    assert_error(again, 400, "not_validated")
