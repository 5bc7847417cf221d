"""The staff customer page shows the account (SPEC §2a): every entry with the balance after it, what is
overdue, in a fixed number of queries however long the ledger."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from billing.adjustments import adjustment_record

from .conftest import make_bill, make_payment

pytestmark = pytest.mark.django_db
URL = "/staff/customers/100000001/"


def balances_on_the_page(html: str) -> list[str]:
    ledger = html[html.index('id="ledger"') : html.index('id="bills"')]
    return re.findall(r'<td class="text-end fw-semibold">([^<]+)</td>', ledger)


def test_the_ledger_runs_a_balance_newest_first(client_for, support, biller, alice_account):
    bill = make_bill(alice_account, datetime.date(2026, 1, 1), "60.00")  # issued Feb 1, due Feb 22
    make_payment(bill, "20.00", datetime.date(2026, 2, 10))
    adjustment_record(
        customer=alice_account,
        amount="-5.00",
        reason="goodwill",
        note="Sorry for the wait",
        actor=biller,
        entry_date=datetime.date(2026, 2, 12),
    )
    make_bill(alice_account, datetime.date(2026, 2, 1), "45.50")
    html = client_for(support).get(URL).content.decode()
    assert balances_on_the_page(html) == ["$80.50", "$35.00", "$40.00", "$60.00"]
    assert "Sorry for the wait" in html and "Goodwill" in html
    assert "Overdue: <strong>$80.50</strong>" in html  # both bills are past due by now
    assert "Record an adjustment" not in html  # Support views; only Billing adjusts


def test_billing_is_offered_the_adjustment_form(client_for, biller, alice_account):
    assert "Record an adjustment" in client_for(biller).get(URL).content.decode()


def test_a_credit_balance_reads_as_a_credit(client_for, support, alice_account):
    bill = make_bill(alice_account, datetime.date(2026, 1, 1), "60.00")
    make_payment(bill, "75.00", datetime.date(2026, 2, 10))
    html = client_for(support).get(URL).content.decode()
    assert "$15.00 credit" in html and balances_on_the_page(html)[0] == "−$15.00"


def test_the_account_takes_the_same_queries_for_three_entries_or_ninety(client_for, support, alice_account):
    client = client_for(support)

    def add(start, stop):
        for i in range(start, stop):
            period = datetime.date(2019, 1, 1) + datetime.timedelta(days=32 * i)
            bill = make_bill(alice_account, period.replace(day=1), "40.00")
            make_payment(bill, "40.00", period.replace(day=1) + datetime.timedelta(days=40))

    def queries() -> int:
        client.get(URL)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured)

    add(0, 2)
    few = queries()
    add(2, 45)
    assert queries() <= few
