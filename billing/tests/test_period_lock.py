"""The period lock under real concurrency (issues 11.2 and 11.6), on PostgreSQL and MariaDB, where runs truly
overlap (DATABASE_URL=postgres://… or mysql://…); SQLite's IMMEDIATE transactions already serialise writers.

- a meter import that corrects a month waits for a bill run of that month, then reports the bills it issued;
- three `--issue` runs of a new month started at once never deadlock and number every bill once;
- a run that cannot have the period in time is refused, "another run holds this period", exit 2."""

import datetime
import threading
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections, transaction

from billing.models import Bill
from billing.period_lock import lock_period
from billing.services import bill_run_compute
from conftest import make_customer
from metering.services import meter_file_import
from metering.tests.conftest import export_text, row

from .conftest import add_month

JULY = datetime.date(2025, 7, 1)
AUGUST_5 = datetime.date(2025, 8, 5)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor == "sqlite",
        reason="needs PostgreSQL or MariaDB (DATABASE_URL=…): SQLite serialises writers on its own",
    ),
]


def _in_threads(*targets):
    errors = []

    def wrap(target):
        try:
            target()
        except Exception as error:  # reported to the test
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=wrap, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def test_a_correction_imported_during_a_bill_run_of_its_month_is_reported(tmp_path):
    customer = make_customer("300000001", "Ada Lovelace", cycle_number=3)
    add_month(customer, JULY, "31")  # 1 CCF a day
    path = tmp_path / "corrections.csv"
    path.write_text(export_text([row(day=datetime.date(2025, 7, 10), usage="9.00")]))
    pricing, imported = threading.Event(), {}

    def slow_progress(fraction, message):
        if not pricing.is_set():  # inside the run's transaction, period locked: give the import its chance
            pricing.set()
            time.sleep(2)

    def bill_run():
        bill_run_compute(period=JULY, issue=True, actor_label="thread", today=AUGUST_5, progress=slow_progress)

    def import_corrections():
        assert pricing.wait(30)
        imported["run"] = meter_file_import(path=path, actor_label="thread")

    assert _in_threads(bill_run, import_corrections) == []
    run = imported["run"]
    assert (run.status, run.reads_corrected) == ("done", 1), run.error
    bill = Bill.objects.get(customer=customer, period=JULY)
    assert [c["bill_number"] for c in run.issued_bill_corrections] == [bill.number]
    assert run.issued_bill_corrections[0]["read_date"] == "2025-07-10"


def test_three_issue_runs_of_a_new_month_at_once_never_deadlock():
    for i in range(30):
        add_month(make_customer(f"7000{i:04d}", f"Customer {i}"), JULY, "12")
    barrier = threading.Barrier(3)

    def run():
        barrier.wait()
        bill_run_compute(period=JULY, issue=True, actor_label="thread", today=AUGUST_5)

    assert _in_threads(run, run, run) == []
    numbers = list(Bill.objects.filter(period=JULY).values_list("number", flat=True))
    assert len(numbers) == 30 and len(set(numbers)) == 30 and None not in numbers


def test_a_run_that_cannot_have_the_period_in_time_is_refused_with_exit_2(settings):
    settings.BILLING_PERIOD_LOCK_WAIT_SECONDS = 1
    held, release = threading.Event(), threading.Event()

    def holder():
        with transaction.atomic():
            lock_period(JULY)
            held.set()
            release.wait(30)

    thread = threading.Thread(target=lambda: (holder(), connections.close_all()))
    thread.start()
    try:
        assert held.wait(30)
        with pytest.raises(CommandError) as refused:
            call_command("run_billing", "--period", "2025-07")
    finally:
        release.set()
        thread.join(30)
    assert refused.value.returncode == 2
    assert "Another run holds 2025-07" in str(refused.value) and "Nothing changed" in str(refused.value)
