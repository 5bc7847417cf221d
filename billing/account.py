"""Reads of the account (SPEC §2a): balances, open amounts, overdue amounts, the bill statement.

For one customer these load the customer's entries once and apply billing.ledger.settle. For every
customer at once (export_balances, late fees, aging) `balances_as_of` is one grouped query: by the
closed form in billing.ledger, the overdue amount at a date is max(0, charges due before it − credits).
Sums are in integer cents (SQLite stores decimals as REAL).
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Case, DecimalField, F, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Round

from accounts.models import Customer

from .ledger import ZERO, Charge, overdue_amount, settle
from .models import Bill, LedgerEntry

CENTS = Decimal(100)


def _dollars(cents) -> Decimal:
    return (Decimal(int(cents or 0)) / CENTS).quantize(Decimal("0.01"))


def _entries(customer: Customer, on: datetime.date) -> list[LedgerEntry]:
    return list(LedgerEntry.objects.live_on(on).filter(customer=customer).order_by("entry_date", "id"))


def _charges_and_credits(entries) -> tuple[list[Charge], list[Decimal]]:
    charges = [Charge(e.pk, e.due_date or e.entry_date, e.pk, e.amount) for e in entries if e.is_charge]
    credits = [-e.amount for e in entries if e.amount < 0]
    return charges, credits


def balance_at(customer: Customer, on: datetime.date) -> Decimal:
    """The sum of the customer's entries dated on or before `on`: positive is owed, negative a credit."""
    total = LedgerEntry.objects.filter(customer=customer, entry_date__lte=on).aggregate(
        c=Sum(Round(F("amount") * 100))
    )["c"]
    return _dollars(total)


def open_amounts(customer: Customer, as_of: datetime.date) -> list[tuple[LedgerEntry, Decimal]]:
    """Each charge (bill, late fee, debit adjustment) live on `as_of` with what is still open of it,
    in settlement order (due date, then the order made)."""
    entries = _entries(customer, as_of)
    charges, credits = _charges_and_credits(entries)
    opened = settle(charges, credits)
    by_id = {e.pk: e for e in entries}
    return [(by_id[c.key], opened[c.key]) for c in sorted(charges, key=lambda c: (c.due_date, c.seq))]


def overdue_at(customer: Customer, on: datetime.date) -> Decimal:
    """What is still open on `on` of the charges due before it."""
    charges, credits = _charges_and_credits(_entries(customer, on))
    return overdue_amount(charges, credits, on)


@dataclass(frozen=True)
class AccountBalance:
    customer_id: int
    location_id: str
    balance: Decimal
    overdue: Decimal


def balances_as_of(on: datetime.date, customer_ids=None) -> list[AccountBalance]:
    """Balance and overdue amount on `on` of every customer with a ledger entry dated by then, sorted by
    location_id: one grouped query over the ledger."""
    entries = LedgerEntry.objects.filter(entry_date__lte=on)
    if customer_ids is not None:
        entries = entries.filter(customer_id__in=customer_ids)
    cancelled = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CANCELLATION, entry_date__lte=on).values("bill_id")
    whole = DecimalField(max_digits=14, decimal_places=0)
    cents, zero = Round(F("amount") * 100, output_field=whole), Value(Decimal("0"), output_field=whole)
    live = ~Q(kind=LedgerEntry.Kind.CANCELLATION) & ~Q(kind=LedgerEntry.Kind.BILL, bill_id__in=cancelled)
    rows = (
        entries.order_by()
        .values("customer_id", "customer__location_id")
        .annotate(
            balance=Sum(cents),
            # live charges due before the day (their entry dates are before it too) less live credits
            due_before=Sum(
                Case(When(live & Q(amount__gt=0, due_date__lt=on), then=cents), default=zero, output_field=whole)
            ),
            credits=Sum(Case(When(live & Q(amount__lt=0), then=-cents), default=zero, output_field=whole)),
        )
        .order_by("customer__location_id")
    )
    return [
        AccountBalance(
            r["customer_id"],
            r["customer__location_id"],
            _dollars(r["balance"]),
            _dollars(max(0, int(r["due_before"] or 0) - int(r["credits"] or 0))),
        )
        for r in rows
    ]


# --- The bill document's account section -----------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    date: datetime.date
    label: str
    amount: Decimal


@dataclass
class BillStatement:
    """What a bill document shows of the account (SPEC §2a), so that its figures add up on paper:

    opening_balance (the amount due on the previous bill, 0 for the first) + activity (every entry
    since that bill's issue date up to this one's, this bill's own charge aside) + charges = amount_due
    (the balance on this bill's issue date). previous_balance is the balance the day before the issue
    date (SPEC's "previous balance"): the opening balance plus the activity dated before the issue day."""

    previous_balance: Decimal
    activity: list[StatementLine] = field(default_factory=list)
    charges: Decimal = ZERO
    amount_due: Decimal = ZERO
    due_date: datetime.date | None = None
    opening_balance: Decimal = ZERO

    @property
    def activity_total(self) -> Decimal:
        return sum((line.amount for line in self.activity), ZERO)


def _line_label(entry: LedgerEntry) -> str:
    if entry.kind == LedgerEntry.Kind.PAYMENT:
        method = entry.payment.get_method_display() if entry.payment_id else ""
        return f"Payment received, thank you ({method})" if method else "Payment received, thank you"
    if entry.kind == LedgerEntry.Kind.LATE_FEE:
        return f"Late fee on bill {entry.bill.number}" if entry.bill_id else "Late fee"
    if entry.kind == LedgerEntry.Kind.CANCELLATION:
        return f"Bill {entry.bill.number} cancelled" if entry.bill_id else "Bill cancelled"
    if entry.kind == LedgerEntry.Kind.ADJUSTMENT:
        reason = entry.get_reason_display() if entry.reason else "Adjustment"
        return f"{reason}: {entry.note}" if entry.note else reason
    return f"Bill {entry.bill.number}" if entry.bill_id else "Bill"


def _previous_issue_date(bill: Bill) -> datetime.date | None:
    """The issue date of the customer's bill before this one (cancelled bills were statements too)."""
    return (
        Bill.objects.filter(customer_id=bill.customer_id, issue_date__lt=bill.issue_date)
        .exclude(status=Bill.Status.DRAFT)
        .order_by("-issue_date")
        .values_list("issue_date", flat=True)
        .first()
    )


def bill_statement(bill: Bill) -> BillStatement:
    """The account on the bill (see BillStatement). Four small queries; a draft shows only its charges."""
    if not bill.issue_date:
        return BillStatement(ZERO, [], bill.total_amount, bill.total_amount, bill.due_date)
    since = _previous_issue_date(bill)
    entries = (
        LedgerEntry.objects.filter(customer_id=bill.customer_id, entry_date__lte=bill.issue_date)
        .exclude(kind=LedgerEntry.Kind.BILL, bill_id=bill.pk)
        .select_related("payment", "bill")
        .order_by("entry_date", "id")
    )
    if since is not None:
        entries = entries.filter(entry_date__gt=since)
    activity = [StatementLine(e.entry_date, _line_label(e), e.amount) for e in entries]
    return BillStatement(
        previous_balance=balance_at(bill.customer, bill.issue_date - datetime.timedelta(days=1)),
        activity=activity,
        charges=bill.total_amount,
        amount_due=balance_at(bill.customer, bill.issue_date),
        due_date=bill.due_date,
        opening_balance=balance_at(bill.customer, since) if since is not None else ZERO,
    )


def ledger_with_running_balance(customer: Customer, limit: int | None = None) -> list[tuple[LedgerEntry, Decimal]]:
    """The customer's entries oldest first, each with the balance after it (one query)."""
    entries = (
        LedgerEntry.objects.filter(customer=customer)
        .select_related("bill", "payment")
        .annotate(cents=Round(F("amount") * 100, output_field=IntegerField()))
        .order_by("entry_date", "id")
    )
    running, rows = 0, []
    for entry in entries:
        running += int(entry.cents)
        rows.append((entry, _dollars(running)))
    return rows[-limit:] if limit else rows
