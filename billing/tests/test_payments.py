"""Payments to the account and the payment status each bill derives from the ledger (SPEC §2, §2a)."""

import datetime
from decimal import Decimal as D

import pytest
import time_machine

from accounts.models import AuditEvent
from billing.account import balance_at
from billing.exceptions import BillingError
from billing.models import Bill, LedgerEntry, Payment, PaymentStatus
from billing.selectors import bills_by_payment_status, customer_open_balance
from billing.services import bill_run_compute, payment_record

from .conftest import add_month

JULY = datetime.date(2025, 7, 1)
ISSUED_ON = datetime.date(2025, 8, 4)  # due 2025-08-25
TODAY = ISSUED_ON + datetime.timedelta(days=10)


@pytest.fixture
def bill(alice_account):
    add_month(alice_account, JULY, "25.5")  # 109.10
    bill_run_compute(period=JULY, issue=True, actor_label="test", today=ISSUED_ON)
    return Bill.objects.get()


def pay(customer, amount, actor, day=datetime.date(2025, 8, 10), **options):
    return payment_record(
        customer=customer, amount=amount, paid_on=day, method="card", actor=actor, today=TODAY, **options
    )


def status(bill, today):
    annotated = Bill.objects.with_payment_status(today).get(pk=bill.pk)
    assert annotated.payment_status == Bill.objects.get(pk=bill.pk).payment_status_for(today)
    return annotated.payment_status


def test_issuing_posts_the_bill_to_the_account_dated_its_issue_date(bill):
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.amount, entry.entry_date, entry.due_date, entry.bill) == (
        "bill", D("109.10"), ISSUED_ON, bill.due_date, bill
    )
    assert balance_at(bill.customer, ISSUED_ON - datetime.timedelta(days=1)) == D("0.00")
    assert balance_at(bill.customer, ISSUED_ON) == D("109.10")


def test_an_issued_bill_starts_unpaid(bill):
    assert status(bill, ISSUED_ON) == PaymentStatus.UNPAID


def test_part_of_the_total_makes_it_partially_paid(bill, biller):
    pay(bill.customer, "50.00", biller)
    assert status(bill, TODAY) == PaymentStatus.PARTIALLY_PAID
    assert Bill.objects.get().open_balance(TODAY) == D("59.10")


def test_a_payment_counts_from_the_day_it_was_paid(bill, biller):
    pay(bill.customer, "50.00", biller)
    assert Bill.objects.get().open_balance(datetime.date(2025, 8, 9)) == D("109.10")
    assert Bill.objects.get().open_balance(datetime.date(2025, 8, 10)) == D("59.10")


def test_payments_adding_up_to_the_total_make_it_paid_exactly(bill, biller):
    for amount in ("36.37", "36.37", "36.36"):
        pay(bill.customer, amount, biller)
    assert status(bill, datetime.date(2026, 1, 1)) == PaymentStatus.PAID
    assert Bill.objects.get().open_balance() == D("0.00")
    assert balance_at(bill.customer, TODAY) == D("0.00")


def test_an_open_balance_after_the_due_date_is_overdue(bill, biller):
    assert status(bill, datetime.date(2025, 8, 25)) == PaymentStatus.UNPAID  # the due date itself is on time
    assert status(bill, datetime.date(2025, 8, 26)) == PaymentStatus.OVERDUE
    pay(bill.customer, "100.00", biller)
    assert status(bill, datetime.date(2025, 8, 26)) == PaymentStatus.OVERDUE


def test_overdue_follows_the_clock(bill):
    with time_machine.travel(datetime.datetime(2025, 9, 1, 12, tzinfo=datetime.UTC)):
        assert Bill.objects.get().payment_status_for() == PaymentStatus.OVERDUE
        assert bills_by_payment_status()["overdue"] == 1


def test_a_payment_above_the_balance_is_refused_with_the_figures(bill, biller):
    pay(bill.customer, "100.00", biller)
    with pytest.raises(BillingError, match=r"\$9\.11 is more than the account's balance of \$9\.10"):
        pay(bill.customer, "9.11", biller)
    assert Payment.objects.count() == 1


def test_a_payment_above_the_balance_confirmed_as_a_credit_is_recorded(bill, biller):
    pay(bill.customer, "120.00", biller, confirm_credit=True)
    assert balance_at(bill.customer, TODAY) == D("-10.90")
    assert status(bill, TODAY) == PaymentStatus.PAID
    assert AuditEvent.objects.get(action="payment.record").changes["credit_confirmed"] is True


def test_zero_negative_and_sub_cent_payments_are_refused(bill, biller):
    for amount in ("0", "-5", "1.005", "abc", "NaN"):
        with pytest.raises(BillingError):
            pay(bill.customer, amount, biller)
    assert not Payment.objects.exists()


def test_a_payment_dated_in_the_future_is_refused(bill, biller):
    with pytest.raises(BillingError, match="future"):
        pay(bill.customer, "5", biller, day=datetime.date(2030, 1, 1))


def test_a_payment_dated_before_the_account_starts_is_refused(bill, biller):
    """Issue 10 item 15: 1900-01-01 on a bill issued this month."""
    with pytest.raises(BillingError, match="before 100000001's account starts \\(2025-07-01\\)"):
        pay(bill.customer, "5", biller, day=datetime.date(1900, 1, 1))
    pay(bill.customer, "5", biller, day=JULY)


def test_a_reference_already_recorded_for_the_customer_is_refused(bill, biller):
    pay(bill.customer, "5", biller, reference="CHK 881")
    with pytest.raises(BillingError, match="already recorded"):
        pay(bill.customer, "5", biller, reference="CHK 881")
    assert Payment.objects.count() == 1


def test_unknown_methods_are_refused(bill, biller):
    with pytest.raises(BillingError, match="Unknown payment method"):
        payment_record(customer=bill.customer, amount="5", paid_on=TODAY, method="bitcoin", actor=biller, today=TODAY)


def test_payments_are_audited_with_who_recorded_them(bill, biller):
    payment = pay(bill.customer, "10.00", biller)
    assert payment.recorded_by == biller and payment.source == Payment.Source.STAFF
    assert payment.ledger_entry.amount == D("-10.00") and payment.ledger_entry.created_by == biller
    event = AuditEvent.objects.get(action="payment.record")
    assert (event.actor, event.customer_id) == (biller, bill.customer_id)


def test_the_customer_open_balance_is_the_account_balance(bill, biller):
    pay(bill.customer, "9.10", biller)
    assert customer_open_balance(bill.customer) == D("100.00")
