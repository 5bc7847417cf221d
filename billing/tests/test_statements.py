"""bill_statements (many bills at once, for the print file) gives each bill exactly billing.account's
bill_statement, in a fixed number of queries."""

import datetime
from decimal import Decimal as D

from billing.account import bill_statement
from billing.account_services import payment_record
from billing.adjustments import adjustment_record
from billing.late_fees import late_fees_apply
from billing.models import Bill
from billing.rebilling import bill_rebill
from billing.services import bill_run_compute
from billing.statements import bill_statements
from billing.tests.conftest import add_month
from conftest import make_customer
from metering.models import MeterRead

MAY, JUNE, JULY = datetime.date(2019, 5, 1), datetime.date(2019, 6, 1), datetime.date(2019, 7, 1)
TODAY = datetime.date(2025, 1, 1)


def issue(period, on):
    bill_run_compute(period=period, issue=True, actor_label="test", today=TODAY, issue_date=on)


def accounts(biller):
    """Four customers whose accounts differ: paid on time; a late fee; a credit and an adjustment; a
    cancelled and rebilled June; and a customer whose first bill is July (with a payment before it)."""
    people = [make_customer(f"60000000{i}", f"Customer {i}") for i in range(5)]
    for customer in people[:4]:
        for period, usage in ((MAY, "10"), (JUNE, "12"), (JULY, "15")):
            add_month(customer, period, usage)
    add_month(people[4], JULY, "9")
    issue(MAY, datetime.date(2019, 6, 1))
    issue(JUNE, datetime.date(2019, 7, 1))
    may = {bill.customer_id: bill for bill in Bill.objects.filter(period=MAY)}
    payment_record(
        customer=people[0],
        amount=may[people[0].pk].total_amount,
        paid_on=datetime.date(2019, 6, 10),
        method="card",
        actor=biller,
    )
    late_fees_apply(as_of=datetime.date(2019, 6, 30), actor_label="test", today=TODAY)
    payment_record(
        customer=people[2],
        amount=D("200"),
        paid_on=datetime.date(2019, 6, 5),
        method="check",
        confirm_credit=True,
        actor=biller,
    )
    adjustment_record(
        customer=people[2],
        amount=D("-5.00"),
        reason="goodwill",
        note="sorry",
        entry_date=datetime.date(2019, 7, 1),
        actor=biller,
        today=TODAY,
    )
    june3 = Bill.objects.get(customer=people[3], period=JUNE)
    MeterRead.objects.filter(customer=people[3], read_date=JUNE).update(usage_ccf=D("3"))  # a corrected read
    bill_rebill(bill=june3, reason="read corrected", actor=biller, issue_date=datetime.date(2019, 7, 15), today=TODAY)
    payment_record(
        customer=people[4],
        amount=D("30"),
        paid_on=datetime.date(2019, 7, 20),
        method="cash",
        confirm_credit=True,
        actor=biller,
    )
    issue(JULY, datetime.date(2019, 8, 1))
    return people


def test_many_bills_get_the_same_statements_as_one_by_one(biller, django_assert_max_num_queries):
    accounts(biller)
    bills = list(Bill.objects.exclude(status=Bill.Status.DRAFT).select_related("customer").order_by("pk"))
    assert any(bill.status == Bill.Status.CANCELLED for bill in bills)
    expected = {bill.pk: bill_statement(bill) for bill in bills}
    with django_assert_max_num_queries(2 + 8):  # issue dates, entries, one balance sum per distinct day
        found = bill_statements(bills)
    assert found == expected
    july = [bill for bill in bills if bill.period == JULY]
    assert bill_statements(july) == {bill.pk: expected[bill.pk] for bill in july}


def test_a_draft_shows_only_its_charges(db):
    customer = make_customer("600000009", "Drafty")
    add_month(customer, JULY, "8")
    bill_run_compute(period=JULY, actor_label="test", today=TODAY)
    draft = Bill.objects.get(customer=customer)
    assert bill_statements([draft]) == {draft.pk: bill_statement(draft)}
