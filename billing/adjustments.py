"""Adjustments to a customer's account (SPEC §2a): Billing's credits and charges with a reason code and a
note, recorded as ADJUSTMENT ledger entries and audited. Other apps call `adjustment_record` too (a leak
allowance offered from a reviewed leak incident goes through it).

Signs: a negative amount is a credit (it lowers what the customer owes), a positive one a charge, due on
its own date. A leak allowance and goodwill only ever credit; a correction or a write-off may go either
way (writing off a small unclaimed credit balance is a charge).
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.utils import timezone

from accounts.models import Customer
from accounts.services import audit_record

from .exceptions import BillingError
from .models import AdjustmentReason, LedgerEntry

CREDIT_ONLY = frozenset({AdjustmentReason.LEAK_ALLOWANCE, AdjustmentReason.GOODWILL})
NOTE_MAX = 2_000
LIMIT = Decimal("100000.00")  # a single adjustment above this is a typing mistake, not an allowance


def adjustment_record(
    *,
    customer: Customer,
    amount,
    reason: str,
    note: str,
    entry_date: datetime.date | None = None,
    actor=None,
    actor_label: str = "",
    today: datetime.date | None = None,
) -> LedgerEntry:
    """Record an adjustment: `amount` signed (negative credits the account), dated `entry_date` (today by
    default, never in the future). Refused with BillingError, nothing written, when anything is off."""
    today = today or timezone.localdate()
    entry_date = entry_date or today
    amount = _signed_cents(amount)
    note = _clean_note(note)
    _check(amount=amount, reason=reason, entry_date=entry_date, today=today)
    with transaction.atomic():
        # The customer's row orders this entry with payments recorded at the same moment.
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        entry = LedgerEntry.objects.create(
            customer=customer,
            entry_date=entry_date,
            amount=amount,
            kind=LedgerEntry.Kind.ADJUSTMENT,
            due_date=entry_date if amount > 0 else None,  # a debit adjustment falls due on its own date
            reason=reason,
            note=note,
            created_by=actor if actor is not None and actor.is_authenticated else None,
            actor_label=actor_label or (actor.email if actor is not None and actor.is_authenticated else "system"),
        )
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action="ledger.adjust",
            target=entry,
            customer=customer,
            summary=f"{AdjustmentReason(reason).label} {_money_text(amount)}: {note}"[:500],
            changes={"amount": f"{amount:.2f}", "reason": reason, "entry_date": f"{entry_date:%Y-%m-%d}", "note": note},
        )
    return entry


def _signed_cents(value) -> Decimal:
    try:
        amount = Decimal(str(value).replace(",", "").replace("$", "").strip())
    except InvalidOperation:
        raise BillingError(f"{value!r} is not an amount of money.") from None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        raise BillingError(f"{value} is not an amount in dollars and cents.")
    return amount.quantize(Decimal("0.01"))


def _clean_note(note: str) -> str:
    note = (note or "").strip()
    if not note:
        raise BillingError("Write a note: what the adjustment is for stays on the account for everyone to read.")
    if len(note) > NOTE_MAX:
        raise BillingError(f"Keep the note under {NOTE_MAX:,} characters.")
    return note


def _check(*, amount: Decimal, reason: str, entry_date: datetime.date, today: datetime.date) -> None:
    if reason not in AdjustmentReason.values:
        choices = ", ".join(AdjustmentReason.values)
        raise BillingError(f"Unknown adjustment reason {reason!r}: choose one of {choices}.")
    if amount == 0:
        raise BillingError("An adjustment of $0.00 changes nothing.")
    if abs(amount) > LIMIT:
        raise BillingError(f"An adjustment above ${LIMIT:,.2f} is refused: check the amount.")
    if amount > 0 and reason in CREDIT_ONLY:
        raise BillingError(
            f"A {AdjustmentReason(reason).label.lower()} lowers what the customer owes: enter it as a credit."
        )
    if entry_date > today:
        raise BillingError(f"The adjustment date {entry_date:%Y-%m-%d} is in the future.")


def _money_text(amount: Decimal) -> str:
    return f"credit ${-amount:,.2f}" if amount < 0 else f"charge ${amount:,.2f}"
