"""A customer reads a bill on a phone in a real browser (Playwright, Debian's chromium): the account section
fits the screen, nothing is cut off, and the PDF link answers a PDF."""

import datetime
from decimal import Decimal as D

from billing.account_services import payment_record
from billing.late_fees import late_fees_apply
from billing.models import Bill
from billing.services import bill_run_compute
from billing.tests.conftest import add_month
from conftest import PASSWORD, browser_test

pytestmark = browser_test

JUNE_2019, JULY_2019 = datetime.date(2019, 6, 1), datetime.date(2019, 7, 1)


def test_a_customer_reads_the_account_on_a_phone_without_scrolling_sideways(
    browser, live_server, transactional_db, alice_account
):
    """July's account lists a dated payment and a late fee: dates, labels and amounts must share 390 px."""
    add_month(alice_account, JUNE_2019, "12")
    add_month(alice_account, JULY_2019, "25.5")
    bill_run_compute(period=JUNE_2019, issue=True, actor_label="test", issue_date=datetime.date(2019, 7, 1))
    payment_record(
        customer=alice_account,
        amount=D("10.00"),
        paid_on=datetime.date(2019, 7, 10),
        method="bank_transfer",
        actor_label="test",
    )
    late_fees_apply(as_of=datetime.date(2019, 7, 31), actor_label="test")
    bill_run_compute(period=JULY_2019, issue=True, actor_label="test", issue_date=datetime.date(2019, 8, 1))
    bill = Bill.objects.get(customer=alice_account, period=JULY_2019)
    page = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2).new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", alice_account.user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/portal/")

    page.goto(f"{live_server.url}/portal/bills/{bill.pk}/")
    table = page.locator("article.hs-bill table").first
    assert page.get_by_role("rowheader", name="Total amount due").is_visible()
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    card = page.locator("article.hs-bill").bounding_box()
    box = table.bounding_box()
    assert box["x"] >= card["x"] and box["x"] + box["width"] <= card["x"] + card["width"] + 0.5
    for cell in page.locator("article.hs-bill table td.money").all():
        amount = cell.bounding_box()
        assert amount["x"] + amount["width"] <= card["x"] + card["width"] + 0.5, cell.inner_text()
    assert page.get_by_text("Payment received, thank you (Bank transfer (ACH))").is_visible()
    response = page.request.get(f"{live_server.url}/portal/bills/{bill.pk}/pdf/")
    assert response.ok and response.body().startswith(b"%PDF")
