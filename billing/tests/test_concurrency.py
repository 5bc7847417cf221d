"""Two bill runs of the same period at once never duplicate a bill (proved on PostgreSQL, where the
runs truly overlap; SQLite serialises writers and MariaDB is covered by the same row lock)."""

import datetime
import threading

import pytest
from django.db import connection, connections

from billing.models import Bill, BillRun
from billing.services import bill_run_compute, bill_run_issue
from conftest import make_customer

from .conftest import add_month

JULY = datetime.date(2025, 7, 1)

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the root conftest puts the migrated default rates back
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the concurrency proof runs on PostgreSQL (DATABASE_URL=postgres://…); SQLite serialises writers",
    ),
]


def _in_threads(*targets):
    barrier = threading.Barrier(len(targets))
    errors = []

    def wrap(target):
        try:
            barrier.wait()
            target()
        except Exception as error:  # reported to the test below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=wrap, args=(t,)) for t in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_two_runs_of_the_same_period_at_once_make_one_bill_per_customer():
    for i in range(40):
        add_month(make_customer(f"5000{i:04d}", f"Customer {i}", cycle_number=1 + i % 3), JULY, str(5 + i))

    def run():
        bill_run_compute(period=JULY, actor_label="thread", today=datetime.date(2025, 8, 5))

    assert _in_threads(run, run, run) == []
    assert Bill.objects.count() == 40
    assert BillRun.objects.filter(status="done").count() == 3


def test_a_run_and_an_issue_at_once_leave_every_bill_once_and_numbered_once():
    for i in range(30):
        add_month(make_customer(f"6000{i:04d}", f"Customer {i}"), JULY, "7")
    bill_run_compute(period=JULY, actor_label="setup", today=datetime.date(2025, 8, 5))

    def rerun():
        bill_run_compute(period=JULY, actor_label="thread", today=datetime.date(2025, 8, 5))

    def issue():
        bill_run_issue(period=JULY, actor_label="thread", today=datetime.date(2025, 8, 5))

    assert _in_threads(rerun, issue, issue) == []
    numbers = list(Bill.objects.values_list("number", flat=True))
    assert len(numbers) == 30 and len(set(numbers)) == 30 and None not in numbers
