"""Billing's admin actions on the account: cancel (and reissue) selected bills after a confirmation page
with the reason, and reverse an adjustment by its opposite. Only Billing sees or runs them."""

import datetime
from decimal import Decimal as D

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME

from billing.account import balance_at
from billing.account_admin import adjustment_reverse
from billing.adjustments import adjustment_record
from billing.exceptions import BillingError
from billing.models import Bill, LedgerEntry
from billing.services import bill_run_compute

from .conftest import add_month

BILLS = "/admin/billing/bill/"
LEDGER = "/admin/billing/ledgerentry/"


@pytest.fixture
def july_bill(alice_account):
    add_month(alice_account, datetime.date(2025, 7, 1), "25.5")
    bill_run_compute(period=datetime.date(2025, 7, 1), issue=True, actor_label="test", today=datetime.date(2025, 8, 4))
    return Bill.objects.get()


def test_billing_cancels_and_reissues_selected_bills_after_giving_a_reason(client_for, biller, july_bill):
    client = client_for(biller)
    selection = {"action": "cancel_bills", ACTION_CHECKBOX_NAME: [july_bill.pk]}
    confirm = client.post(BILLS, selection)
    assert confirm.status_code == 200 and "Cancel these 1 bill" in confirm.content.decode()
    assert Bill.objects.get(pk=july_bill.pk).status == "issued"  # nothing yet
    client.post(BILLS, {**selection, "reason": "Meter swapped mid-month", "rebill": "on"})
    july_bill.refresh_from_db()
    assert july_bill.status == "cancelled" and july_bill.cancel_reason == "Meter swapped mid-month"
    assert Bill.objects.get(replaces=july_bill).number == f"{july_bill.number}-R1"


def test_other_roles_are_not_offered_the_cancel_action(client_for, support, july_bill):
    client = client_for(support)
    assert "cancel_bills" not in client.get(BILLS).content.decode()
    client.post(BILLS, {"action": "cancel_bills", ACTION_CHECKBOX_NAME: [july_bill.pk], "reason": "x"})
    assert Bill.objects.get(pk=july_bill.pk).status == "issued"


def test_an_adjustment_is_reversed_once_by_its_opposite(client_for, biller, july_bill):
    entry = adjustment_record(
        customer=july_bill.customer, amount="-20.00", reason="goodwill", note="Oops", actor=biller
    )
    client_for(biller).post(LEDGER, {"action": "reverse_adjustments", ACTION_CHECKBOX_NAME: [entry.pk]})
    reversal = LedgerEntry.objects.get(note__startswith=f"Reverses adjustment #{entry.pk}")
    assert (reversal.amount, reversal.reason) == (D("20.00"), "correction")
    assert balance_at(july_bill.customer, datetime.date.today()) == july_bill.total_amount
    with pytest.raises(BillingError, match="reversed already"):
        adjustment_reverse(entry=entry, actor=biller)
    with pytest.raises(BillingError, match="Only adjustments"):
        adjustment_reverse(entry=LedgerEntry.objects.get(kind="bill"), actor=biller)
