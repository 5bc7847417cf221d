"""Demo bill history for `seed_demo` (never in production): the past twelve months billed and issued,
most bills paid a few days after issue, a few partly paid or left unpaid (overdue), so the portal
and staff pages show real history. Safe to run again: issued periods are left as they are and only
bills without payments get their (deterministic) payment."""

import datetime
import random
from decimal import Decimal

from django.utils import timezone

from accounts.services import audit_record

from .models import Bill, Payment
from .periods import add_months
from .services import bill_run_compute

MONTHS = 12
ISSUE_DAY = 4  # bills go out on the 4th of the following month
UNPAID_SHARE = 0.04
PARTIAL_SHARE = 0.04
ACTOR = "command seed_demo"


def seed_bills(*, today: datetime.date, recorded_by=None) -> tuple[int, int]:
    """Issue the past MONTHS periods (oldest first) and pay most of them. Returns (bills issued, payments)."""
    this_month = today.replace(day=1)
    issued = 0
    for back in range(MONTHS, 0, -1):
        period = add_months(this_month, -back)
        issue_on = add_months(period, 1).replace(day=ISSUE_DAY)
        if issue_on > today:
            continue
        issued += bill_run_compute(period=period, issue=True, actor_label=ACTOR, today=issue_on).bills_issued
    payments = _pay(today, recorded_by)
    return issued, payments


def _pay(today: datetime.date, recorded_by) -> int:
    """Most bills paid in full 3-18 days after issue; a few paid in part or not at all (by the bill's own
    seeded draw, so reruns decide the same). Bills not yet due are paid only when that day has come."""
    unpaid = Bill.objects.issued().filter(payments__isnull=True).select_related("customer").order_by("pk")
    payments = []
    for bill in unpaid:
        draw = random.Random(bill.pk)
        roll = draw.random()
        paid_on = bill.issue_date + datetime.timedelta(days=draw.randint(3, 18))
        if roll < UNPAID_SHARE or paid_on > today:
            continue
        amount = bill.total_amount
        if roll < UNPAID_SHARE + PARTIAL_SHARE:
            amount = (amount / 2).quantize(Decimal("0.01"))
        method = draw.choice([Payment.Method.CARD, Payment.Method.BANK_TRANSFER, Payment.Method.CHECK])
        payments.append(
            Payment(
                bill=bill,
                amount=amount,
                paid_on=paid_on,
                method=method,
                reference=f"DEMO-{bill.pk:06d}",
                recorded_by=recorded_by,
                recorded_at=timezone.now(),
            )
        )
    Payment.objects.bulk_create(payments, batch_size=2_000)
    if payments:
        audit_record(actor_label=ACTOR, action="payment.record", summary=f"Demo history: {len(payments)} payments")
    return len(payments)
