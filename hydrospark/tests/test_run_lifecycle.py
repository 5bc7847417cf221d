"""Every background run has one lifecycle (issue 11.3): queued by its service, claimed once by its task, alive
while it beats, failed by fail_stalled_runs when its worker died (its task row too), then retried."""

import datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from anomalies.models import DetectionRun
from anomalies.runs import DETECTION_RUN, detection_queue
from anomalies.tasks import detect_anomalies_task
from billing import tasks as bill_tasks
from billing.exceptions import BillingError
from billing.models import Bill, BillRun
from billing.runs import BILL_RUN, bill_run_queue, bill_run_retry
from billing.tests.conftest import add_month
from hydrospark import runs
from metering.models import ImportRun, ImportStatus
from metering.progress import IMPORT_RUN
from metering.services import import_run_create

pytestmark = pytest.mark.django_db

JULY = datetime.date(2025, 7, 1)
NOON = datetime.datetime(2025, 8, 5, 17, tzinfo=datetime.UTC)
MINUTES = datetime.timedelta(minutes=1)


@pytest.fixture
def clock():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


def sweep() -> str:
    out = StringIO()
    call_command("fail_stalled_runs", stdout=out)
    return out.getvalue()


def task_row(path: str, run_id) -> DBTaskResult:
    """The worker's row for a task it claimed and then died on (django-tasks-db leaves it RUNNING)."""
    return DBTaskResult.objects.create(
        status="RUNNING",
        args_kwargs={"args": [], "kwargs": {"run_id": run_id}},
        task_path=path,
        backend_name="default",
        run_after=timezone.now(),
        started_at=timezone.now(),
    )


def test_a_bill_run_whose_worker_died_is_failed_by_the_sweep_and_can_be_retried(clock, biller, alice_account):
    add_month(alice_account, JULY, "25.5")
    run = bill_run_queue(period=JULY, cycles=[], action=BillRun.Action.COMPUTE, actor=biller)
    assert runs.claim(BILL_RUN, run.pk)  # the worker took it, then was killed
    lost = task_row("billing.tasks.bill_run_task", run.pk)
    with pytest.raises(BillingError, match="Another run holds 2025-07"):
        bill_run_queue(period=JULY, cycles=[], action=BillRun.Action.COMPUTE, actor=biller)
    clock.shift(14 * MINUTES)
    assert "No stalled run" in sweep()
    clock.shift(1 * MINUTES)
    assert f"Bill run #{run.pk}" in sweep()
    run.refresh_from_db()
    assert run.status == BillRun.Status.FAILED and "stalled" in run.message
    lost.refresh_from_db()
    assert lost.status == "FAILED" and lost.exception_class_path == runs.WORKER_LOST
    retry = bill_run_retry(run=run, actor=biller)  # the period is no longer blocked
    assert bill_tasks.bill_run_task.call(run_id=retry.pk).startswith("2025-07: billed 1 customers")
    retry.refresh_from_db()
    assert retry.status == BillRun.Status.DONE
    assert Bill.objects.filter(customer=alice_account, period=JULY).count() == 1


def test_a_run_that_keeps_beating_is_never_failed(clock, biller):
    run = bill_run_queue(period=JULY, cycles=[], action=BillRun.Action.SEND, actor=biller)
    runs.claim(BILL_RUN, run.pk)
    for _ in range(4):
        clock.shift(10 * MINUTES)
        runs.beat(BILL_RUN, run.pk)
    assert "No stalled run" in sweep()
    assert BillRun.objects.get(pk=run.pk).status == BillRun.Status.RUNNING


def test_the_heartbeat_reaches_the_row_at_most_every_few_seconds(clock, biller, monkeypatch, django_assert_num_queries):
    run = bill_run_queue(period=JULY, cycles=[], action=BillRun.Action.SEND, actor=biller)
    runs.claim(BILL_RUN, run.pk)
    clock.shift(3 * MINUTES)
    with django_assert_num_queries(0):
        runs.beat(BILL_RUN, run.pk)  # a few seconds after the claim: the cache only
    monkeypatch.setattr(runs, "HEARTBEAT_SECONDS", 0)
    runs.beat(BILL_RUN, run.pk)
    assert BillRun.objects.get(pk=run.pk).heartbeat_at == timezone.now()


def test_a_task_delivered_twice_runs_its_bill_run_once(biller, alice_account):
    add_month(alice_account, JULY, "8")
    run = bill_run_queue(period=JULY, cycles=[], action=BillRun.Action.COMPUTE, actor=biller)
    assert bill_tasks.bill_run_task.call(run_id=run.pk).startswith("2025-07: billed 1 customers")
    assert bill_tasks.bill_run_task.call(run_id=run.pk) is None
    assert BillRun.objects.get(pk=run.pk).status == BillRun.Status.DONE


def test_a_crash_that_is_no_exception_still_fails_the_run(biller, monkeypatch):
    run = bill_run_queue(period=JULY, cycles=[], action=BillRun.Action.COMPUTE, actor=biller)

    def panic(**kwargs):
        raise KeyboardInterrupt("worker stopped")

    monkeypatch.setattr("billing.services.bill_run_compute", panic)
    with pytest.raises(KeyboardInterrupt):
        bill_tasks.bill_run_task.call(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == BillRun.Status.FAILED and "worker stopped" in run.message


def test_the_run_page_retries_a_failed_run_and_the_view_queues_through_the_service(
    biller, client_for, django_capture_on_commit_callbacks
):
    client = client_for(biller)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = client.post(reverse("billing:run_action"), {"period": "2025-07", "cycles": "", "action": "send"})
    run = BillRun.objects.get()
    assert response.url == reverse("billing:run", args=[run.pk]) and len(queued) == 1
    assert client.get(reverse("billing:run", args=[run.pk])).content.decode().count("Retry this") == 0
    runs.fail(BILL_RUN, run.pk, "Nothing changed: the worker was killed")
    page = client.get(reverse("billing:run", args=[run.pk])).content.decode()
    assert "Retry this send" in page
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("billing:run_retry", args=[run.pk]))
    retry = BillRun.objects.exclude(pk=run.pk).get()
    assert response.url == reverse("billing:run", args=[retry.pk])
    assert (retry.status, retry.action, retry.period) == (BillRun.Status.QUEUED, "send", JULY)
    response = client.post(reverse("billing:run_retry", args=[retry.pk]), follow=True)
    assert "Only a failed run is retried" in response.content.decode()


def test_an_import_whose_process_died_is_failed_with_its_task_row(clock, ops):
    run = import_run_create(file_name="march.csv", source="upload", actor=ops)
    assert runs.claim(IMPORT_RUN, run.pk)
    lost = task_row("metering.tasks.import_uploaded_file", run.pk)
    clock.shift(16 * MINUTES)
    assert f"Import #{run.pk}" in sweep()
    assert ImportRun.objects.get(pk=run.pk).status == ImportStatus.FAILED
    assert DBTaskResult.objects.get(pk=lost.pk).status == "FAILED"


def test_a_detection_is_queued_claimed_once_and_failed_when_its_worker_died(clock, ops):
    [run] = detection_queue(methods=["zscore"], actor=ops)
    assert run.state == DetectionRun.State.QUEUED
    assert runs.claim(DETECTION_RUN, run.pk)
    assert detect_anomalies_task.call(run_ids=[run.pk]) == []  # delivered again: not ours any more
    clock.shift(16 * MINUTES)
    assert f"Detection #{run.pk}" in sweep()
    assert DetectionRun.objects.get(pk=run.pk).state == DetectionRun.State.FAILED


def test_a_queued_detection_runs_in_the_task_and_finishes(ops):
    [run] = detection_queue(methods=["zscore"], actor=ops)
    assert detect_anomalies_task.call(run_ids=[run.pk]) == [run.pk]
    run.refresh_from_db()
    assert run.state == DetectionRun.State.FINISHED and run.heartbeat_at is not None


@pytest.mark.django_db(transaction=True)  # outside a transaction, where a retry is safe
def test_a_write_that_finds_the_database_busy_is_tried_again(monkeypatch):
    monkeypatch.setattr(runs.time, "sleep", lambda seconds: None)
    answers = [OperationalError("database is locked"), OperationalError("database is locked"), 1]

    def write():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    assert runs.when_busy(write) == 1 and answers == []
    with pytest.raises(OperationalError, match="no such table"):
        runs.when_busy(lambda: (_ for _ in ()).throw(OperationalError("no such table: x")))


def test_a_busy_database_never_stops_a_run_at_its_heartbeat(biller, monkeypatch):
    run = bill_run_queue(period=JULY, cycles=[], action=BillRun.Action.SEND, actor=biller)
    runs.claim(BILL_RUN, run.pk)
    monkeypatch.setattr(runs, "HEARTBEAT_SECONDS", 0)

    def locked(self, **values):
        raise OperationalError("database is locked")

    monkeypatch.setattr("django.db.models.query.QuerySet.update", locked)
    runs.beat(BILL_RUN, run.pk)  # logged, not raised: the cache holds the beat
    assert runs.last_beat(BILL_RUN, run) is not None


@pytest.fixture
def database_tasks(settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


def test_a_queued_run_whose_task_was_lost_is_failed_and_one_still_waiting_is_not(clock, biller, database_tasks):
    lost = BillRun.objects.create(period=JULY, action=BillRun.Action.COMPUTE, actor_label="test")
    died = BillRun.objects.create(period=JULY, action=BillRun.Action.SEND, actor_label="test")
    waiting = BillRun.objects.create(period=JULY, action=BillRun.Action.ISSUE, actor_label="test")
    task_row("billing.tasks.send_bills_task", died.pk)  # the worker took the row and died before the claim
    DBTaskResult.objects.filter(pk=task_row("billing.tasks.bill_issue_task", waiting.pk).pk).update(status="READY")
    clock.shift(16 * MINUTES)
    assert "Failed 2 stalled run(s)" in sweep()
    states = dict(BillRun.objects.values_list("pk", "status"))
    assert states == {lost.pk: "failed", died.pk: "failed", waiting.pk: "queued"}
    assert "was lost before it started" in BillRun.objects.get(pk=lost.pk).message
    assert DBTaskResult.objects.filter(status="RUNNING").count() == 0


def test_a_dead_detection_s_task_row_is_failed_too(clock, ops):
    [run] = detection_queue(methods=["zscore"], actor=ops)
    runs.claim(DETECTION_RUN, run.pk)
    row = DBTaskResult.objects.create(
        status="RUNNING",
        args_kwargs={"args": [], "kwargs": {"run_ids": [run.pk]}},
        task_path="anomalies.tasks.detect_anomalies_task",
        backend_name="default",
        run_after=timezone.now(),
        started_at=timezone.now(),
    )
    clock.shift(16 * MINUTES)
    sweep()
    assert DBTaskResult.objects.get(pk=row.pk).status == "FAILED"


def test_a_stalled_run_s_page_says_so_and_its_retry_fails_it_first(clock, biller, client_for):
    run = bill_run_queue(period=JULY, cycles=[], action=BillRun.Action.COMPUTE, actor=biller)
    runs.claim(BILL_RUN, run.pk)
    client = client_for(biller)
    assert "No sign of life" not in client.get(reverse("billing:run", args=[run.pk])).content.decode()
    clock.shift(20 * MINUTES)
    page = client.get(reverse("billing:run", args=[run.pk])).content.decode()
    assert "No sign of life for 20 minutes" in page and "Retry this compute drafts" in page
    client.post(reverse("billing:run_retry", args=[run.pk]))
    assert BillRun.objects.get(pk=run.pk).status == BillRun.Status.FAILED
    assert BillRun.objects.filter(status=BillRun.Status.QUEUED).count() == 1
