"""Writes to the account (SPEC §2a): bills posted to the ledger, payments, late fees.

Every write is a new LedgerEntry (entries are never changed) and an audit event. Writes for one
customer lock the customer's row (select_for_update) inside one transaction, so a balance checked
before a payment is still the balance when the payment is written.
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Customer
from accounts.services import audit_record
from metering.models import MeterRead

from .exceptions import BillingError
from .models import Bill, LedgerEntry, Payment

CENT = Decimal("0.01")


def _user(actor):
    return actor if actor is not None and getattr(actor, "is_authenticated", False) else None


def _label(actor, actor_label: str) -> str:
    return actor_label or getattr(_user(actor), "email", "")


# --- Bills ----------------------------------------------------------------------------------------------


def ledger_post_bill(*, period: datetime.date, actor=None, actor_label: str = "billing.issue") -> int:
    """Post every issued bill of the period that has no BILL entry yet: its total, dated its issue date,
    due on its due date. One INSERT … SELECT (set-based), idempotent; returns how many were posted."""
    qn = connection.ops.quote_name
    entry, bill = LedgerEntry._meta.db_table, Bill._meta.db_table
    sql = (
        f"INSERT INTO {qn(entry)} (customer_id, entry_date, amount, kind, due_date, bill_id, payment_id, reason, "
        f"note, created_by_id, actor_label, created_at) "
        f"SELECT b.customer_id, b.issue_date, b.total_amount, %s, b.due_date, b.id, NULL, '', '', %s, %s, %s "
        f"FROM {qn(bill)} b WHERE b.period = %s AND b.status = %s AND NOT EXISTS "
        f"(SELECT 1 FROM {qn(entry)} e WHERE e.bill_id = b.id AND e.kind = %s) ORDER BY b.id"
    )
    user = _user(actor)
    params = [
        LedgerEntry.Kind.BILL.value,
        user.pk if user else None,
        _label(actor, actor_label)[:200],
        connection.ops.adapt_datetimefield_value(timezone.now()),
        connection.ops.adapt_datefield_value(period),
        Bill.Status.ISSUED.value,
        LedgerEntry.Kind.BILL.value,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


# --- Payments -------------------------------------------------------------------------------------------


def money(value) -> Decimal:
    """A positive amount of whole cents as Decimal dollars ("1,234.50", "$12" accepted), else BillingError."""
    try:
        amount = Decimal(str(value).replace(",", "").replace("$", "").strip())
    except InvalidOperation:
        raise BillingError(f"{value!r} is not an amount of money.") from None
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise BillingError(f"{value} is not an amount in dollars and cents.")
    if amount <= 0:
        raise BillingError("A payment must be more than $0.00.")
    return amount.quantize(CENT)


def earliest_payment_date(customer: Customer) -> datetime.date:
    """The first day a payment may be dated: the first billed month's first day; before any bill, the
    customer's first read; before any read, the day the account was opened (a prepayment)."""
    first_bill = Bill.objects.filter(customer=customer).order_by("period").values_list("period", flat=True).first()
    if first_bill:
        return first_bill
    first_read = (
        MeterRead.objects.filter(customer=customer).order_by("read_date").values_list("read_date", flat=True).first()
    )
    return first_read or timezone.localdate(customer.created_at)


def account_balance(customer: Customer) -> Decimal:
    """The balance over every entry (entries are never dated in the future), exact in cents."""
    from .account import balance_at

    return balance_at(customer, datetime.date.max)


def payment_check(
    *,
    customer: Customer,
    amount,
    paid_on: datetime.date,
    method: str,
    reference: str = "",
    confirm_credit: bool = False,
    today=None,
) -> Decimal:
    """Refuse (BillingError) a payment that cannot be recorded; returns the amount as Decimal dollars."""
    amount = money(amount)
    today = today or timezone.localdate()
    if method not in Payment.Method.values:
        raise BillingError(f"Unknown payment method {method!r}: use one of {', '.join(Payment.Method.values)}.")
    if paid_on > today:
        raise BillingError(f"The payment date {paid_on:%Y-%m-%d} is in the future.")
    earliest = earliest_payment_date(customer)
    if paid_on < earliest:
        raise BillingError(
            f"The payment date {paid_on:%Y-%m-%d} is before {customer.location_id}'s account starts "
            f"({earliest:%Y-%m-%d})."
        )
    reference = reference.strip()
    if reference and Payment.objects.filter(customer=customer, reference=reference).exists():
        raise BillingError(f"A payment with reference {reference!r} is already recorded for {customer.location_id}.")
    balance = account_balance(customer)
    if amount > balance and not confirm_credit:
        raise BillingError(
            f"${amount:,.2f} is more than the account's balance of ${balance:,.2f}: nothing was recorded. "
            f"Confirm it as a credit of ${amount - max(balance, Decimal('0')):,.2f} to record it."
        )
    return amount


@transaction.atomic
def payment_record(
    *,
    customer: Customer,
    amount,
    paid_on: datetime.date,
    method: str,
    reference: str = "",
    confirm_credit: bool = False,
    actor=None,
    actor_label: str = "",
    today=None,
) -> Payment:
    """Record a payment to the account: refuses more than the balance unless confirmed as a credit.
    The customer's row is locked first, so two payments racing past the balance are checked in turn."""
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    amount = payment_check(
        customer=customer,
        amount=amount,
        paid_on=paid_on,
        method=method,
        reference=reference,
        confirm_credit=confirm_credit,
        today=today,
    )
    user = _user(actor)
    payment = Payment.objects.create(
        customer=customer,
        amount=amount,
        paid_on=paid_on,
        method=method,
        reference=reference.strip(),
        source=Payment.Source.STAFF,
        recorded_by=user,
    )
    LedgerEntry.objects.create(
        customer=customer,
        entry_date=paid_on,
        amount=-amount,
        kind=LedgerEntry.Kind.PAYMENT,
        payment=payment,
        created_by=user,
        actor_label=_label(actor, actor_label),
    )
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="payment.record",
        target=payment,
        customer=customer,
        summary=f"Payment of ${amount:,.2f} ({payment.get_method_display()}) from {customer.location_id}",
        changes={
            "amount": str(amount),
            "paid_on": f"{paid_on:%Y-%m-%d}",
            "method": method,
            "reference": payment.reference,
            "credit_confirmed": confirm_credit,
        },
    )
    return payment
