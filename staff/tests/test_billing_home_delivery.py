"""The Billing home shows how last month's bills reached customers (SPEC §2b's delivery report)."""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from billing.services import bill_run_compute
from billing.tests.conftest import add_month
from conftest import make_customer

JULY = datetime.date(2025, 7, 1)
IN_AUGUST = time_machine.travel(datetime.datetime(2025, 8, 12, 9, tzinfo=ZoneInfo("America/Chicago")), tick=False)


@pytest.fixture
def july_issued(db):
    paper = make_customer("700000001", "Pat Paper", bill_delivery="paper")
    mailed = make_customer("700000002", "Eve Email", billing_email="eve@example.com")
    for customer in (paper, mailed):
        add_month(customer, JULY, "9")
    bill_run_compute(period=JULY, issue=True, actor_label="test", today=datetime.date(2025, 8, 3))


@IN_AUGUST
def test_the_billing_home_shows_last_months_delivery_report(client_for, biller, july_issued):
    page = client_for(biller).get("/staff/").content.decode()
    assert "How July 2025’s bills reached customers" in page
    assert "2 issued · 0 emailed · 0 printed" in page and "2 reached nobody" in page
    assert "Pat Paper (700000001)" in page and "Eve Email (700000002)" in page


@IN_AUGUST
def test_before_anything_is_issued_the_home_says_the_report_follows(client_for, biller):
    page = client_for(biller).get("/staff/").content.decode()
    assert "No bill of July 2025 is issued yet" in page and "reached customers" not in page


@IN_AUGUST
def test_operations_home_has_no_delivery_report(client_for, ops, july_issued):
    assert "reached customers" not in client_for(ops).get("/staff/").content.decode()
