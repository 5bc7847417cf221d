"""Staff test helpers: bills and payments written directly (the billing services have their own tests),
a clean cache per test (analytics snapshots live there) and fast password hashing."""

import datetime
from decimal import Decimal

import pytest
from django.core.cache import cache

from billing.models import Bill, LedgerEntry, Payment, RateSchedule


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def make_bill(customer, period: datetime.date, total, *, issued=True, due_date=None, usage="10") -> Bill:
    """A bill of `total` dollars for the month starting `period` (issued, due 21 days after the
    period's end unless `due_date` says otherwise), posted to the account when issued."""
    total = Decimal(str(total))
    issue_date = (period.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    bill = Bill.objects.create(
        customer=customer,
        period=period,
        status=Bill.Status.ISSUED if issued else Bill.Status.DRAFT,
        number=f"B{period:%Y%m}-{customer.pk:05d}" if issued else None,
        issue_date=issue_date if issued else None,
        due_date=(due_date or issue_date + datetime.timedelta(days=21)) if issued else None,
        usage_ccf=Decimal(usage),
        days_read=28,
        days_in_period=28,
        usage_charge=total - Decimal("20.00"),
        fees=Decimal("20.00"),
        total_amount=total,
        rate_schedule=RateSchedule.objects.order_by("effective_from").first(),
    )
    if issued:
        LedgerEntry.objects.create(
            customer=customer, entry_date=issue_date, amount=total, kind=LedgerEntry.Kind.BILL,
            due_date=bill.due_date, bill=bill, actor_label="test",
        )
    return bill


def make_payment(bill: Bill, amount, paid_on: datetime.date, **fields) -> Payment:
    """A payment to the bill's customer's account (it settles the oldest charges first, SPEC §2a)."""
    payment = Payment.objects.create(
        customer=bill.customer, amount=Decimal(str(amount)), paid_on=paid_on, method=Payment.Method.CARD, **fields
    )
    LedgerEntry.objects.create(
        customer=bill.customer, entry_date=paid_on, amount=-payment.amount, kind=LedgerEntry.Kind.PAYMENT,
        payment=payment, actor_label="test",
    )
    return payment
