"""Background bill runs: what the worker does with a run, and what a failure leaves behind."""

import datetime
from decimal import Decimal

import pytest

from billing import tasks
from billing.models import Bill, BillRun, RateSchedule

from .conftest import add_month

pytestmark = pytest.mark.django_db

JULY = datetime.date(2025, 7, 1)


def queued(action):
    return BillRun.objects.create(period=JULY, cycles=[], action=action, actor_label="test")


def test_a_background_run_computes_the_drafts_and_finishes(alice_account):
    add_month(alice_account, JULY, "25.5")
    run = queued(BillRun.Action.COMPUTE)
    tasks.bill_run_task.call(run.pk)
    run.refresh_from_db()
    assert run.status == BillRun.Status.DONE
    assert Bill.objects.get(customer=alice_account).total_amount == Decimal("109.10")


def test_a_background_issue_issues_the_computed_drafts(alice_account):
    add_month(alice_account, JULY, "25.5")
    tasks.bill_run_task.call(queued(BillRun.Action.COMPUTE).pk)
    run = queued(BillRun.Action.ISSUE)
    assert tasks.bill_issue_task.call(run.pk) == "1 issued"
    assert Bill.objects.get(customer=alice_account).status == Bill.Status.ISSUED


def test_a_background_run_without_a_rate_schedule_fails_with_the_reason(alice_account):
    add_month(alice_account, JULY, "25.5")
    RateSchedule.objects.all().delete()
    run = queued(BillRun.Action.COMPUTE)
    answer = tasks.bill_run_task.call(run.pk)
    run.refresh_from_db()
    assert run.status == BillRun.Status.FAILED
    assert "No rate schedule" in answer
    assert run.message == f"Nothing changed: {answer}"
    assert not Bill.objects.exists()
