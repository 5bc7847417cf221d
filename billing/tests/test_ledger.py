"""The account (SPEC §2a): settlement oldest due first, balances, late fees, entries never changed."""

import datetime
import random
from decimal import Decimal as D

import pytest

from billing.account import balance_at, balances_as_of, bill_statement, open_amounts, overdue_at
from billing.account_services import payment_record
from billing.exceptions import BillingError
from billing.late_fees import late_fees_apply
from billing.ledger import Charge, late_fee_amount, late_fee_cents, settle, unused_credit
from billing.models import Bill, LedgerEntry, PaymentStatus, RateSchedule
from billing.services import bill_run_compute
from conftest import make_customer

from .conftest import add_month

day = datetime.date


# --- settle(): pure -------------------------------------------------------------------------------------


def test_credits_settle_the_oldest_due_charge_first():
    charges = [Charge("march", day(2024, 4, 21), 3, D("30")), Charge("feb", day(2024, 3, 21), 1, D("50"))]
    assert settle(charges, [D("60")]) == {"feb": D("0"), "march": D("20")}


def test_equal_due_dates_settle_in_the_order_made():
    charges = [Charge("fee", day(2024, 8, 27), 9, D("2")), Charge("adjustment", day(2024, 8, 27), 4, D("5"))]
    assert settle(charges, [D("5")]) == {"adjustment": D("0"), "fee": D("2")}


def test_a_credit_larger_than_the_charges_is_held_for_the_next_charge():
    assert unused_credit([Charge("a", day(2024, 1, 1), 1, D("10"))], [D("25")]) == D("15")
    later = [Charge("a", day(2024, 1, 1), 1, D("10")), Charge("b", day(2024, 2, 1), 2, D("40"))]
    assert settle(later, [D("25")]) == {"a": D("0"), "b": D("25")}


def test_late_fees_round_half_up_to_the_cent():
    assert late_fee_amount(D("40.00"), D("5")) == D("2.00")
    assert late_fee_amount(D("0.10"), D("5")) == D("0.01")  # 0.005 rounds up
    assert late_fee_amount(D("0.09"), D("5")) == D("0.00")
    assert late_fee_cents(10, 500) == 1 and late_fee_cents(9, 500) == 0 and late_fee_cents(4000, 500) == 200


# --- the SPEC's worked example ---------------------------------------------------------------------------


@pytest.fixture
def spec_bill(alice_account):
    """SPEC §2a: a bill of $60.00 issued 2024-07-31, due 2024-08-21."""
    schedule = RateSchedule.objects.filter(customer_type="").order_by("effective_from").first()
    bill = Bill.objects.create(
        customer=alice_account,
        period=day(2024, 6, 1),
        status=Bill.Status.ISSUED,
        number="HS-202406-000001",
        issue_date=day(2024, 7, 31),
        due_date=day(2024, 8, 21),
        usage_ccf=D("10"),
        days_read=30,
        days_in_period=30,
        usage_charge=D("40.00"),
        fees=D("20.00"),
        total_amount=D("60.00"),
        rate_schedule=schedule,
    )
    from billing.account_services import ledger_post_bill

    assert ledger_post_bill(period=bill.period) == 1
    return bill


def test_the_spec_example_late_fee_balance_and_overdue(spec_bill, biller):
    customer = spec_bill.customer
    payment_record(
        customer=customer, amount="20.00", paid_on=day(2024, 8, 10), method="card", actor=biller, today=day(2024, 8, 10)
    )
    assert late_fees_apply(as_of=day(2024, 8, 26), today=day(2024, 9, 30)).fees_charged == 0
    report = late_fees_apply(as_of=day(2024, 8, 27), today=day(2024, 9, 30))
    assert (report.fees_charged, report.total_cents) == (1, 200)
    fee = LedgerEntry.objects.get(kind=LedgerEntry.Kind.LATE_FEE)
    assert (fee.entry_date, fee.amount, fee.due_date, fee.bill) == (
        day(2024, 8, 27),
        D("2.00"),
        day(2024, 8, 27),
        spec_bill,
    )
    assert balance_at(customer, day(2024, 8, 27)) == D("42.00")
    assert overdue_at(customer, day(2024, 8, 27)) == D("40.00")  # the fee is due that day, not before it
    assert overdue_at(customer, day(2024, 8, 28)) == D("42.00")
    assert [(b.balance, b.overdue) for b in balances_as_of(day(2024, 8, 28))] == [(D("42.00"), D("42.00"))]


def test_a_late_fee_is_charged_once_however_often_the_command_runs(spec_bill):
    for as_of in (day(2024, 8, 27), day(2024, 8, 27), day(2024, 9, 15), day(2024, 12, 1)):
        late_fees_apply(as_of=as_of, today=day(2024, 12, 1))
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.LATE_FEE).count() == 1
    assert balance_at(spec_bill.customer, day(2024, 12, 1)) == D("63.00")


def test_payments_dated_on_the_last_grace_day_count(spec_bill, biller):
    payment_record(
        customer=spec_bill.customer,
        amount="60.00",
        paid_on=day(2024, 8, 26),
        method="cash",
        actor=biller,
        today=day(2024, 8, 26),
    )
    assert late_fees_apply(as_of=day(2024, 9, 1), today=day(2024, 9, 1)).fees_charged == 0


def test_percent_and_grace_come_from_the_version_that_priced_the_bill(spec_bill):
    RateSchedule.objects.filter(pk=spec_bill.rate_schedule_id).update(late_fee_percent=D("10"), late_fee_grace_days=0)
    assert late_fees_apply(as_of=day(2024, 8, 21), today=day(2024, 9, 1)).fees_charged == 0
    late_fees_apply(as_of=day(2024, 8, 22), today=day(2024, 9, 1))
    fee = LedgerEntry.objects.get(kind=LedgerEntry.Kind.LATE_FEE)
    assert (fee.entry_date, fee.amount) == (day(2024, 8, 22), D("6.00"))


def test_late_fees_are_never_charged_ahead_of_today(spec_bill):
    with pytest.raises(BillingError, match="ahead of time"):
        late_fees_apply(as_of=day(2024, 9, 2), today=day(2024, 9, 1))


# --- settlement across bills, fees and credits, through the database ---------------------------------------


def test_a_payment_before_any_bill_is_a_credit_the_next_bill_uses(alice_account, biller):
    add_month(alice_account, day(2025, 7, 1), "25.5")  # 109.10, read from July 1st
    payment_record(
        customer=alice_account,
        amount="25.00",
        paid_on=day(2025, 7, 2),
        method="cash",
        actor=biller,
        confirm_credit=True,
        today=day(2025, 7, 2),
    )
    assert balance_at(alice_account, day(2025, 7, 2)) == D("-25.00")
    bill_run_compute(period=day(2025, 7, 1), issue=True, actor_label="test", today=day(2025, 8, 4))
    bill = Bill.objects.get()
    assert bill.open_balance(day(2025, 8, 4)) == D("84.10")
    assert bill.payment_status_for(day(2025, 8, 4)) == PaymentStatus.PARTIALLY_PAID
    assert balance_at(alice_account, day(2025, 8, 4)) == D("84.10")


def test_open_amounts_follow_settle_across_two_bills_and_a_fee(spec_bill, biller):
    customer = spec_bill.customer
    late_fees_apply(as_of=day(2024, 8, 27), today=day(2024, 9, 30))  # $3.00 on the unpaid $60.00
    second = Bill.objects.create(
        customer=customer,
        period=day(2024, 7, 1),
        status=Bill.Status.ISSUED,
        number="HS-202407-000001",
        issue_date=day(2024, 8, 31),
        due_date=day(2024, 9, 21),
        usage_ccf=D("10"),
        days_read=31,
        days_in_period=31,
        usage_charge=D("30.00"),
        fees=D("20.00"),
        total_amount=D("50.00"),
        rate_schedule=spec_bill.rate_schedule,
    )
    from billing.account_services import ledger_post_bill

    ledger_post_bill(period=second.period)
    payment_record(
        customer=customer, amount="70.00", paid_on=day(2024, 9, 5), method="card", actor=biller, today=day(2024, 9, 30)
    )
    opened = [(entry.kind, amount) for entry, amount in open_amounts(customer, day(2024, 9, 30))]
    assert opened == [("bill", D("0.00")), ("late_fee", D("0.00")), ("bill", D("43.00"))]
    annotated = {b.number: b for b in Bill.objects.with_payment_status(day(2024, 9, 30))}
    assert annotated["HS-202406-000001"].payment_status == PaymentStatus.PAID
    assert annotated["HS-202407-000001"].payment_status == PaymentStatus.OVERDUE
    assert Bill.objects.get(pk=second.pk).open_balance(day(2024, 9, 30)) == D("43.00")


def test_sql_open_amounts_equal_settle_on_random_ledgers(db, biller):
    """The SQL annotation and billing.account (the closed form) against settle() on random accounts."""
    draw = random.Random(12)
    schedule = RateSchedule.objects.filter(customer_type="").order_by("effective_from").first()
    for n in range(6):
        customer = make_customer(f"9000{n}", f"Random {n}")
        for month in range(1, 7):
            issue = day(2024, month, 28)
            total = D(draw.randint(1_000, 9_000)) / 100
            Bill.objects.create(
                customer=customer,
                period=day(2024, month, 1),
                status=Bill.Status.ISSUED,
                number=f"HS-2024{month:02d}-{n:06d}",
                issue_date=issue,
                due_date=issue + datetime.timedelta(days=21),
                usage_ccf=D("1"),
                days_read=1,
                days_in_period=30,
                usage_charge=total,
                fees=D("0"),
                total_amount=total,
                rate_schedule=schedule,
            )
    from billing.account_services import ledger_post_bill

    for month in range(1, 7):
        ledger_post_bill(period=day(2024, month, 1))
    for customer in Bill.objects.values_list("customer", flat=True).distinct():
        for _ in range(4):
            LedgerEntry.objects.create(
                customer_id=customer,
                entry_date=day(2024, draw.randint(1, 7), draw.randint(1, 28)),
                amount=-D(draw.randint(100, 12_000)) / 100,
                kind=LedgerEntry.Kind.PAYMENT,
            )
    late_fees_apply(as_of=day(2024, 8, 31), today=day(2024, 8, 31))
    for on in (day(2024, 3, 15), day(2024, 6, 30), day(2024, 8, 31)):
        by_bill = {b.pk: b.open_balance() for b in Bill.objects.with_payment_status(on)}
        for bill in Bill.objects.all():
            customer = bill.customer
            expected = {e.bill_id: a for e, a in open_amounts(customer, on) if e.kind == "bill"}
            if bill.issue_date <= on:
                assert by_bill[bill.pk] == expected[bill.pk]
        for row in balances_as_of(on):
            customer = row.customer_id
            from accounts.models import Customer

            assert row.overdue == overdue_at(Customer.objects.get(pk=customer), on)
            assert row.balance == balance_at(Customer.objects.get(pk=customer), on)


# --- entries are never changed ----------------------------------------------------------------------------


def test_ledger_entries_are_never_updated_or_deleted(spec_bill):
    entry = LedgerEntry.objects.get()
    entry.amount = D("1.00")
    with pytest.raises(BillingError, match="never changed"):
        entry.save()
    with pytest.raises(BillingError, match="never deleted"):
        entry.delete()
    with pytest.raises(BillingError):
        LedgerEntry.objects.filter(pk=entry.pk).update(amount=D("1.00"))
    with pytest.raises(BillingError):
        LedgerEntry.objects.all().delete()
    assert LedgerEntry.objects.get().amount == D("60.00")


def test_the_admin_shows_the_ledger_read_only(client_for, biller, spec_bill):
    client = client_for(biller)
    entry = LedgerEntry.objects.get()
    assert client.get("/admin/billing/ledgerentry/").status_code == 200
    page = client.get(f"/admin/billing/ledgerentry/{entry.pk}/change/")
    assert page.status_code == 200 and b'name="amount"' not in page.content
    assert client.post(f"/admin/billing/ledgerentry/{entry.pk}/change/", {"amount": "1"}).status_code == 403
    assert client.get("/admin/billing/ledgerentry/add/").status_code == 403
    assert client.post(f"/admin/billing/ledgerentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert LedgerEntry.objects.get().amount == D("60.00")


def test_the_bill_statement_adds_up(spec_bill, biller):
    customer = spec_bill.customer
    payment_record(
        customer=customer, amount="20.00", paid_on=day(2024, 8, 10), method="card", actor=biller, today=day(2024, 8, 10)
    )
    late_fees_apply(as_of=day(2024, 8, 27), today=day(2024, 8, 31))
    second = Bill.objects.create(
        customer=customer,
        period=day(2024, 7, 1),
        status=Bill.Status.ISSUED,
        number="HS-202407-000001",
        issue_date=day(2024, 8, 31),
        due_date=day(2024, 9, 21),
        usage_ccf=D("10"),
        days_read=31,
        days_in_period=31,
        usage_charge=D("30.00"),
        fees=D("20.00"),
        total_amount=D("50.00"),
        rate_schedule=spec_bill.rate_schedule,
    )
    from billing.account_services import ledger_post_bill

    ledger_post_bill(period=second.period)
    statement = bill_statement(second)
    assert statement.opening_balance == D("60.00")
    assert [(line.date, line.amount) for line in statement.activity] == [
        (day(2024, 8, 10), D("-20.00")),
        (day(2024, 8, 27), D("2.00")),
    ]
    assert statement.previous_balance == D("42.00")
    assert (statement.charges, statement.amount_due, statement.due_date) == (D("50.00"), D("92.00"), day(2024, 9, 21))
    assert statement.opening_balance + statement.activity_total + statement.charges == statement.amount_due
