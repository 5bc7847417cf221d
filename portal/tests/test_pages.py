"""The customer's pages: dashboard, usage, downloads, bills and profile."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import AuditEvent
from anomalies.models import Anomaly
from anomalies.tests.factories import make_incident
from metering import charts

from .conftest import give_reads


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


def test_dashboard_shows_use_so_far_the_anticipated_bill_the_last_bill_and_a_chart(client_for, alice, bills):
    response = client_for(alice).get("/portal/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Use so far in November" in page and "9.50 CCF" in page  # 19 days × 0.5
    forecast = response.context["forecast"]
    assert forecast.predicted_ccf == Decimal("15.0000")  # 30 days × 0.5
    assert f"${forecast.total}" in page and "Likely between" in page
    assert "read so far, plus 11 days to go" in page
    assert "$" + str(bills["alice"].total_amount) in page and "Unpaid" in page
    assert "/portal/charts/dashboard.svg?unit=ccf" in page and 'aria-describedby="dashboard-chart-summary"' in page
    assert "13 months from Nov 2025 to Nov 2026" in page  # the text alternative


def test_dashboard_shows_open_anomaly_notices(client_for, alice, alice_reads):
    Anomaly.objects.create(
        customer=alice_reads,
        date=datetime.date(2026, 11, 18),
        method="rolling",
        usage_ccf=Decimal("2.0"),
        mean_ccf=Decimal("0.5"),
        std_ccf=Decimal("0.1"),
        detected_at=datetime.datetime(2026, 11, 19, tzinfo=datetime.UTC),
    )
    make_incident(alice_reads, datetime.date(2026, 11, 18), excess="1.5", cost="4.50")  # what detection makes of it
    page = client_for(alice).get("/portal/").content.decode()
    assert "Your meter shows unusual use" in page
    assert "Unusually high use on 18 November: 1.5 CCF more than usual, about $4.50 on your bill" in page


def test_a_new_customer_without_reads_or_bills_sees_friendly_placeholders(client_for, alice):
    page = client_for(alice).get("/portal/").content.decode()
    assert "We need a few weeks of meter reads" in page
    assert "No bills yet" in page and "No meter reads yet" in page


def chart_url(client, page="/portal/", size="wide"):
    response = client.get(page)
    return response.context["chart_url"] + f"&size={size}"


def test_charts_are_svg_images_no_browser_keeps(client_for, alice, alice_reads):
    client = client_for(alice)
    response = client.get(chart_url(client))
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<?xml") and b"<svg" in response.content
    # A customer's chart is their data: never stored, not even by their own browser (issue 10.18).
    assert response["Cache-Control"] == "private, no-store"
    assert client.get(chart_url(client, size="narrow")).status_code == 200


@pytest.mark.parametrize("url", ["/portal/charts/nothing.svg?unit=ccf&size=wide", "/portal/charts/12m.svg?unit=ccf"])
def test_unknown_charts_are_404(client_for, alice, alice_reads, url):
    assert client_for(alice).get(url).status_code == 404


def test_a_repeat_view_draws_no_chart(client_for, alice, alice_reads, monkeypatch):
    client = client_for(alice)
    url = chart_url(client)
    client.get(url)
    drawn = []
    monkeypatch.setattr(charts, "monthly_usage_chart", lambda *a, **k: drawn.append(1) or b"<svg></svg>")
    client.get(url)
    assert drawn == []


def test_a_new_read_redraws_the_chart(client_for, alice, alice_reads, monkeypatch):
    client = client_for(alice)
    client.get(chart_url(client))
    give_reads(alice_reads, first=datetime.date(2026, 11, 20), last=datetime.date(2026, 11, 20))
    drawn = []
    real = charts.monthly_usage_chart
    monkeypatch.setattr(charts, "monthly_usage_chart", lambda *a, **k: drawn.append(1) or real(*a, **k))
    client.get(chart_url(client))
    assert drawn


def test_the_dashboard_makes_a_fixed_number_of_queries(client_for, alice, bills):
    client = client_for(alice)
    client.get("/portal/")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/portal/")
    # session, login, its accounts, reads' version, 13 months, last bill, ledger (2), notices, chosen alerts,
    # comparison group: each a single query whatever the history's length
    assert response.status_code == 200 and len(queries) <= 12


@pytest.mark.parametrize(
    "query, expected",
    [
        ("?range=30d", "30 days from Oct 21, 2026 to Nov 19, 2026"),
        ("?range=12m", "12 months from Dec 2025 to Nov 2026"),
        ("?range=all", "19 months from May 2025 to Nov 2026"),
        ("?range=nonsense", "12 months from Dec 2025 to Nov 2026"),
    ],
)
def test_usage_page_ranges(client_for, alice, alice_reads, query, expected):
    page = client_for(alice).get("/portal/usage/" + query).content.decode()
    assert expected in page
    assert "<table" in page and "/portal/charts/" in page


def test_usage_in_gallons_is_remembered_for_the_session(client_for, alice, alice_reads):
    client = client_for(alice)
    page = client.get("/portal/usage/?range=30d&unit=gallons").content.decode()
    assert "374 gallons" in page  # 0.5 CCF
    assert "374 gallons" in client.get("/portal/usage/?range=30d").content.decode()


def test_usage_compares_with_the_same_period_last_year(client_for, alice, alice_reads):
    response = client_for(alice).get("/portal/usage/?range=12m")
    row = next(r for r in response.context["rows"] if r.start == datetime.date(2026, 5, 1))
    assert row.usage_ccf == Decimal("15.5000") and row.last_year_ccf == Decimal("15.5000")


def test_reads_download_as_csv(client_for, alice, alice_reads):
    response = client_for(alice).get("/portal/usage/reads.csv?range=30d")
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="hydrospark-usage-100000001-30d.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["date", "usage_ccf", "usage_gallons"]
    assert rows[1] == ["2026-10-21", "0.5000", "374.00"]
    assert rows[-1][0] == "2026-11-19" and len(rows) == 31


def test_all_reads_download_by_default(client_for, alice, alice_reads):
    rows = client_for(alice).get("/portal/usage/reads.csv").content.decode().splitlines()
    assert rows[1].startswith("2025-05-01,")


def test_bills_list_with_status_and_bill_page_and_pdf(client_for, alice, bills):
    client = client_for(alice)
    bill = bills["alice"]
    page = client.get("/portal/bills/").content.decode()
    assert "October 2026" in page and "Unpaid" in page and f"/portal/bills/{bill.pk}/pdf/" in page
    page = client.get(f"/portal/bills/{bill.pk}/").content.decode()
    assert bill.number in page and "Your account" in page and "Total amount due" in page
    response = client.get(f"/portal/bills/{bill.pk}/pdf/")
    assert response["Content-Type"] == "application/pdf" and response.content.startswith(b"%PDF")
    assert f"HydroSpark-bill-{bill.number}.pdf" in response["Content-Disposition"]


def test_profile_change_of_phone_and_address_is_saved_and_audited(client_for, alice, alice_account):
    client = client_for(alice)
    response = client.post(
        "/portal/profile/",
        {"form": "contact", "phone": " (214)  555-0199 ", "mailing_address": "2 Elm St,\n Dallas, TX 75201"},
        follow=True,
    )
    assert "Contact details saved." in response.content.decode()
    alice_account.refresh_from_db()
    assert alice_account.phone == "(214) 555-0199"
    assert alice_account.mailing_address == "2 Elm St, Dallas, TX 75201"
    event = AuditEvent.objects.get(action="customer.update")
    assert event.actor == alice and set(event.changes) == {"phone", "mailing_address"}


def test_profile_refuses_a_bad_phone_number_and_changes_nothing(client_for, alice, alice_account):
    response = client_for(alice).post(
        "/portal/profile/", {"form": "contact", "phone": "call me", "mailing_address": "2 Elm St"}
    )
    assert "Enter a phone number with at least 7 digits" in response.content.decode()
    alice_account.refresh_from_db()
    assert alice_account.phone == "(214) 555-0001" and not AuditEvent.objects.exists()


def test_profile_refuses_an_empty_address(client_for, alice):
    response = client_for(alice).post("/portal/profile/", {"form": "contact", "phone": "", "mailing_address": " "})
    assert "This field is required" in response.content.decode()


def test_notification_preferences(client_for, alice, alice_account):
    client_for(alice).post("/portal/profile/", {"form": "preferences"})
    alice_account.refresh_from_db()
    assert not alice_account.notify_usage_alerts


def test_profile_links_to_allauths_email_and_password_pages(client_for, alice):
    page = client_for(alice).get("/portal/profile/").content.decode()
    assert 'href="/accounts/email/"' in page and 'href="/accounts/password/change/"' in page
