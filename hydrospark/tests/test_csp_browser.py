"""Every kind of page under the strict Content-Security-Policy in a real browser (issue 10.18): nothing is
refused (no console violation), scripts still work, and the inline SVG charts keep their styles."""

import datetime

import pytest

from anomalies.models import Method
from anomalies.tests.factories import make_anomaly
from billing.models import Bill
from billing.services import bill_run_compute
from billing.tests.conftest import add_month
from conftest import PASSWORD, browser_test

pytestmark = browser_test

SEPTEMBER = datetime.date(2026, 9, 1)


@pytest.fixture
def account(transactional_db, alice_account):
    """Alice with two months of reads, an issued September bill and an anomaly."""
    add_month(alice_account, datetime.date(2026, 8, 1), "9")
    add_month(alice_account, SEPTEMBER, "12")
    bill_run_compute(period=SEPTEMBER, issue=True, actor_label="test", today=datetime.date(2026, 10, 3))
    anomaly = make_anomaly(alice_account, datetime.date(2026, 9, 12), method=Method.ROLLING)
    return {"customer": alice_account, "bill": Bill.objects.get(period=SEPTEMBER), "anomaly": anomaly}


def signed_in(browser, live_server, user):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(15_000)
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: violations.append(str(error)))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", user.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page, violations


def visit_all(page, violations, base, paths) -> dict:
    refused = {}
    for path in paths:
        response = page.goto(base + path)
        page.wait_for_load_state("networkidle")
        assert response.status in (200, 404), (path, response.status)
        assert "script-src 'self'" in response.headers["content-security-policy"]
        if violations:
            refused[path] = list(violations)
            violations.clear()
    return refused


def test_staff_pages_and_the_admin_run_without_a_violation(browser, live_server, account, biller, ops):
    customer, bill = account["customer"], account["bill"]
    page, violations = signed_in(browser, live_server, biller)
    paths = [
        "/staff/",
        f"/staff/customers/?q={customer.name}",
        f"/staff/customers/{customer.location_id}/",
        "/staff/billing/",
        "/staff/billing/runs/?period=2026-09",
        f"/staff/billing/bills/{bill.pk}/",
        "/staff/analytics/",
        "/staff/audit/",
        "/admin/",
        "/admin/billing/bill/",
        "/admin/billing/rateschedule/",
        "/admin/billing/rateschedule/add/",
        f"/admin/accounts/customer/{customer.pk}/change/",
        "/admin/metering/meterread/",
        "/staff/no-such-page/",
    ]
    assert visit_all(page, violations, live_server.url, paths) == {}
    page.goto(f"{live_server.url}/staff/")
    page.get_by_role("button", name=biller.email).click()  # Bootstrap's dropdown: scripts run
    assert page.get_by_role("button", name="Sign out").is_visible()

    page, violations = signed_in(browser, live_server, ops)
    paths = ["/staff/metering/imports/", "/staff/anomalies/", f"/staff/anomalies/{account['anomaly'].pk}/"]
    assert visit_all(page, violations, live_server.url, paths) == {}


def test_portal_pages_run_without_a_violation_and_charts_keep_their_styles(browser, live_server, account, alice):
    page, violations = signed_in(browser, live_server, alice)
    paths = ["/portal/", "/portal/usage/", "/portal/bills/", "/portal/profile/", "/accounts/email/"]
    assert visit_all(page, violations, live_server.url, paths) == {}
    page.goto(f"{live_server.url}/portal/bills/{account['bill'].pk}/")
    assert not violations
    background = page.locator("svg [id$=patch_1] > path").first  # the figure's white background: style="fill: #ffffff"
    assert background.get_attribute("style") is None and background.get_attribute("class").startswith("hs-s")
    assert background.evaluate("(path) => getComputedStyle(path).fill") == "rgb(255, 255, 255)"
