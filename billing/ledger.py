"""The account's rules (SPEC §2a) as pure functions: no database, plain data in and out.

Settlement, the one rule every open amount, payment status, overdue figure and late fee follows:
at a date, take the customer's entries dated on or before it (a bill cancelled by then drops out
together with its cancellation entry). All credits together (payments, credit adjustments) settle
the charges (bills, late fees, debit adjustments) in the order they fall due, ties in the order they
were made; a credit larger than the charges is held, and settles the next charge as it comes. So:

    open(charge i) = min(amount_i, max(0, cumulative_i − credits))

where cumulative_i is the sum of the charges up to and including i in that order. The SQL annotation
(Bill.objects.with_payment_status) and the set-based numpy paths (billing.account) compute this same
closed form; tests hold them to settle() on random ledgers.
"""

import datetime
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Charge:
    """Something owed: `key` names it for the caller (a ledger entry id, a bill)."""

    key: Hashable
    due_date: datetime.date
    seq: int  # the order it was made (the ledger entry id): breaks ties between equal due dates
    amount: Decimal


def settle(charges: Iterable[Charge], credits: Iterable[Decimal]) -> dict[Hashable, Decimal]:
    """{charge key: open amount} after the credits (positive amounts) settle the charges oldest due first."""
    pool = sum((Decimal(c) for c in credits), ZERO)
    open_amounts = {}
    for charge in sorted(charges, key=lambda c: (c.due_date, c.seq)):
        applied = min(pool, charge.amount)
        pool -= applied
        open_amounts[charge.key] = charge.amount - applied
    return open_amounts


def unused_credit(charges: Iterable[Charge], credits: Iterable[Decimal]) -> Decimal:
    """The credit left after settling every charge (what the account holds in the customer's favour)."""
    return max(ZERO, sum((Decimal(c) for c in credits), ZERO) - sum((c.amount for c in charges), ZERO))


def overdue_amount(charges: Iterable[Charge], credits: Iterable[Decimal], on: datetime.date) -> Decimal:
    """What is still open of the charges due before `on` (SPEC §2a's overdue amount)."""
    charges = list(charges)
    open_amounts = settle(charges, credits)
    return sum((open_amounts[c.key] for c in charges if c.due_date < on), ZERO)


def late_fee_amount(open_amount: Decimal, percent: Decimal) -> Decimal:
    """SPEC §2a: percent of the open amount, rounded half up to the cent (0 when nothing is open)."""
    if open_amount <= 0 or percent <= 0:
        return ZERO
    return (Decimal(open_amount) * Decimal(percent) / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def late_fee_cents(open_cents: int, percent_hundredths: int) -> int:
    """late_fee_amount in integers: open in cents, percent in hundredths (5.00 % → 500), half up."""
    if open_cents <= 0 or percent_hundredths <= 0:
        return 0
    return (open_cents * percent_hundredths + 5_000) // 10_000


def late_fee_date(due_date: datetime.date, grace_days: int) -> datetime.date:
    """The day a late fee is charged: the day after the grace period's last day."""
    return due_date + datetime.timedelta(days=grace_days + 1)
