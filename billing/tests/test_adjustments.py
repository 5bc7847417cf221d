"""Adjustments (SPEC §2a): Billing credits or charges an account with a reason code and a note, audited;
credits settle the oldest open charges; only Billing may record one, cancel or rebill (SPEC §5)."""

import datetime
from decimal import Decimal as D

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from billing.account import balance_at, open_amounts
from billing.adjustments import adjustment_record
from billing.exceptions import BillingError
from billing.models import Bill, LedgerEntry
from billing.services import bill_run_compute

from .conftest import add_month

JULY = datetime.date(2025, 7, 1)
TODAY = datetime.date(2025, 9, 1)


@pytest.fixture
def july_bill(alice_account):
    add_month(alice_account, JULY, "25.5")  # $109.10
    bill_run_compute(period=JULY, issue=True, actor_label="test", today=datetime.date(2025, 8, 4))
    return Bill.objects.get()


def test_a_leak_allowance_credits_the_account_and_is_audited(july_bill, biller):
    entry = adjustment_record(
        customer=july_bill.customer,
        amount="-30.00",
        reason="leak_allowance",
        note="Toilet flapper, fixed 8/20",
        actor=biller,
        today=TODAY,
    )
    assert (entry.kind, entry.amount, entry.entry_date, entry.created_by) == ("adjustment", D("-30.00"), TODAY, biller)
    assert balance_at(july_bill.customer, TODAY) == D("79.10")
    assert [left for _entry, left in open_amounts(july_bill.customer, TODAY)] == [D("79.10")]
    event = AuditEvent.objects.get(action="ledger.adjust")
    assert event.customer == july_bill.customer and event.changes["reason"] == "leak_allowance"


def test_a_debit_correction_is_a_charge_due_on_its_date(july_bill, biller):
    entry = adjustment_record(
        customer=july_bill.customer,
        amount="12.50",
        reason="correction",
        note="Meter fee missed",
        actor=biller,
        entry_date=datetime.date(2025, 8, 20),
        today=TODAY,
    )
    assert entry.due_date == datetime.date(2025, 8, 20) and entry.is_charge
    assert balance_at(july_bill.customer, TODAY) == D("121.60")


@pytest.mark.parametrize(
    "amount, reason, note, on, message",
    [
        ("0", "goodwill", "x", TODAY, "changes nothing"),
        ("-1.005", "goodwill", "x", TODAY, "dollars and cents"),
        ("abc", "goodwill", "x", TODAY, "not an amount"),
        ("10.00", "goodwill", "x", TODAY, "enter it as a credit"),
        ("10.00", "leak_allowance", "x", TODAY, "enter it as a credit"),
        ("-10.00", "bribe", "x", TODAY, "Unknown adjustment reason"),
        ("-10.00", "goodwill", "  ", TODAY, "Write a note"),
        ("-10.00", "goodwill", "x", TODAY + datetime.timedelta(days=1), "in the future"),
        ("-100000.01", "write_off", "x", TODAY, "check the amount"),
    ],
)
def test_bad_adjustments_are_refused_and_write_nothing(july_bill, biller, amount, reason, note, on, message):
    with pytest.raises(BillingError, match=message):
        adjustment_record(
            customer=july_bill.customer,
            amount=amount,
            reason=reason,
            note=note,
            entry_date=on,
            actor=biller,
            today=TODAY,
        )
    assert not LedgerEntry.objects.filter(kind="adjustment").exists()


def test_a_write_off_may_go_either_way(july_bill, biller):
    adjustment_record(
        customer=july_bill.customer,
        amount="-109.10",
        reason="write_off",
        note="Uncollectable",
        actor=biller,
        today=TODAY,
    )
    adjustment_record(
        customer=july_bill.customer, amount="0.40", reason="write_off", note="Small credit", actor=biller, today=TODAY
    )
    assert balance_at(july_bill.customer, TODAY) == D("0.40")


# --- Pages: only Billing -------------------------------------------------------------------------------


def test_billing_records_an_adjustment_from_the_page(client_for, biller, july_bill):
    url = reverse("billing:adjustment_add", args=[july_bill.customer.location_id])
    client = client_for(biller)
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {
            "direction": "credit",
            "amount": "15.00",
            "reason": "goodwill",
            "note": "Long wait on the phone",
            "entry_date": "2025-08-30",
        },
    )
    assert response.status_code == 302 and response.url.endswith("/staff/customers/100000001/#ledger")
    entry = LedgerEntry.objects.get(kind="adjustment")
    assert (entry.amount, entry.reason, entry.entry_date) == (D("-15.00"), "goodwill", datetime.date(2025, 8, 30))


def test_a_refused_adjustment_shows_the_form_again_with_the_reason(client_for, biller, july_bill):
    url = reverse("billing:adjustment_add", args=[july_bill.customer.location_id])
    response = client_for(biller).post(
        url, {"direction": "charge", "amount": "15.00", "reason": "goodwill", "note": "x", "entry_date": "2025-08-30"}
    )
    assert response.status_code == 200 and "enter it as a credit" in response.content.decode()
    assert not LedgerEntry.objects.filter(kind="adjustment").exists()


def test_an_unknown_location_is_404(client_for, biller):
    assert client_for(biller).get(reverse("billing:adjustment_add", args=["999"])).status_code == 404


@pytest.mark.parametrize("role", ["ops", "support", "alice"])
def test_only_billing_adjusts_cancels_and_rebills(role, request, client_for, july_bill):
    client = client_for(request.getfixturevalue(role))
    location = july_bill.customer.location_id
    attempts = [
        ("get", reverse("billing:adjustment_add", args=[location]), {}),
        (
            "post",
            reverse("billing:adjustment_add", args=[location]),
            {"direction": "credit", "amount": "5", "reason": "goodwill", "note": "x", "entry_date": "2025-08-30"},
        ),
        ("post", reverse("billing:bill_cancel", args=[july_bill.pk]), {"reason": "x", "rebill": "on"}),
        ("get", reverse("billing:rebill"), {"period": "2025-07"}),
        ("post", reverse("billing:rebill"), {"period": "2025-07"}),
    ]
    for method, url, data in attempts:
        assert getattr(client, method)(url, data).status_code == 403, url
    july_bill.refresh_from_db()
    assert (
        july_bill.status == "issued"
        and LedgerEntry.objects.filter(kind__in=["adjustment", "cancellation"]).count() == 0
    )


def test_signed_out_visitors_are_sent_to_log_in(client, july_bill):
    response = client.post(reverse("billing:bill_cancel", args=[july_bill.pk]), {"reason": "x"})
    assert response.status_code == 302 and "/accounts/login/" in response.url


def test_billing_cancels_and_rebills_from_the_bill_page(client_for, biller, july_bill):
    client = client_for(biller)
    page = client.get(reverse("billing:bill", args=[july_bill.pk])).content.decode()
    assert 'id="cancel-bill"' in page
    response = client.post(
        reverse("billing:bill_cancel", args=[july_bill.pk]), {"reason": "Wrong meter", "rebill": "on"}
    )
    new = Bill.objects.get(replaces=july_bill)
    assert response.url == reverse("billing:bill", args=[new.pk])
    assert "replaces" in client.get(response.url).content.decode()
    old_page = client.get(reverse("billing:bill", args=[july_bill.pk])).content.decode()
    assert "Cancelled" in old_page and new.number in old_page and 'id="cancel-bill"' not in old_page
    again = client.post(reverse("billing:bill_cancel", args=[july_bill.pk]), {"reason": "Again"}, follow=True)
    assert "already cancelled" in again.content.decode()


def test_billing_cancels_without_rebilling(client_for, biller, july_bill):
    client_for(biller).post(reverse("billing:bill_cancel", args=[july_bill.pk]), {"reason": "Account closed"})
    july_bill.refresh_from_db()
    assert july_bill.status == "cancelled" and not Bill.objects.filter(replaces=july_bill).exists()


def test_the_rebill_page_previews_then_rebills(client_for, biller, july_bill):
    from metering.models import ImportRun, MeterRead, ReadCorrection

    read = MeterRead.objects.get(customer=july_bill.customer, read_date=datetime.date(2025, 7, 9))
    run = ImportRun.objects.create(file_name="fix.csv", actor_label="test")
    ReadCorrection.objects.create(
        import_run=run,
        customer=read.customer,
        read_date=read.read_date,
        old_usage_ccf=read.usage_ccf,
        new_usage_ccf=D("3"),
    )
    MeterRead.objects.filter(pk=read.pk).update(usage_ccf=D("3"))
    client = client_for(biller)
    home = client.get(reverse("billing:rebill")).content.decode()
    assert "July 2025" in home
    preview = client.get(reverse("billing:rebill"), {"period": "2025-07"}).content.decode()
    assert july_bill.number in preview and "Cancel and reissue 1 bill" in preview
    assert Bill.objects.count() == 1
    client.post(reverse("billing:rebill"), {"period": "2025-07", "locations": ""})
    assert Bill.objects.get(replaces=july_bill).status == "issued"
