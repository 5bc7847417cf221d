"""An import whose process was killed (issue 7): shown as stalled with what happened, retried from its
stored file by Operations, or marked failed by a command; a late worker never writes over that."""

import datetime
from io import StringIO

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent
from metering.models import ImportRun, ImportStatus, MeterRead
from metering.parsing import file_chunks
from metering.progress import progress_write
from metering.services import import_run_execute, import_run_retry, meter_upload_create
from metering.tasks import import_uploaded_file

from .conftest import export_text, import_usage, row

pytestmark = pytest.mark.django_db

NOON = datetime.datetime(2024, 6, 1, 17, tzinfo=datetime.UTC)  # noon in Chicago
MINUTES = datetime.timedelta(minutes=1)


@pytest.fixture
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


def stored_upload(actor, rows=None, name="march.csv") -> ImportRun:
    """An uploaded export kept under MEDIA_ROOT, its task not run (as when the worker has not got to it)."""
    file = SimpleUploadedFile(name, export_text(rows or [row(), row(location_id="300000002")]).encode())
    return meter_upload_create(uploaded_file=file, actor=actor)


def started(run: ImportRun) -> ImportRun:
    """The worker claimed the run now (and may die)."""
    ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.RUNNING, started_at=timezone.now())
    run.refresh_from_db()
    return run


def status_of(client, run) -> dict:
    return client.get(reverse("metering:import_status", args=[run.pk])).json()


def test_a_running_import_without_progress_for_15_minutes_is_shown_as_stalled(clock, ops, client_for):
    run = started(stored_upload(ops))
    client = client_for(ops)
    clock.shift(14 * MINUTES)
    assert status_of(client, run)["stalled"] is False
    clock.shift(1 * MINUTES)
    status = status_of(client, run)
    assert (status["stalled"], status["status_label"], status["finished"]) == (True, "Stalled", False)
    page = client.get(reverse("metering:import", args=[run.pk])).content.decode()
    assert "no progress for 15\xa0minutes (since Jun 1, 12:00)" in page and "Nothing was written." in page
    assert "one transaction" in page and ">Retry</button>" in page
    assert "status.json" not in page  # the page stops polling


def test_progress_keeps_a_long_import_from_looking_stalled(clock, ops, client_for):
    run = started(stored_upload(ops))
    clock.shift(10 * MINUTES)
    progress_write(run.pk, "saving", 4_000_000, 0.4)
    clock.shift(10 * MINUTES)
    assert status_of(client_for(ops), run)["stalled"] is False
    clock.shift(5 * MINUTES)
    assert status_of(client_for(ops), run)["stalled"] is True


def test_a_queued_import_is_waiting_its_turn_never_stalled(clock, ops, client_for):
    run = stored_upload(ops)
    clock.shift(3 * 60 * MINUTES)
    page = client_for(ops).get(reverse("metering:import", args=[run.pk])).content.decode()
    assert "Waiting for the background worker" in page and "db_worker" in page and "Stalled" not in page


def test_the_time_without_progress_is_a_setting(clock, ops, client_for, settings):
    settings.METER_IMPORT_STALE_MINUTES = 2
    run = started(stored_upload(ops))
    clock.shift(2 * MINUTES)
    assert status_of(client_for(ops), run)["stalled"] is True


def test_the_history_shows_stalled_imports_with_the_explanation_and_a_retry_button(clock, ops, client_for):
    run = started(stored_upload(ops))
    clock.shift(20 * MINUTES)
    page = client_for(ops).get(reverse("metering:imports")).content.decode()
    assert ">Stalled</span>" in page and "Nothing of them was written" in page
    assert reverse("metering:import_retry", args=[run.pk]) in page


def test_operations_retry_a_stalled_upload_from_its_stored_file(
    clock, ops, client_for, django_capture_on_commit_callbacks
):
    run = started(stored_upload(ops))
    clock.shift(20 * MINUTES)
    client = client_for(ops)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("metering:import_retry", args=[run.pk]))
    retry = ImportRun.objects.get(retry_of=run)
    assert response["Location"] == reverse("metering:import", args=[retry.pk])
    assert (retry.status, retry.reads_created, retry.upload.name) == (ImportStatus.DONE, 2, run.upload.name)
    assert MeterRead.objects.count() == 2
    run.refresh_from_db()
    assert run.status == ImportStatus.FAILED and "stalled: no progress for 15 minutes" in run.error
    events = AuditEvent.objects.filter(action__startswith="meter_import.").order_by("id")
    assert list(events.values_list("action", "actor")) == [
        ("meter_import.stalled", ops.pk),
        ("meter_import.retry", ops.pk),
        ("meter_import.done", ops.pk),
    ]
    page = client.get(reverse("metering:import", args=[run.pk])).content.decode()
    assert f'Retried as <a href="{reverse("metering:import", args=[retry.pk])}">import #{retry.pk}</a>' in page


def test_a_failed_upload_can_be_retried_but_only_once(ops, client_for, django_capture_on_commit_callbacks):
    run = stored_upload(ops)
    ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.FAILED, error="Unexpected error (OSError).")
    client = client_for(ops)
    assert ">Retry</button>" in client.get(reverse("metering:import", args=[run.pk])).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("metering:import_retry", args=[run.pk]))
        again = client.post(reverse("metering:import_retry", args=[run.pk]), follow=True)
    assert "was already retried as import" in again.content.decode()
    assert ImportRun.objects.filter(retry_of=run).count() == 1 and MeterRead.objects.count() == 2


@pytest.mark.parametrize("who", ["biller", "support"])
def test_only_operations_may_retry(clock, request, who, ops, client_for):
    run = started(stored_upload(ops))
    clock.shift(20 * MINUTES)
    response = client_for(request.getfixturevalue(who)).post(reverse("metering:import_retry", args=[run.pk]))
    assert response.status_code == 403
    assert ImportRun.objects.count() == 1


def test_a_running_import_that_still_moves_or_one_that_finished_is_not_retried(clock, ops):
    moving = started(stored_upload(ops))
    clock.shift(20 * MINUTES)
    progress_write(moving.pk, "reading", 10, 0.1)
    done = stored_upload(ops)
    ImportRun.objects.filter(pk=done.pk).update(status=ImportStatus.DONE)
    for run, refusal in [(moving, "is running: only a stalled or failed"), (done, "is done: only a stalled")]:
        with pytest.raises(Exception, match=refusal):
            import_run_retry(run=run, actor=ops)
    assert ImportRun.objects.count() == 2


def test_a_command_import_is_not_retried_from_the_page(clock, ops, export_file, client_for):
    import_usage(export_file([row()]))
    run = started(ImportRun.objects.get())
    clock.shift(20 * MINUTES)
    response = client_for(ops).post(reverse("metering:import_retry", args=[run.pk]), follow=True)
    assert "came from the import_usage command: run the command again" in response.content.decode()


def test_a_worker_that_wakes_up_after_its_run_was_given_up_writes_nothing(clock, ops):
    run = stored_upload(ops)
    path = run.upload.path

    def chunks_then_given_up():
        # While the worker reads, Operations give the run up (the command, or a retry).
        ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.FAILED, error="It stalled.")
        yield from file_chunks(path)

    result = import_run_execute(run=run, chunks=chunks_then_given_up)
    assert (result.status, result.error) == (ImportStatus.FAILED, "It stalled.")
    assert not MeterRead.objects.exists()


def test_a_task_delivered_twice_imports_once(ops):
    run = stored_upload(ops)
    assert import_uploaded_file.call(run.pk) == 0
    ImportRun.objects.filter(pk=run.pk).update(reads_created=2)
    assert import_uploaded_file.call(run.pk) == 0
    run.refresh_from_db()
    assert (run.reads_created, run.reads_unchanged) == (2, 0)


def test_the_command_marks_stalled_imports_failed_and_leaves_the_others(clock, ops):
    stalled = started(stored_upload(ops, name="stalled.csv"))
    clock.shift(20 * MINUTES)
    started(stored_upload(ops, name="moving.csv"))
    stored_upload(ops, name="queued.csv")
    out = StringIO()
    call_command("fail_stalled_imports", stdout=out)
    assert f"Marked 1 stalled import(s) failed: #{stalled.pk}." in out.getvalue()
    states = dict(ImportRun.objects.values_list("file_name", "status"))
    assert states == {"stalled.csv": "failed", "moving.csv": "running", "queued.csv": "queued"}
    stalled.refresh_from_db()
    assert "Nothing was changed." in stalled.summary() and "stalled" in stalled.error
    event = AuditEvent.objects.get(action="meter_import.stalled")
    assert event.actor_label == "command fail_stalled_imports"
    out = StringIO()
    call_command("fail_stalled_imports", stdout=out)
    assert "No stalled import" in out.getvalue()
