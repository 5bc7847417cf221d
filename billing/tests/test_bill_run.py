"""Bill runs (SPEC §2): figures to the cent, drafts recomputed, issued bills untouched, reports."""

import datetime
from decimal import Decimal as D

import pytest

from billing.models import Bill, BillLine, BillRun, RateSchedule
from billing.pricing import STANDARD_PLAN, price
from billing.services import bill_run_compute, bill_run_issue
from conftest import make_customer

from .conftest import add_month, add_reads

JULY = datetime.date(2025, 7, 1)
TODAY = datetime.date(2025, 9, 15)


def run(period, **kwargs):
    kwargs.setdefault("actor_label", "test")
    kwargs.setdefault("today", TODAY)
    return bill_run_compute(period=period, **kwargs)


@pytest.mark.parametrize(
    ("period", "usage", "usage_charge", "total"),
    [
        (datetime.date(2018, 9, 1), "12.0700", "31.21", "51.21"),
        (datetime.date(2019, 7, 1), "13.0100", "40.84", "60.84"),
        (datetime.date(2019, 1, 1), "7.6700", "17.26", "37.26"),
    ],
)
def test_the_real_export_bills_exactly_as_the_spec_says(noah, period, usage, usage_charge, total):
    run(period)
    bill = Bill.objects.get(customer=noah, period=period)
    assert (bill.usage_ccf, bill.usage_charge, bill.total_amount) == (D(usage), D(usage_charge), D(total))
    assert bill.fees == D("20.00")
    assert sum(line.amount for line in bill.lines.all()) == bill.total_amount


def test_25_5_ccf_in_july_bills_109_10(alice_account):
    add_month(alice_account, JULY, "25.5")
    run(JULY)
    bill = Bill.objects.get()
    assert bill.total_amount == D("109.10")
    assert [(line.kind, line.amount) for line in bill.lines.order_by("position")] == [
        ("tier", D("25.00")),
        ("tier", D("30.00")),
        ("tier", D("19.25")),
        ("seasonal", D("14.85")),
        ("fee", D("15.00")),
        ("fee", D("5.00")),
    ]


def test_stored_lines_are_exactly_what_the_pricing_function_prints(db):
    usages = ["0", "0.0001", "9.9999", "10", "10.0001", "19.99", "20", "20.0001", "25.5", "113.4567"]
    for i, usage in enumerate(usages):
        add_month(make_customer(f"3000{i:02d}", f"C{i}"), JULY, usage)
    run(JULY)
    for bill in Bill.objects.prefetch_related("lines"):
        priced = price(bill.usage_ccf, STANDARD_PLAN, 7)
        stored = [(x.kind, x.code, x.label, x.quantity, x.rate, x.amount) for x in bill.lines.all()]
        expected = [(x.kind, x.code, x.label, x.quantity, x.rate, x.amount) for x in priced.lines]
        assert stored == expected
        assert (bill.usage_charge, bill.total_amount) == (priced.usage_charge, priced.total)


def test_8_ccf_in_january_bills_38_00(alice_account):
    add_month(alice_account, datetime.date(2025, 1, 1), "8")
    run(datetime.date(2025, 1, 1))
    assert Bill.objects.get().total_amount == D("38.00")


def test_zero_usage_is_billed_the_fees(alice_account):
    add_month(alice_account, JULY, "0")
    run(JULY)
    bill = Bill.objects.get()
    assert (bill.usage_ccf, bill.usage_charge, bill.total_amount) == (D("0"), D("0.00"), D("20.00"))


def test_a_partial_month_is_billed_on_its_days_and_recorded(alice_account):
    add_month(alice_account, JULY, "6.2", days=12)
    figures = run(JULY)
    bill = Bill.objects.get()
    assert (bill.days_read, bill.days_in_period, bill.is_partial) == (12, 31, True)
    assert bill.usage_ccf == D("6.2")
    assert figures.partial_bills == 1


def test_customers_without_reads_get_no_bill_and_are_reported(alice_account, bob_account):
    add_month(alice_account, JULY, "5")
    add_reads(bob_account, datetime.date(2025, 6, 30), ["3"])  # June only
    figures = run(JULY)
    assert list(Bill.objects.values_list("customer", flat=True)) == [alice_account.pk]
    assert figures.customers_without_reads == 1
    assert BillRun.objects.get().customers_without_reads == 1


def test_cycles_limit_the_run(alice_account, bob_account):
    add_month(alice_account, JULY, "5")
    add_month(bob_account, JULY, "5")
    figures = run(JULY, cycles=[2])
    assert list(Bill.objects.values_list("customer", flat=True)) == [bob_account.pk]
    assert figures.customers_in_scope == 1


def test_a_dry_run_writes_nothing_but_shows_the_figures(alice_account):
    add_month(alice_account, JULY, "25.5")
    figures = run(JULY, dry_run=True)
    assert figures.total_billed == D("109.10")
    assert not Bill.objects.exists()
    assert not BillRun.objects.exists()


def test_rerunning_recomputes_drafts_without_duplicates(alice_account):
    add_month(alice_account, JULY, "5")
    run(JULY)
    first = Bill.objects.get()
    add_reads(alice_account, datetime.date(2025, 7, 31), [])  # nothing new
    alice_account.reads.filter(read_date=datetime.date(2025, 7, 31)).update(usage_ccf=D("20.5"))
    figures = run(JULY)
    bill = Bill.objects.get()
    assert bill.pk == first.pk
    assert bill.usage_ccf > first.usage_ccf
    assert figures.bills_recomputed == 1 and figures.bills_created == 0
    assert BillLine.objects.filter(bill=bill).count() == len(price(bill.usage_ccf, STANDARD_PLAN, 7).lines)


def test_issued_bills_are_never_touched_by_a_rerun(alice_account):
    add_month(alice_account, JULY, "5")
    run(JULY, issue=True)
    issued = Bill.objects.get()
    lines = list(issued.lines.values_list("label", "amount"))
    alice_account.reads.update(usage_ccf=D("3"))
    figures = run(JULY)
    again = Bill.objects.get()
    assert (again.usage_ccf, again.total_amount, again.updated_at) == (
        issued.usage_ccf,
        issued.total_amount,
        issued.updated_at,
    )
    assert list(again.lines.values_list("label", "amount")) == lines
    assert figures.issued_untouched == 1


def test_issuing_numbers_dates_and_due_dates_the_bills(alice_account, bob_account):
    add_month(alice_account, JULY, "5")
    add_month(bob_account, JULY, "5")
    run(JULY)
    assert bill_run_issue(period=JULY, actor_label="test", today=TODAY) == 2
    bills = list(Bill.objects.order_by("customer__location_id"))
    assert [b.number for b in bills] == ["HS-202507-000001", "HS-202507-000002"]
    assert {(b.status, b.issue_date, b.due_date) for b in bills} == {("issued", TODAY, datetime.date(2025, 10, 6))}


def test_issuing_again_continues_the_numbers_and_keeps_issued_bills(alice_account, bob_account):
    add_month(alice_account, JULY, "5")
    run(JULY, issue=True)
    add_month(bob_account, JULY, "5")
    run(JULY, issue=True)
    assert sorted(Bill.objects.values_list("number", flat=True)) == ["HS-202507-000001", "HS-202507-000002"]


def test_a_month_that_is_not_over_cannot_be_issued(alice_account):
    add_month(alice_account, JULY, "5")
    run(JULY)
    from billing.exceptions import BillingError

    with pytest.raises(BillingError, match="not over yet"):
        bill_run_issue(period=JULY, actor_label="test", today=datetime.date(2025, 7, 31))
    assert Bill.objects.get().status == "draft"


def test_a_rate_version_starting_mid_year_prices_the_periods_from_its_date(alice_account):
    schedule = RateSchedule.objects.create(name="2025 rates", effective_from=datetime.date(2025, 7, 1))
    schedule.tiers.create(up_to=None, rate=D("4.00"))
    schedule.fees.create(code="base", label="Base", amount=D("10.00"))
    add_month(alice_account, datetime.date(2025, 6, 1), "5")
    add_month(alice_account, JULY, "5")
    run(datetime.date(2025, 6, 1))
    run(JULY)
    june, july = Bill.objects.order_by("period")
    assert june.total_amount == D("35.00")  # 12.50 x 1.2 = 15.00 + 20
    assert july.total_amount == D("30.00")  # 20.00 + 10
    assert july.rate_schedule == schedule


def test_a_customer_type_schedule_applies_to_that_type_only(alice_account):
    commercial = make_customer("300000001", "Cafe", cycle_number=1, customer_type="commercial")
    schedule = RateSchedule.objects.create(
        name="Commercial", customer_type="commercial", effective_from=datetime.date(2024, 1, 1)
    )
    schedule.tiers.create(up_to=None, rate=D("2.00"))
    add_month(alice_account, JULY, "5")
    add_month(commercial, JULY, "5")
    run(JULY)
    assert Bill.objects.get(customer=commercial).total_amount == D("10.00")  # no multipliers, no fees
    assert Bill.objects.get(customer=alice_account).total_amount == D("35.00")


def test_rate_edits_never_change_an_issued_bill(alice_account):
    add_month(alice_account, JULY, "5")
    run(JULY, issue=True)
    RateSchedule.objects.get().tiers.update(rate=D("9.99"))
    run(JULY)
    bill = Bill.objects.get()
    assert bill.total_amount == D("35.00")
    assert bill.lines.get(kind="tier").rate == D("2.50")


def test_runs_are_recorded_and_audited(alice_account, biller):
    from accounts.models import AuditEvent

    add_month(alice_account, JULY, "5")
    run(JULY, actor=biller, actor_label="")
    run_row = BillRun.objects.get()
    assert (run_row.status, run_row.bills_created, run_row.total_billed) == ("done", 1, D("35.00"))
    event = AuditEvent.objects.get(action="billing.run")
    assert event.actor == biller
