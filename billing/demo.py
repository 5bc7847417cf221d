"""Demo account history for `seed_demo` (never in production), made through the same services as the
pages and commands, month by month as a utility lives it:

- each of the past twelve months is billed and issued on a realistic date (the first weekday from the
  3rd of the following month);
- the late fees due by then are charged first (`late_fees_apply`), so each bill's amount due counts them;
- customers pay through the bank: one payments file per month, imported with `payments_import`; most
  pay the amount due on time, some late (a late fee follows), a few half or nothing (overdue);
- Noah Hernandez's bill of four months ago is corrected: a re-read meter export corrects a day, and the
  bill is cancelled and reissued by `period_rebill` two days after it went out;
- a few accounts get an adjustment (a leak allowance, goodwill, a correction).

Safe to run again: issued periods stay as they are, a bank file's (location, reference) is recorded
once, late fees are charged once, and the correction, the rebill and the adjustments are made once.
"""

import datetime
import io
import random
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from accounts.models import Customer

from .account import balances_as_of
from .adjustments import adjustment_record
from .late_fees import late_fees_apply
from .models import Bill, LedgerEntry, Payment
from .payment_import import payments_import
from .periods import add_months
from .rebilling import period_rebill
from .services import bill_run_compute

MONTHS = 12
ACTOR = "command seed_demo"
NOAH = "101887055"
REBILL_MONTHS_BACK = 4  # Noah's corrected month
REBILL_AFTER_DAYS = 2  # the corrected bill goes out this many days after the original
UNPAID, HALF, LATE = 0.04, 0.08, 0.16  # cumulative shares of bills left unpaid, half paid, paid late
METHODS = [Payment.Method.BANK_TRANSFER, Payment.Method.BANK_TRANSFER, Payment.Method.CARD, Payment.Method.CHECK]
ADJUSTMENTS = [  # (which generated customer, by location order, amount, reason, note)
    (3, "-25.00", "leak_allowance", "Leak allowance: burst irrigation line repaired by a licensed plumber."),
    (11, "-10.00", "goodwill", "Goodwill credit: missed appointment window for a meter check."),
    (17, "4.50", "correction", "Correction: returned check fee."),
]


@dataclass
class DemoFigures:
    issued: int = 0
    payments: int = 0
    late_fees: int = 0
    rebilled: int = 0
    adjustments: int = 0

    def summary(self) -> str:
        return (
            f"{self.issued} issued, {self.payments} payments from bank files, {self.late_fees} late fees, "
            f"{self.rebilled} rebilled, {self.adjustments} adjustments"
        )


def issue_date_for(period: datetime.date) -> datetime.date:
    """The first weekday from the 3rd of the month after the period."""
    return _weekday_from(add_months(period, 1).replace(day=3))


def _weekday_from(day: datetime.date) -> datetime.date:
    while day.weekday() >= 5:
        day += datetime.timedelta(days=1)
    return day


def seed_bills(*, today: datetime.date, recorded_by=None) -> DemoFigures:
    """The past MONTHS periods, oldest first: fees due, the bill run, Noah's correction, the bank file."""
    figures = DemoFigures()
    this_month = today.replace(day=1)
    rebill_period = add_months(this_month, -REBILL_MONTHS_BACK)
    for back in range(MONTHS, 0, -1):
        period = add_months(this_month, -back)
        issue_on = issue_date_for(period)
        if issue_on > today:
            continue
        figures.late_fees += late_fees_apply(
            as_of=issue_on - datetime.timedelta(days=1), actor_label=ACTOR
        ).fees_charged
        figures.issued += bill_run_compute(
            period=period, issue=True, actor_label=ACTOR, issue_date=issue_on, today=today
        ).bills_issued
        if period == rebill_period:
            figures.rebilled += _correct_and_rebill_noah(period, issue_on, today)
        figures.payments += _bank_file(period, issue_on, today)
    figures.adjustments = _adjustments(today, recorded_by)  # before the last fees: a charge may make one due
    figures.late_fees += late_fees_apply(as_of=today, actor_label=ACTOR).fees_charged
    return figures


# --- The bank's payments -------------------------------------------------------------------------------


def _bank_file(period: datetime.date, issue_on: datetime.date, today: datetime.date) -> int:
    """The month's bank file: each customer billed for the period pays the amount due on their bill, by
    the bill's own seeded draw (reruns decide the same), or less when a late payment of an earlier bill
    already covered part of it; rows not dated yet are left for a later run."""
    bills = list(Bill.objects.issued().filter(period=period).values_list("pk", "customer_id", "customer__location_id"))
    as_of = min(_weekday_from(issue_on + datetime.timedelta(days=REBILL_AFTER_DAYS)), today)  # after a rebill
    due = _balances(as_of, [customer_id for _, customer_id, _ in bills])
    by_day = defaultdict(list)
    for bill in bills:
        if plan := _planned_payment(bill, due, issue_on, today):
            by_day[plan[1]].append(plan)
    rows = [row for day, plans in sorted(by_day.items()) for row in _rows_paid_on(day, plans)]
    if not rows:
        return 0
    frame = pd.DataFrame(rows, columns=["location_id", "amount", "paid_on", "method", "reference"])
    report = payments_import(
        source=io.StringIO(frame.to_csv(index=False)),
        file_name=f"bank-{period:%Y-%m}.csv",
        actor_label=ACTOR,
        today=today,
    )
    return report.recorded


def _rows_paid_on(day: datetime.date, plans) -> list[tuple]:
    """The bank file's rows of one day: at most what each customer still owes the day before."""
    owing = _balances(day - datetime.timedelta(days=1), [bill[1] for bill, *_ in plans])
    rows = []
    for (bill_id, customer_id, location_id), _day, amount, method in plans:
        amount = min(amount, owing.get(customer_id, Decimal("0")))
        if amount > 0:
            rows.append((location_id, f"{amount:.2f}", f"{day:%Y-%m-%d}", method, f"DEMO-{bill_id:07d}"))
    return rows


def _balances(on: datetime.date, customer_ids) -> dict:
    return {b.customer_id: b.balance for b in balances_as_of(on, customer_ids=customer_ids)}


def _planned_payment(bill, due: dict, issue_on: datetime.date, today: datetime.date):
    """(bill, paid on, amount, method) by the bill's own draw, or None: unpaid, nothing due, not yet."""
    draw = random.Random(bill[0])
    roll = draw.random()
    amount = due.get(bill[1], Decimal("0"))
    if roll < UNPAID or amount <= 0:
        return None
    if roll < HALF:
        amount = (amount / 2).quantize(Decimal("0.01"))
    if HALF <= roll < LATE:  # after the due date and the grace days: a late fee follows
        paid_on = issue_on + datetime.timedelta(days=21 + 5 + draw.randint(3, 15))
    else:
        paid_on = issue_on + datetime.timedelta(days=draw.randint(3, 18))
    return None if paid_on > today else (bill, paid_on, amount, draw.choice(METHODS))


# --- Noah's corrected month --------------------------------------------------------------------------


def _correct_and_rebill_noah(period: datetime.date, issue_on: datetime.date, today: datetime.date) -> int:
    """A re-read of Noah's meter corrects the 10th of the month; his bill is cancelled and reissued."""
    noah = Customer.objects.filter(location_id=NOAH).first()
    if noah is None or Bill.objects.filter(customer=noah, period=period, replaces__isnull=False).exists():
        return 0
    if not Bill.objects.issued().filter(customer=noah, period=period).exists():
        return 0
    _import_correction(noah, period.replace(day=10))
    rebill_on = min(_weekday_from(issue_on + datetime.timedelta(days=REBILL_AFTER_DAYS)), today)
    report = period_rebill(period=period, location_ids=[NOAH], issue_date=rebill_on, actor_label=ACTOR, today=today)
    return len(report.rebilled)


def _import_correction(customer: Customer, day: datetime.date) -> None:
    from hydrospark.demo.generator import to_export_frame
    from metering.models import MeterRead
    from metering.services import meter_frames_import

    read = MeterRead.objects.filter(customer=customer, read_date=day).first()
    if read is None:
        return
    details = pd.DataFrame(
        [
            {
                f: getattr(customer, f)
                for f in (
                    "location_id",
                    "name",
                    "mailing_address",
                    "customer_type",
                    "cycle_number",
                    "phone",
                    "business_name",
                    "facility_name",
                )
            }
        ]
    )
    corrected = pd.DataFrame(
        {
            "location_id": [customer.location_id],
            "read_date": [pd.Timestamp(day)],
            "usage_ccf": [float(read.usage_ccf + Decimal("1.2500"))],
        }
    )
    frame = to_export_frame(details, corrected)
    meter_frames_import(frames=lambda: [frame], name="Noah Hernandez, meter re-read", actor_label=ACTOR)


# --- Adjustments ---------------------------------------------------------------------------------------


def _adjustments(today: datetime.date, recorded_by) -> int:
    """A few Billing adjustments on generated accounts, once each (the note says which)."""
    customers = list(Customer.objects.exclude(location_id=NOAH).order_by("location_id"))
    made = 0
    for index, amount, reason, note in ADJUSTMENTS if customers else []:
        customer = customers[index % len(customers)]  # a small demo still shows every kind
        entries = LedgerEntry.objects.filter(customer=customer)
        if not entries.exists() or entries.filter(kind=LedgerEntry.Kind.ADJUSTMENT, note=note).exists():
            continue
        adjustment_record(
            customer=customer,
            amount=amount,
            reason=reason,
            note=note,
            entry_date=today - datetime.timedelta(days=12),
            actor=recorded_by,
            actor_label="" if recorded_by else ACTOR,
            today=today,
        )
        made += 1
    return made
