"""Where a run goes: with a broker, the Celery task after commit; in the embedded default
(eager Celery), a background thread after commit, so the page can show progress; the task
called directly runs the job at once."""

from __future__ import annotations

import threading

import pytest

from taxdesk.imports import tasks
from taxdesk.imports.actions import create_job, start_import
from taxdesk.imports.models import ImportJob
from taxdesk.testing.imports import complete_taxpayer, taxpayers_upload


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.IMPORTS_INLINE = False
    return settings


def test_with_a_broker_the_task_is_queued_after_commit(
    cast, media, monkeypatch, django_capture_on_commit_callbacks
):
    from taxdesk.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", False)
    queued = []
    monkeypatch.setattr(tasks.run_import, "delay", lambda *args: queued.append(args))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = create_job(
            kind="taxpayers",
            file=taxpayers_upload([complete_taxpayer(1, "税务局A")]),
            by=cast.sales_a,
        )
    assert queued == []  # nothing leaves before the transaction commits
    assert ImportJob.objects.get(pk=job.pk).state == "uploaded"
    for callback in callbacks:
        callback()
    assert queued == [(job.pk, "validate")]


def test_the_task_runs_the_job(cast, media):
    job = create_job(
        kind="taxpayers",
        file=taxpayers_upload([complete_taxpayer(1, "税务局A")]),
        by=cast.sales_a,
    )
    assert tasks.run_import(job.pk, "validate") == "validated"
    # A second delivery of the same task finds the job claimed and does nothing.
    assert tasks.run_import(job.pk, "validate") == "skipped"
    start_import(ImportJob.objects.get(pk=job.pk), by=cast.sales_a)
    assert tasks.run_import(job.pk, "import") == "done"
    assert tasks.run_import(job.pk, "import") == "skipped"
    assert ImportJob.objects.get(pk=job.pk).created_count == 1


@pytest.mark.django_db(transaction=True)
def test_embedded_default_runs_in_a_background_thread(transactional_db, cast, media, monkeypatch):
    from taxdesk.celery import app
    from taxdesk.imports import actions

    assert app.conf.task_always_eager  # the embedded default of the test settings
    started = []

    class RecordedThread(threading.Thread):
        def start(self):
            started.append(self)
            super().start()

    monkeypatch.setattr(actions, "Thread", RecordedThread)
    job = create_job(
        kind="taxpayers",
        file=taxpayers_upload([complete_taxpayer(1, "税务局A")]),
        by=cast.sales_a,
    )
    assert [t.name for t in started] == [f"import-{job.pk}"]
    assert started[0].daemon
    assert started[0] is not threading.current_thread()
    started[0].join(timeout=60)
    assert not started[0].is_alive()
    assert ImportJob.objects.get(pk=job.pk).state == "validated"


def test_overlapping_runs_keep_the_collector_frozen_until_the_last_ends():
    import gc

    from taxdesk.imports.actions import _long_lived_objects_frozen

    assert gc.get_freeze_count() == 0
    first = _long_lived_objects_frozen()
    second = _long_lived_objects_frozen()
    first.__enter__()
    frozen = gc.get_freeze_count()
    assert frozen > 0
    second.__enter__()
    first.__exit__(None, None, None)  # the first run ends while the second goes on
    # Still frozen (a frozen object that dies leaves the count, so it may be a little less).
    assert gc.get_freeze_count() > frozen // 2
    second.__exit__(None, None, None)
    assert gc.get_freeze_count() == 0
