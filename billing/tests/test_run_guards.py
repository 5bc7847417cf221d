"""Guards of the bill run that the suite let go (issue 10, "wrong code the suite lets pass"): each test here
fails when its guard is removed (issue_rows' draft guard, stale drafts, usage to 4 decimals, the migrated
default rates, bill_run_compute's transaction)."""

import datetime
from decimal import Decimal as D

import pytest
from django.utils import timezone

from billing import engine
from billing.exceptions import BillingError
from billing.models import Bill, BillRun, FeeCode, RateSchedule
from billing.services import bill_run_compute, bill_run_issue
from metering.models import MeterRead

from .conftest import add_month, add_reads

pytestmark = pytest.mark.django_db

JULY = datetime.date(2025, 7, 1)
AUGUST_5 = datetime.date(2025, 8, 5)


def run(period, **options):
    return bill_run_compute(period=period, actor_label="test", today=AUGUST_5, **options)


def test_issuing_rows_never_renumbers_or_redates_an_issued_bill(alice_account):
    add_month(alice_account, JULY, "8")
    run(JULY)
    bill_run_issue(period=JULY, actor_label="test", today=AUGUST_5)
    issued = Bill.objects.get()
    engine.issue_rows(
        [("HS-202507-999999", issued.pk)],
        issue_date=datetime.date(2025, 9, 1),
        due_date=datetime.date(2025, 9, 22),
        now=timezone.now(),
    )
    again = Bill.objects.get()
    assert (again.number, again.issue_date, again.due_date) == (issued.number, issued.issue_date, issued.due_date)


def test_a_draft_whose_customer_has_no_reads_any_more_is_removed_on_the_rerun(alice_account, bob_account):
    add_month(alice_account, JULY, "8")
    add_month(bob_account, JULY, "9")
    run(JULY)
    MeterRead.objects.filter(customer=bob_account).delete()  # e.g. reads of the wrong location, taken back
    figures = run(JULY)
    assert list(Bill.objects.values_list("customer", flat=True)) == [alice_account.pk]
    assert figures.drafts_removed == 1 and figures.customers_without_reads == 1


def test_usage_is_priced_to_its_fourth_decimal(alice_account):
    # 0.6684 CCF in July: 0.6684 × 2.50 × 1.2 = 2.00520 -> $2.01; cut to 0.668 it would be 2.004 -> $2.00.
    add_reads(alice_account, JULY, ["0.6684"])
    run(JULY)
    bill = Bill.objects.get()
    assert (bill.usage_ccf, bill.usage_charge, bill.total_amount) == (D("0.6684"), D("2.01"), D("22.01"))


def test_the_migrated_default_schedule_is_spec_s_every_month():
    schedule = RateSchedule.objects.get(customer_type="", effective_from=datetime.date(2000, 1, 1))
    tiers = [(t.up_to, t.rate) for t in schedule.tiers.all()]
    assert tiers == [(D("10"), D("2.50")), (D("20"), D("3.00")), (None, D("3.50"))]
    stored = dict(schedule.multipliers.values_list("month", "multiplier"))
    every_month = {month: stored.get(month, D("1")) for month in range(1, 13)}
    summer, winter = {6, 7, 8}, {12, 1, 2}
    assert every_month == {m: D("1.2") if m in summer else D("0.9") if m in winter else D("1") for m in range(1, 13)}
    fees = {fee.code: fee.amount for fee in schedule.fees.all()}
    assert fees == {FeeCode.BASE: D("15.00"), FeeCode.INFRASTRUCTURE: D("5.00")}


@pytest.mark.parametrize(
    ("month", "total"),
    [(1, "38.00"), (2, "38.00"), (3, "40.00"), (5, "40.00"), (6, "44.00"), (8, "44.00"), (9, "40.00"), (12, "38.00")],
)
def test_8_ccf_is_billed_with_the_month_s_multiplier(alice_account, month, total):
    period = datetime.date(2024, month, 1)
    add_month(alice_account, period, "8")
    bill_run_compute(period=period, actor_label="test", today=datetime.date(2025, 8, 5))
    assert Bill.objects.get().total_amount == D(total)


def test_a_run_that_fails_midway_leaves_no_bill_and_no_run(alice_account, bob_account, monkeypatch):
    add_month(alice_account, JULY, "8")
    add_month(bob_account, JULY, "9")

    def refuse(**kwargs):
        raise BillingError("the numbering failed")

    monkeypatch.setattr("billing.services._issue", refuse)  # after the drafts were written
    with pytest.raises(BillingError):
        run(JULY, issue=True)
    assert not Bill.objects.exists() and not BillRun.objects.exists()
