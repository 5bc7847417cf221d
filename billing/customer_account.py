"""What a customer sees of their own account (the portal's "what I owe", issue 16): the amount due now with
its due date, the last payment, every entry with the balance after it, and how to pay. Reads only, always
for the one customer given (the portal passes the signed-in customer, so nothing else can be reached).
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote

from django.conf import settings

from accounts.models import Customer

from .account import balance_at, ledger_with_running_balance, open_amounts
from .models import LedgerEntry

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class AmountDue:
    balance: Decimal  # positive: owed; negative: a credit the next bills use
    overdue: Decimal  # open amount of charges due before today
    due_date: datetime.date | None  # when the part not yet overdue is due
    overdue_since: datetime.date | None  # the oldest open charge's due date, when something is overdue
    last_payment: LedgerEntry | None

    @property
    def due_now(self) -> Decimal:
        return max(self.balance, ZERO)

    @property
    def credit(self) -> Decimal:
        return max(-self.balance, ZERO)


def amount_due(customer: Customer, *, today: datetime.date) -> AmountDue:
    """The account today: balance, overdue part, due date, last payment. Two queries."""
    opened = [(entry, left) for entry, left in open_amounts(customer, today) if left > 0]
    balance = _balance(customer, today, opened)
    overdue = [(entry, left) for entry, left in opened if _due(entry) < today]
    upcoming = [_due(entry) for entry, _left in opened if _due(entry) >= today]
    last_payment = (
        LedgerEntry.objects.filter(customer=customer, kind=LedgerEntry.Kind.PAYMENT, entry_date__lte=today)
        .select_related("payment")
        .order_by("-entry_date", "-id")
        .first()
    )
    return AmountDue(
        balance=balance,
        overdue=sum((left for _entry, left in overdue), ZERO),
        due_date=min(upcoming) if upcoming else None,
        overdue_since=min(_due(entry) for entry, _left in overdue) if overdue else None,
        last_payment=last_payment,
    )


def _due(entry: LedgerEntry) -> datetime.date:
    return entry.due_date or entry.entry_date


def _balance(customer, today, opened) -> Decimal:
    """What is owed is what is open; with nothing open the balance is the (possibly credit) sum."""
    if opened:
        return sum((left for _entry, left in opened), ZERO)
    return balance_at(customer, today)


def account_activity(customer: Customer) -> list[tuple[LedgerEntry, Decimal]]:
    """Every entry of the account, newest first, each with the balance after it (one query)."""
    return ledger_with_running_balance(customer)[::-1]


def payment_link(customer: Customer, amount: Decimal) -> str:
    """The payment provider's page for this account and amount (settings.PAYMENT_URL), or "" when unset.
    Plain replacement, not str.format: a provider's URL may hold other braces."""
    template = settings.PAYMENT_URL
    if not template:
        return ""
    return template.replace("{account}", quote(customer.location_id, safe="")).replace(
        "{amount}", f"{max(amount, ZERO):.2f}"
    )


def payment_instructions() -> dict:
    """How to pay besides the link: by check (to the utility's address), in person, by bank transfer."""
    address = [part.strip() for part in settings.UTILITY_ADDRESS.split(";") if part.strip()]
    return {
        "payee": settings.UTILITY_NAME,
        "address": address,
        "in_person": settings.PAYMENT_IN_PERSON,
        "bank_transfer": settings.PAYMENT_BANK_TRANSFER,
        "phone": settings.UTILITY_PHONE,
    }
