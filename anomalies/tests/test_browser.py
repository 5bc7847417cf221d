"""The review queue in a real browser (Playwright driving Debian's chromium): tick every row of the
page with the header box, resolve them, and open an anomaly with its chart."""

import datetime

from anomalies.models import Anomaly, Method, Status
from anomalies.tests.factories import make_anomaly, store_reads
from conftest import PASSWORD, browser_test, make_customer

pytestmark = browser_test


def test_operations_tick_a_page_of_anomalies_resolve_them_and_open_one(browser, live_server, transactional_db, ops):
    carol = make_customer("300000001", "Carol Commerce")
    store_reads(carol, datetime.date(2026, 6, 1), [0.5, 0.6] * 30)
    for day in range(3):
        make_anomaly(carol, datetime.date(2026, 7, 10 + day), method=Method.ROLLING, usage="2.5", mean="0.55")
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", ops.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/staff/anomalies/days/")

    page.get_by_label("Select every anomaly on this page").check()
    assert page.locator("input.row-check:checked").count() == 3
    page.select_option("#id_bulk_resolution", "expected_use")
    page.fill("#id_bulk_note", "Pool filling")
    page.get_by_role("button", name="Resolve selected").click()
    assert page.get_by_text("3 anomalies marked reviewed: Expected use.").is_visible()
    assert set(Anomaly.objects.values_list("status", flat=True)) == {Status.REVIEWED}

    page.goto(f"{live_server.url}/staff/anomalies/days/?status=")
    page.get_by_role("link", name="Sun Jul 12, 2026").click()
    chart = page.locator("figure.chart svg[role=img]")
    assert chart.bounding_box()["width"] > 400
    assert page.get_by_text("Expected use · ops@test.hydrospark.com").is_visible()


def test_operations_resolve_incidents_from_the_queue_and_act_on_a_leak(browser, live_server, transactional_db, ops):
    from anomalies.models import Incident
    from anomalies.tests.factories import make_incident

    carol = make_customer("300000001", "Carol Commerce")
    store_reads(carol, datetime.date(2026, 6, 1), [0.5, 0.6] * 30)
    leak_days = [datetime.date(2026, 7, 10 + n) for n in range(4)]
    for day in leak_days:
        make_anomaly(carol, day, method=Method.LEAK, usage="2.5", mean="0.55")
    leak = make_incident(carol, leak_days[0], end=leak_days[-1], kind="leak", excess="7.8", cost="23.40")
    for n in range(2):
        make_incident(carol, datetime.date(2026, 6, 5 + 3 * n), cost=f"{n + 1}.00")
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.set_default_timeout(15_000)
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=login]", ops.email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{live_server.url}/staff/anomalies/?status=open&kind=spike")
    page.get_by_label("Select every incident on this page").check()
    page.select_option("#id_bulk_resolution", "expected_use")
    page.get_by_role("button", name="Resolve selected").click()
    assert page.get_by_text("2 incidents resolved: Expected use.").is_visible()

    page.goto(f"{live_server.url}/staff/anomalies/")
    page.get_by_role("link", name="Jul 10, 2026 – Jul 13").click()
    assert page.locator("figure.chart svg[role=img]").bounding_box()["width"] > 400
    page.select_option("#id_channel", "phone")
    page.fill("#id_contact_note", "Customer will check the irrigation")
    page.get_by_role("button", name="Record the contact").click()
    assert page.get_by_text("Contact recorded.").is_visible()
    page.get_by_role("button", name="Offer a leak allowance").click()
    assert page.get_by_text("Leak allowance offered: Billing will credit it").is_visible()
    page.get_by_label("Leak confirmed").check()
    page.get_by_role("button", name="Resolve the incident and its 4 days").click()
    leak.refresh_from_db()
    assert (leak.status, leak.allowance, leak.allowance_amount) == (Status.REVIEWED, "offered", leak.estimated_cost)
    assert set(Anomaly.objects.values_list("status", flat=True)) == {Status.REVIEWED}
    assert Incident.objects.filter(status=Status.OPEN).count() == 0
