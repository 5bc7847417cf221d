"""Billing uploads the bank's payments file in a real browser (Playwright, Debian's chromium) and sees the
counts of its import, then downloads the rejected rows (issue 12 item 2)."""

import datetime
from pathlib import Path

from billing.models import Payment
from conftest import PASSWORD, browser_test

pytestmark = browser_test


def test_billing_uploads_a_payments_file_and_sees_the_counts(
    browser, live_server, transactional_db, biller, alice_account, bob_account, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    paid = datetime.date.today() - datetime.timedelta(days=1)  # the live server runs on the real clock
    bank = tmp_path / "bank.csv"
    bank.write_text(
        "location_id,amount,paid_on,method,reference\n"
        f"100000001,41.50,{paid},card,WEB-1\n"
        f"100000002,12.00,{paid},check,CHK-7\n"
        f"999999999,5.00,{paid},cash,X-1\n"
    )
    page = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True).new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", biller.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/staff/")

    page.get_by_role("link", name="Payment imports").first.click()
    page.wait_for_url("**/staff/billing/payment-imports/")
    page.set_input_files("input[type=file]", str(bank))
    page.get_by_role("button", name="Upload and import").click()
    page.wait_for_url("**/staff/billing/payment-imports/*/")
    page.locator("#import-counts").wait_for()
    assert page.locator("#count-rows").inner_text() == "3"
    assert page.locator("#count-recorded").inner_text() == "2"
    assert page.locator("#count-rejected").inner_text() == "1"
    assert page.get_by_text("$53.50").is_visible() and page.get_by_text("unknown location").is_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download rejected rows (CSV)").click()
    assert "4,unknown location,999999999" in Path(download.value.path()).read_text()
    assert Payment.objects.count() == 2
