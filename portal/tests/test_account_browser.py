"""What I owe, in a real browser (Playwright driving Debian's chromium): after a partial payment the
dashboard leads with the amount still due and the payment link carries it; the payments page lists the
payment and how to pay, and fits a phone's width."""

import datetime
import os
from pathlib import Path

import pytest

from billing.account_services import payment_record
from conftest import browser_test

from .test_browser import signed_in_page

SHOTS = Path(os.environ.get("PORTAL_SCREENSHOTS", "/tmp/hydrospark-portal-screenshots"))

pytestmark = browser_test


@pytest.fixture(autouse=True)
def fixed_today():
    """The live server runs in another thread against the real clock: no frozen time here."""


@pytest.fixture(autouse=True)
def committed_data(transactional_db):
    """The live server runs in another thread: it sees committed data only."""


@pytest.mark.parametrize("width", [390, 1280])
def test_amount_due_after_a_partial_payment_and_the_payment_link(browser, live_server, bills, settings, width):
    settings.PAYMENT_URL = "https://pay.example.com/hydrospark?account={account}&amount={amount}"
    bill = bills["alice"]
    payment_record(
        customer=bill.customer,
        amount="20.00",
        paid_on=datetime.date.today(),
        method="card",
        reference="WEB-1",
        actor_label="test",
    )
    left = bill.total_amount - 20
    page = signed_in_page(browser, live_server, width=width)
    assert page.get_by_test_id("amount-due").inner_text() == f"${left:,.2f}"
    assert page.get_by_text(f"Due by {bill.due_date:%B} {bill.due_date.day}, {bill.due_date.year}").is_visible()
    pay = page.get_by_test_id("pay-online")
    assert pay.get_attribute("href") == f"https://pay.example.com/hydrospark?account=100000001&amount={left:.2f}"
    page.get_by_role("link", name="Payments and other ways to pay").click()
    page.wait_for_url("**/portal/payments/")
    assert page.get_by_text("WEB-1").is_visible() and page.get_by_role("heading", name="How to pay").is_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the payments page is {overflow}px wider than a {width}px screen"
    (SHOTS / str(width)).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / str(width) / "portal_payments.png"), full_page=True)
