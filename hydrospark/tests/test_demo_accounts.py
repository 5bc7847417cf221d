"""The demo's accounts (issue 12 item 9): months issued on realistic dates, paid mostly through bank files,
some late with fees, a few adjustments, and Noah's month cancelled and rebilled; all of it once."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from billing.account import balance_at
from billing.demo import issue_date_for
from billing.models import Bill, LedgerEntry, Payment

pytestmark = pytest.mark.django_db


def ledger_snapshot():
    return list(LedgerEntry.objects.order_by("id").values_list("customer_id", "kind", "amount", "entry_date"))


def test_the_demo_accounts_look_lived_in_and_a_rerun_adds_nothing(settings):
    settings.DEBUG = True
    call_command("seed_demo", customers=12)
    issued = Bill.objects.exclude(status="draft")
    assert issued.exists() and all(b.issue_date == issue_date_for(b.period) for b in issued.filter(replaces=None))
    assert all(b.issue_date.weekday() < 5 for b in issued)
    payments = Payment.objects.all()
    assert payments.count() > issued.count() * 0.7
    assert set(payments.values_list("source", flat=True)) == {"bank_file"}
    assert LedgerEntry.objects.filter(kind="late_fee").exists()
    assert set(LedgerEntry.objects.filter(kind="adjustment").values_list("reason", flat=True)) == {
        "leak_allowance",
        "goodwill",
        "correction",
    }
    noah_bills = Bill.objects.filter(customer__location_id="101887055")
    cancelled = noah_bills.get(status="cancelled")
    corrected = noah_bills.get(replaces=cancelled)
    assert corrected.number == f"{cancelled.number}-R1" and corrected.usage_ccf == cancelled.usage_ccf + Decimal("1.25")
    assert corrected.rate_schedule == cancelled.rate_schedule
    noah = cancelled.customer
    # Noah paid the corrected amount: the cancellation and the corrected bill net out in his balance
    assert balance_at(noah, corrected.issue_date) - balance_at(noah, cancelled.issue_date) == (
        corrected.total_amount - cancelled.total_amount
    )
    before = ledger_snapshot()
    call_command("seed_demo", customers=12)
    assert ledger_snapshot() == before
