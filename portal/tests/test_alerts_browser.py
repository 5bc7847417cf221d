"""Alerts, comparison and the account switcher as a customer sees them in Chromium (issue 16), on a 390 px phone
and a desktop: a budget alert crossing 90%, use while away, no comparison under 20 similar homes, one with 20,
and switching to a second account. Screenshots go to PORTAL_SCREENSHOTS."""

import datetime
import os
from decimal import ROUND_DOWN, Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from conftest import browser_test, make_customer
from forecast.selectors import anticipated_bill
from metering.models import MeterRead
from portal.services import alerts_check, comparisons_refresh

from .conftest import give_reads
from .test_browser import signed_in_page

SHOTS = Path(os.environ.get("PORTAL_SCREENSHOTS", "/tmp/hydrospark-portal-screenshots"))
WIDTHS = [390, 1280]

pytestmark = browser_test


@pytest.fixture(autouse=True)
def fixed_today():
    """The live server runs in another thread against the real clock: no frozen time here."""


@pytest.fixture(autouse=True)
def committed_data(transactional_db):
    """The live server runs in another thread: it sees committed data only."""


def today():
    return timezone.localdate()


def shoot(page, width, name):
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name} is {overflow}px wider than a {width}px screen"
    (SHOTS / str(width)).mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / str(width) / f"{name}.png"), full_page=True)


@pytest.fixture
def read_alice(alice_account):
    """Alice read from 400 days ago to yesterday at 0.5 CCF a day."""
    give_reads(alice_account, first=today() - datetime.timedelta(days=400), last=today() - datetime.timedelta(days=1))
    return alice_account


@pytest.mark.parametrize("width", WIDTHS)
def test_a_budget_alert_crossing_90_percent_set_on_the_alerts_page(browser, live_server, read_alice, width):
    total = anticipated_bill(customer=read_alice, as_of=today()).total
    budget = (total / Decimal("0.93")).quantize(Decimal("0.01"), ROUND_DOWN)
    page = signed_in_page(browser, live_server, width=width)
    if width < 992:  # the nav folds behind its menu button on a phone
        page.get_by_role("button", name="Menu").click()
    page.get_by_role("link", name="Alerts", exact=True).click()
    page.wait_for_url("**/portal/alerts/")
    page.get_by_label("Monthly budget ($)").fill(str(budget))
    page.get_by_role("button", name="Save alerts").click()
    assert page.get_by_text("Your alerts are saved.").is_visible()
    alerts_check()  # the daily check (or the next import) finds the bill at 93% of the budget
    page.goto(f"{live_server.url}/portal/")
    alert = page.locator(".hs-chosen-alerts")
    assert "93% of your" in alert.inner_text() and "at 90%" in alert.inner_text()
    shoot(page, width, "portal_budget_alert")


@pytest.mark.parametrize("width", WIDTHS)
def test_vacation_mode_tells_of_water_used_while_away(browser, live_server, read_alice, width):
    away_from, away_until = today() - datetime.timedelta(days=6), today() - datetime.timedelta(days=2)
    MeterRead.objects.filter(customer=read_alice, read_date__range=(away_from, away_until)).update(usage_ccf=0)
    MeterRead.objects.filter(customer=read_alice, read_date=away_from + datetime.timedelta(days=2)).update(
        usage_ccf=Decimal("1.2")
    )
    page = signed_in_page(browser, live_server, width=width)
    page.goto(f"{live_server.url}/portal/alerts/")
    page.get_by_label("Away from").fill(away_from.isoformat())
    page.get_by_label("Away until").fill(away_until.isoformat())
    page.get_by_role("button", name="Save alerts").click()
    assert page.get_by_text("Your alerts are saved.").is_visible()
    alerts_check()
    page.goto(f"{live_server.url}/portal/?unit=gallons")
    day = away_from + datetime.timedelta(days=2)
    text = page.locator(".hs-chosen-alerts").inner_text()
    assert f"Water was used while you were away: 898 gallons from {day:%B} {day.day} on" in text
    page.goto(f"{live_server.url}/portal/alerts/")
    assert page.get_by_text("Water was used while you were away").is_visible()
    shoot(page, width, "portal_vacation_alert")


def similar_homes(count, month):
    """`count` residential accounts in alice's ZIP read every day of `month`, each its own use."""
    last = today().replace(day=1) - datetime.timedelta(days=1)
    for n in range(count):
        give_reads(make_customer(f"3{n:08d}", f"Neighbour {n}"), usage=f"{0.2 + n / 20:.4f}", first=month, last=last)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_comparison_shows_from_20_similar_homes_and_is_hidden_below(browser, live_server, read_alice, width):
    month = (today().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    similar_homes(18, month)  # and alice: 19
    comparisons_refresh(period=month)
    page = signed_in_page(browser, live_server, width=width)
    assert page.get_by_role("heading", name="How you compare").count() == 0
    last = make_customer("399999999", "Neighbour last")
    give_reads(last, usage="0.9000", first=month, last=today().replace(day=1) - datetime.timedelta(days=1))
    comparisons_refresh(period=month)
    page.reload()
    card = page.locator(".hs-comparison")
    assert f"How you compare in {month:%B}" in card.inner_text() and "20 residential accounts" in card.inner_text()
    assert "Neighbour" not in page.content()
    shoot(page, width, "portal_comparison")


@pytest.mark.parametrize("width", WIDTHS)
def test_a_landlord_switches_to_a_second_account(browser, live_server, read_alice, alice, width):
    rental = make_customer(
        "100000007", "Alice Archer", mailing_address="7 Oak Ave, Dallas, TX 75202", facility_name="Oak Ave rental"
    )
    rental.user = alice
    rental.save()
    page = signed_in_page(browser, live_server, width=width)
    if width < 992:
        page.get_by_role("button", name="Menu").click()
    page.locator("#account-switcher").click()
    page.get_by_role("button", name="100000007 · Oak Ave rental").click()
    page.wait_for_url("**/portal/")
    assert page.get_by_text("Showing account 100000007, Alice Archer.").is_visible()
    assert page.get_by_text("Account 100000007 · 7 Oak Ave, Dallas, TX 75202").is_visible()
    if width < 992:
        page.get_by_role("button", name="Menu").click()
    page.locator("#account-switcher").click()  # open, to show the two accounts in the screenshot
    shoot(page, width, "portal_account_switcher")
    page.goto(f"{live_server.url}/portal/bills/")
    assert "100000001" not in page.locator("main").inner_text()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_new_cards_pages_and_switcher_have_no_axe_violation(browser, live_server, axe, read_alice, alice, width):
    """The dashboard with a budget alert, a comparison and the switcher, the Alerts page, and its refused form."""
    from portal.models import AlertSetting

    rental = make_customer("100000007", "Alice Archer", facility_name="Oak Ave rental")
    rental.user = alice
    rental.save()
    month = (today().replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    similar_homes(19, month)
    comparisons_refresh(period=month)
    AlertSetting.objects.create(customer=read_alice, budget=Decimal("20.00"))
    alerts_check()
    page = signed_in_page(browser, live_server, width=width)
    assert page.locator(".hs-comparison").count() == 1 and page.locator(".hs-chosen-alerts").count() == 1
    assert axe(page) == []
    page.goto(f"{live_server.url}/portal/alerts/")
    assert axe(page) == []
    page.get_by_label("Away from").fill("2026-12-20")
    page.get_by_role("button", name="Save alerts").click()
    assert page.get_by_text("Enter both dates you are away, or neither.").is_visible()
    assert axe(page) == []
