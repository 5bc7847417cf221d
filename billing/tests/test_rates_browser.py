"""Billing adds a rate version in the admin and bills a period with it, in a real browser (issue 10.1)."""

import datetime
from decimal import Decimal as D

import pytest

from billing.models import Bill, RateSchedule
from conftest import PASSWORD, browser_test

from .conftest import add_month

pytestmark = browser_test
expect = pytest.importorskip("playwright.sync_api").expect

OCTOBER = datetime.date(2026, 10, 1)


def sign_in(browser, live_server, user):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/staff/")
    return page


def test_billing_adds_a_rate_version_in_the_admin_and_bills_october_with_it(
    browser, live_server, transactional_db, biller, alice_account, time_machine
):
    time_machine.move_to(datetime.datetime(2026, 11, 10, 12, 0), tick=True)
    add_month(alice_account, OCTOBER, "12")
    page = sign_in(browser, live_server, biller)

    page.goto(f"{live_server.url}/admin/billing/rateschedule/add/")
    page.fill("#id_name", "2026 rates")
    page.fill("#id_effective_from", "2026-01-01")
    page.fill("#id_tiers-0-up_to", "10")
    page.fill("#id_tiers-0-rate", "3.00")
    page.get_by_text("Add another Rate tier").click()  # the admin's inline script, under the CSP
    page.fill("#id_tiers-1-rate", "4.00")
    page.get_by_text("Add another Rate fee").click()
    page.select_option("#id_fees-0-code", "base")
    page.fill("#id_fees-0-label", "Base service fee")
    page.fill("#id_fees-0-amount", "16.00")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_text("was added successfully")).to_be_visible()
    schedule = RateSchedule.objects.get(name="2026 rates")

    page.goto(f"{live_server.url}/staff/billing/runs/?period=2026-10")
    page.get_by_role("button", name="Compute drafts").click()
    expect(page.get_by_text("Drafts ready")).to_be_visible()
    bill = Bill.objects.get(customer=alice_account, period=OCTOBER)
    assert bill.rate_schedule == schedule
    tiers = list(bill.lines.filter(kind="tier").order_by("position").values_list("quantity", "rate", "amount"))
    assert tiers == [(D("10"), D("3"), D("30.00")), (D("2"), D("4"), D("8.00"))]
    assert bill.total_amount == D("54.00")  # 38.00 (October: no seasonal multiplier) + 16.00

    page.get_by_role("button", name="Issue 1 draft").click()
    page.get_by_role("button", name="Yes, issue 1 bill ($54.00)").click()
    expect(page.get_by_text("1 bills issued for October 2026")).to_be_visible()
    assert Bill.objects.get(pk=bill.pk).status == Bill.Status.ISSUED
