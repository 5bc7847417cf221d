"""Payments and the derived payment status (SPEC §2)."""

import datetime
from decimal import Decimal as D

import pytest
import time_machine

from billing.exceptions import BillingError
from billing.models import Bill, Payment, PaymentStatus
from billing.selectors import bills_by_payment_status, customer_open_balance
from billing.services import bill_run_compute, payment_record

from .conftest import add_month

JULY = datetime.date(2025, 7, 1)
ISSUED_ON = datetime.date(2025, 8, 4)  # due 2025-08-25


@pytest.fixture
def bill(alice_account):
    add_month(alice_account, JULY, "25.5")  # 109.10
    bill_run_compute(period=JULY, issue=True, actor_label="test", today=ISSUED_ON)
    return Bill.objects.get()


def pay(bill, amount, actor, day=datetime.date(2025, 8, 10)):
    return payment_record(
        bill=bill, amount=amount, paid_on=day, method="card", actor=actor, today=ISSUED_ON + datetime.timedelta(days=10)
    )


def status(bill, today):
    annotated = Bill.objects.with_payment_status(today).get(pk=bill.pk)
    assert annotated.payment_status == Bill.objects.get(pk=bill.pk).payment_status_for(today)
    return annotated.payment_status


def test_an_issued_bill_starts_unpaid(bill):
    assert status(bill, ISSUED_ON) == PaymentStatus.UNPAID


def test_part_of_the_total_makes_it_partially_paid(bill, biller):
    pay(bill, "50.00", biller)
    assert status(bill, ISSUED_ON) == PaymentStatus.PARTIALLY_PAID
    assert Bill.objects.get().open_balance() == D("59.10")


def test_payments_adding_up_to_the_total_make_it_paid_exactly(bill, biller):
    for amount in ("36.37", "36.37", "36.36"):
        pay(bill, amount, biller)
    assert status(bill, datetime.date(2026, 1, 1)) == PaymentStatus.PAID
    assert Bill.objects.get().open_balance() == D("0.00")


def test_an_open_balance_after_the_due_date_is_overdue(bill, biller):
    assert status(bill, datetime.date(2025, 8, 25)) == PaymentStatus.UNPAID  # the due date itself is on time
    assert status(bill, datetime.date(2025, 8, 26)) == PaymentStatus.OVERDUE
    pay(bill, "100.00", biller)
    assert status(bill, datetime.date(2025, 8, 26)) == PaymentStatus.OVERDUE


def test_overdue_follows_the_clock(bill):
    with time_machine.travel(datetime.datetime(2025, 9, 1, 12, tzinfo=datetime.UTC)):
        assert Bill.objects.get().payment_status_for() == PaymentStatus.OVERDUE
        assert bills_by_payment_status()["overdue"] == 1


def test_a_payment_above_the_open_balance_is_refused_with_the_figures(bill, biller):
    pay(bill, "100.00", biller)
    with pytest.raises(BillingError, match=r"\$9\.11 is more than the open balance of \$9\.10"):
        pay(bill, "9.11", biller)
    assert Payment.objects.count() == 1


def test_zero_negative_and_sub_cent_payments_are_refused(bill, biller):
    for amount in ("0", "-5", "1.005", "abc"):
        with pytest.raises(BillingError):
            pay(bill, amount, biller)
    assert not Payment.objects.exists()


def test_a_payment_dated_in_the_future_is_refused(bill, biller):
    with pytest.raises(BillingError, match="future"):
        pay(bill, "5", biller, day=datetime.date(2030, 1, 1))


def test_drafts_take_no_payment(alice_account, biller):
    add_month(alice_account, JULY, "5")
    bill_run_compute(period=JULY, actor_label="test", today=ISSUED_ON)
    with pytest.raises(BillingError, match="draft"):
        pay(Bill.objects.get(), "5", biller)


def test_payments_are_audited_with_who_recorded_them(bill, biller):
    from accounts.models import AuditEvent

    payment = pay(bill, "10.00", biller)
    assert payment.recorded_by == biller
    event = AuditEvent.objects.get(action="payment.record")
    assert (event.actor, event.customer_id) == (biller, bill.customer_id)


def test_the_customer_open_balance_sums_their_issued_bills(bill, biller):
    pay(bill, "9.10", biller)
    assert customer_open_balance(bill.customer) == D("100.00")
