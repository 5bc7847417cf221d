"""The daily late-fee run reads only the bills whose grace period ended since the last run (each bill is judged
once, fee or not), so its cost is the day's bills, not the whole history; a fee is still charged once per bill,
and a bill issued late with an old due date is still judged."""

import datetime
from decimal import Decimal as D

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.account_services import payment_record
from billing.late_fees import late_fees_apply
from billing.models import Bill, LedgerEntry
from billing.services import bill_run_compute
from conftest import make_customer

from .conftest import add_month

day = datetime.date
JULY, AUGUST = day(2025, 7, 1), day(2025, 8, 1)
TODAY = day(2025, 12, 1)


@pytest.fixture
def july(alice_account, bob_account, biller):
    """July issued on Aug 4 (due Aug 25, grace to Aug 30, fees on Aug 31): Alice pays in full, Bob does not."""
    for customer in (alice_account, bob_account):
        add_month(customer, JULY, "25.5")  # 109.10 each
    bill_run_compute(period=JULY, issue=True, actor_label="test", today=day(2025, 8, 4))
    payment_record(
        customer=alice_account, amount="109.10", paid_on=day(2025, 8, 20), method="card", actor=biller, today=TODAY
    )
    return {b.customer.location_id: b for b in Bill.objects.select_related("customer")}


def fees():
    return sorted(LedgerEntry.objects.filter(kind="late_fee").values_list("bill__customer__location_id", "amount"))


def test_a_bill_judged_once_is_not_read_again_by_later_runs(july):
    first = late_fees_apply(as_of=day(2025, 8, 31), today=TODAY)
    assert (first.bills_checked, first.fees_charged) == (2, 1)
    assert set(Bill.objects.values_list("late_fee_assessed_on", flat=True)) == {day(2025, 8, 31)}
    for as_of in (day(2025, 9, 1), day(2025, 9, 2), day(2025, 11, 30)):
        assert late_fees_apply(as_of=as_of, today=TODAY).bills_checked == 0  # Alice's paid bill is not re-read
    assert fees() == [("100000002", D("5.46"))]  # 5% of 109.10, once


def test_a_run_before_the_fee_day_judges_nothing(july):
    assert late_fees_apply(as_of=day(2025, 8, 30), today=TODAY).bills_checked == 0
    assert not Bill.objects.filter(late_fee_assessed_on__isnull=False).exists()
    assert late_fees_apply(as_of=day(2025, 9, 3), today=TODAY).fees_charged == 1  # a missed day is caught up


def test_each_run_reads_only_the_bills_not_judged_yet(july, alice_account, bob_account):
    late_fees_apply(as_of=day(2025, 8, 31), today=TODAY)
    for customer in (alice_account, bob_account):
        add_month(customer, AUGUST, "8")
    bill_run_compute(period=AUGUST, issue=True, actor_label="test", today=day(2025, 9, 3))
    with CaptureQueriesContext(connection) as queries:
        report = late_fees_apply(as_of=day(2025, 9, 30), today=TODAY)
    assert report.bills_checked == 2  # August's two; July's are judged
    candidates = next(q["sql"] for q in queries if "late_fee_assessed_on" in q["sql"] and "SELECT" in q["sql"])
    assert "IS NULL" in candidates
    assert Bill.objects.filter(late_fee_assessed_on__isnull=True).count() == 0


def test_a_bill_issued_late_with_a_past_fee_day_is_still_judged_once(july, biller):
    late_fees_apply(as_of=day(2025, 11, 1), today=TODAY)
    carol = make_customer("100000003", "Carol Late")
    add_month(carol, JULY, "10")  # $50.00, issued only on Aug 31: due Sep 21, fee day Sep 27, long past
    bill_run_compute(period=JULY, issue=True, actor_label="test", today=day(2025, 8, 31))
    assert late_fees_apply(as_of=day(2025, 11, 2), today=TODAY).fees_charged == 1
    assert late_fees_apply(as_of=day(2025, 11, 3), today=TODAY).fees_charged == 0
    assert fees() == [("100000002", D("5.46")), ("100000003", D("2.50"))]


def test_a_cancelled_bill_is_never_judged(july):
    Bill.objects.filter(pk=july["100000002"].pk).update(status=Bill.Status.CANCELLED)
    assert late_fees_apply(as_of=day(2025, 9, 1), today=TODAY).bills_checked == 1
    assert fees() == []
