"""The portal in a real browser (Playwright driving Debian's chromium): a customer's journey, and
every portal page rendered at phone and desktop width (screenshots under /tmp for a human to look at)."""

import os
import shutil
from pathlib import Path

import pytest

from conftest import browser_test

SHOTS = Path(os.environ.get("PORTAL_SCREENSHOTS", "/tmp/hydrospark-portal-screenshots"))

pytestmark = browser_test


@pytest.fixture(autouse=True)
def fixed_today():
    """The live server runs in another thread against the real clock: no frozen time here."""


@pytest.fixture(autouse=True)
def committed_data(transactional_db):
    """The live server runs in another thread: it sees committed data only."""


def signed_in_page(browser, live_server, *, width=1280, height=900):
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", "alice@example.com")
    page.fill("input[name=password]", "correct-horse-battery")
    page.click("button[type=submit]")
    page.wait_for_url("**/portal/")
    return page


def test_a_customer_sees_the_dashboard_opens_a_bill_gets_its_pdf_changes_the_phone_and_downloads_usage(
    browser, live_server, bills, alice_account
):
    page = signed_in_page(browser, live_server)
    chart = page.locator("figure.chart img")
    chart.wait_for()
    page.wait_for_function("document.querySelector('figure.chart img').complete")
    assert chart.evaluate("img => img.naturalWidth") > 400  # the server-drawn SVG arrived and decoded
    assert chart.bounding_box()["width"] > 400
    assert page.get_by_text("Anticipated bill for").is_visible()

    page.get_by_role("link", name="Bills").click()
    page.get_by_role("link", name="October 2026", exact=True).click()
    assert page.get_by_role("heading", name=f"Bill {bills['alice'].number}").is_visible()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download PDF").click()
    assert download.value.suggested_filename == f"HydroSpark-bill-{bills['alice'].number}.pdf"
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF")

    page.get_by_role("link", name="Profile").click()
    page.fill("input[name=phone]", "(469) 555-0123")
    page.get_by_role("button", name="Save contact details").click()
    assert page.get_by_text("Contact details saved.").is_visible()
    alice_account.refresh_from_db()
    assert alice_account.phone == "(469) 555-0123"

    page.get_by_role("link", name="Usage").click()
    page.get_by_role("link", name="Last 30 days").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Download reads (CSV)").click()
    assert Path(download.value.path()).read_text().startswith("date,usage_ccf,usage_gallons\n")


PAGES = ["/portal/", "/portal/usage/", "/portal/usage/?range=30d", "/portal/usage/?range=all", "/portal/bills/"]
PAGES += ["BILL", "/portal/profile/"]


@pytest.mark.parametrize("width", [390, 1280])
def test_every_portal_page_renders_at_phone_and_desktop_width(browser, live_server, bills, width):
    shutil.rmtree(SHOTS / str(width), ignore_errors=True)
    (SHOTS / str(width)).mkdir(parents=True)
    page = signed_in_page(browser, live_server, width=width)
    for path in PAGES:
        url = f"/portal/bills/{bills['alice'].pk}/" if path == "BILL" else path
        response = page.goto(live_server.url + url)
        assert response.status == 200
        # nothing wider than the screen: a phone must never scroll sideways
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{url} is {overflow}px wider than a {width}px screen"
        name = url.strip("/").replace("/", "_").replace("?", "_") or "home"
        page.screenshot(path=str(SHOTS / str(width) / f"{name}.png"), full_page=True)
