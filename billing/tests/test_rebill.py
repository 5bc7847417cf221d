"""Cancel and rebill (SPEC §2a): an issued bill is never changed; it is cancelled by a reversing entry and
a corrected bill, numbered after it and priced at its rate version, replaces it. `rebill` does this for
exactly the bills whose reads were corrected after they were priced."""

import datetime
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import AuditEvent
from billing.account import balance_at
from billing.exceptions import BillingError
from billing.models import Bill, LedgerEntry, RateSchedule
from billing.rebilling import bill_cancel, bill_rebill, period_rebill, rebill_candidates, rebill_number
from billing.services import bill_run_compute
from metering.services import meter_file_import
from metering.tests.conftest import export_text, row

from .conftest import add_month

JULY = datetime.date(2025, 7, 1)
ISSUED_ON = datetime.date(2025, 8, 4)
REBILL_ON = datetime.date(2025, 9, 10)


@pytest.fixture
def july(alice_account, bob_account):
    """Alice (25.5 CCF: $109.10) and Bob (8 CCF) billed for July 2025, issued on August 4."""
    add_month(alice_account, JULY, "25.5")
    add_month(bob_account, JULY, "8")
    bill_run_compute(period=JULY, issue=True, actor_label="test", today=ISSUED_ON)
    return {bill.customer.name.split()[0].lower(): bill for bill in Bill.objects.select_related("customer")}


def correct(tmp_path, customer, day: datetime.date, usage: str):
    """A meter export correcting one read, imported as Operations would."""
    fields = {
        "name": customer.name,
        "mailing_address": customer.mailing_address,
        "cycle_number": str(customer.cycle_number),
        "phone": customer.phone,
    }
    path = tmp_path / f"fix-{customer.location_id}-{day}.csv"
    path.write_text(export_text([row(customer.location_id, day, usage, **fields)]))
    run = meter_file_import(path=path, actor_label="test")
    assert run.reads_corrected == 1, run.summary()
    return run


def rebill(*args) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("rebill", *args, stdout=out)
    except SystemExit as exit_:
        return exit_.code, out.getvalue()
    except CommandError as error:
        return error.returncode, out.getvalue() + str(error)
    return 0, out.getvalue()


# --- Cancel ------------------------------------------------------------------------------------------


def test_cancelling_reverses_the_total_and_keeps_the_bill(july, biller):
    bill = july["alice"]
    before = balance_at(bill.customer, REBILL_ON)
    bill_cancel(bill=bill, reason="Read on the wrong meter", actor=biller, today=REBILL_ON)
    bill.refresh_from_db()
    assert (bill.status, bill.cancel_reason, bill.total_amount) == ("cancelled", "Read on the wrong meter", D("109.10"))
    entry = LedgerEntry.objects.get(kind="cancellation")
    assert (entry.bill, entry.amount, entry.entry_date, entry.created_by) == (bill, D("-109.10"), REBILL_ON, biller)
    assert balance_at(bill.customer, REBILL_ON) == before - D("109.10") == D("0.00")
    assert AuditEvent.objects.filter(action="bill.cancel", customer=bill.customer).exists()


def test_cancelling_twice_is_refused(july, biller):
    bill_cancel(bill=july["alice"], reason="Wrong meter", actor=biller, today=REBILL_ON)
    with pytest.raises(BillingError, match="already cancelled"):
        bill_cancel(bill=july["alice"], reason="Again", actor=biller, today=REBILL_ON)
    assert LedgerEntry.objects.filter(kind="cancellation").count() == 1


def test_a_draft_cannot_be_cancelled_nor_a_bill_without_a_reason(alice_account, july, biller):
    with pytest.raises(BillingError, match="reason"):
        bill_cancel(bill=july["alice"], reason="   ", actor=biller, today=REBILL_ON)
    add_month(alice_account, datetime.date(2025, 8, 1), "3")
    bill_run_compute(period=datetime.date(2025, 8, 1), actor_label="test")
    draft = Bill.objects.get(status="draft")
    with pytest.raises(BillingError, match="Only issued bills"):
        bill_cancel(bill=draft, reason="No", actor=biller, today=REBILL_ON)
    with pytest.raises(BillingError, match="before"):
        bill_cancel(bill=july["bob"], reason="Early", actor=biller, on=datetime.date(2025, 8, 1), today=REBILL_ON)
    assert not LedgerEntry.objects.filter(kind="cancellation").exists()


def test_a_cancelled_period_is_numbered_on_without_reusing_a_number(alice_account, bob_account, july, biller):
    """Issuing numbers drafts after every original number of the period, cancelled ones included."""
    carol = type(alice_account).objects.create(
        location_id="100000003",
        name="Carol Chen",
        mailing_address="3 Elm St",
        customer_type="residential",
        cycle_number=1,
    )
    bill_cancel(bill=july["alice"], reason="Wrong meter", actor=biller, today=REBILL_ON)
    add_month(carol, JULY, "4")
    bill_run_compute(period=JULY, issue=True, actor_label="test", today=REBILL_ON)
    numbers = set(Bill.objects.filter(period=JULY).values_list("number", flat=True))
    assert "HS-202507-000003" in numbers and len(numbers) == Bill.objects.filter(period=JULY).count()


# --- Rebill --------------------------------------------------------------------------------------------


def test_rebill_touches_only_the_bills_whose_reads_were_corrected(tmp_path, july):
    correct(tmp_path, july["alice"].customer, datetime.date(2025, 7, 9), "2.5")
    changes = rebill_candidates(period=JULY)
    assert [c.bill for c in changes] == [july["alice"]]
    report = period_rebill(period=JULY, actor_label="test", today=REBILL_ON)
    ((old, new),) = report.rebilled
    july["bob"].refresh_from_db()
    assert old == july["alice"] and july["bob"].status == "issued"
    assert new.replaces == old and new.number == "HS-202507-000001-R1" and new.status == "issued"
    assert new.usage_ccf == changes[0].usage_ccf and new.total_amount == changes[0].priced.total
    assert (new.issue_date, new.due_date) == (REBILL_ON, REBILL_ON + datetime.timedelta(days=21))
    assert sum(line.amount for line in new.lines.all()) == new.total_amount
    assert rebill_candidates(period=JULY) == []  # done: running it again changes nothing
    assert period_rebill(period=JULY, actor_label="test", today=REBILL_ON).rebilled == []


def test_rebill_keeps_the_original_rate_version(tmp_path, july):
    original = july["alice"].rate_schedule
    newer = RateSchedule.objects.create(name="Dearer", effective_from=datetime.date(2025, 1, 1))
    newer.tiers.create(up_to=None, rate=D("9.00"))
    correct(tmp_path, july["alice"].customer, datetime.date(2025, 7, 9), "2.5")
    _old, new = period_rebill(period=JULY, actor_label="test", today=REBILL_ON).rebilled[0]
    assert new.rate_schedule == original
    # the standard rates: 25.5 + 1.6774 more CCF in July, ×1.2, plus $20 of fees
    assert new.lines.filter(kind="fee").count() == 2 and new.lines.filter(kind="seasonal").exists()


def test_the_balance_nets_out_after_a_rebill(tmp_path, july):
    alice = july["alice"].customer
    before = balance_at(alice, REBILL_ON)
    correct(tmp_path, alice, datetime.date(2025, 7, 9), "2.5")
    old, new = period_rebill(period=JULY, actor_label="test", today=REBILL_ON).rebilled[0]
    assert balance_at(alice, REBILL_ON) == before - old.total_amount + new.total_amount
    entries = LedgerEntry.objects.filter(customer=alice).order_by("id")
    assert [(e.kind, e.amount) for e in entries] == [
        ("bill", old.total_amount),
        ("cancellation", -old.total_amount),
        ("bill", new.total_amount),
    ]


def test_a_correction_priced_into_a_bill_before_it_was_issued_is_no_change(tmp_path, alice_account):
    add_month(alice_account, JULY, "25.5")
    bill_run_compute(period=JULY, actor_label="test")  # draft
    correct(tmp_path, alice_account, datetime.date(2025, 7, 9), "2.5")
    bill_run_compute(period=JULY, issue=True, actor_label="test", today=ISSUED_ON)  # recomputed, then issued
    assert rebill_candidates(period=JULY) == []


def test_rebilling_one_bill_from_its_page_service_needs_no_correction(july, biller):
    new = bill_rebill(bill=july["bob"], reason="Customer moved in on the 3rd", actor=biller, today=REBILL_ON)
    assert (new.replaces, new.total_amount, new.number) == (
        july["bob"],
        july["bob"].total_amount,
        "HS-202507-000002-R1",
    )
    again = bill_rebill(bill=new, reason="Once more", actor=biller, today=REBILL_ON)
    assert again.number == "HS-202507-000002-R2"


def test_rebill_numbers_name_the_original():
    assert rebill_number("HS-202507-000012") == "HS-202507-000012-R1"
    assert rebill_number("HS-202507-000012-R1") == "HS-202507-000012-R2"


def test_rebill_command_dry_run_shows_each_difference_and_saves_nothing(tmp_path, july):
    correct(tmp_path, july["alice"].customer, datetime.date(2025, 7, 9), "2.5")
    code, out = rebill("--period", "2025-07", "--dry-run")
    assert code == 0
    assert "HS-202507-000001 (100000001): 25.5000 → " in out and "$109.10 → $" in out
    assert "Dry run, nothing saved" in out and "would rebill 1 bill" in out
    assert not Bill.objects.filter(status="cancelled").exists()


def test_rebill_command_exit_codes(tmp_path, july):
    correct(tmp_path, july["alice"].customer, datetime.date(2025, 7, 9), "2.5")
    assert rebill("--period", "2025-13")[0] == 2
    assert rebill("--period", "2025-07", "--issue-date", "2025-07-30")[0] == 2  # before the period's end
    assert rebill("--period", "2025-07", "--issue-date", "2999-01-01")[0] == 2  # in the future
    assert rebill("--period", "2025-07", "--issue-date", "soon")[0] == 2
    assert not Bill.objects.filter(status="cancelled").exists()
    code, out = rebill("--period", "2025-07", "--location", "100000002", "--location", "999")
    assert code == 1 and "unknown location(s): 999" in out and "100000002: no issued bill" in out
    assert not Bill.objects.filter(status="cancelled").exists()
    code, out = rebill("--period", "2025-07", "--location", "100000001", "--issue-date", "2025-09-10")
    assert code == 0 and "Cancelled HS-202507-000001, issued HS-202507-000001-R1" in out
    assert Bill.objects.get(number="HS-202507-000001-R1").issue_date == REBILL_ON


def test_the_import_page_offers_billing_a_rebill_of_each_corrected_bill(tmp_path, july, client_for, ops):
    from django.contrib.auth.models import Group

    run = correct(tmp_path, july["alice"].customer, datetime.date(2025, 7, 9), "2.5")
    page = client_for(ops).get(f"/staff/metering/imports/{run.pk}/").content.decode()
    assert "HS-202507-000001" in page and "Rebill…" not in page  # Operations imports; Billing rebills
    ops.groups.add(Group.objects.get(name="Billing"))
    page = client_for(ops).get(f"/staff/metering/imports/{run.pk}/").content.decode()
    assert "/staff/billing/rebill/?period=2025-07&amp;locations=100000001" in page
    preview = client_for(ops).get("/staff/billing/rebill/?period=2025-07&locations=100000001").content.decode()
    assert "Cancel and reissue 1 bill" in preview
