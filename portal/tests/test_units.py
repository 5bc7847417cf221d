"""Gallons mode is gallons everywhere on the dashboard: the notices and the forecast's explanation too."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.cache import cache

from anomalies.models import Anomaly
from anomalies.tests.factories import make_incident


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


@pytest.fixture
def unusual_day(alice_reads):
    make_incident(alice_reads, datetime.date(2026, 11, 18), excess="1.5", cost="4.50")  # what detection makes of it
    return Anomaly.objects.create(
        customer=alice_reads,
        date=datetime.date(2026, 11, 18),
        method="rolling",
        usage_ccf=Decimal("2.0"),
        mean_ccf=Decimal("0.5"),
        std_ccf=Decimal("0.1"),
        detected_at=datetime.datetime(2026, 11, 19, tzinfo=datetime.UTC),
    )


def forecast_card(page: str) -> str:
    return re.search(r'id="forecast-title".*?</section>', page, re.S).group(0)


def test_in_gallons_the_notices_and_the_forecast_explanation_are_in_gallons(client_for, alice, unusual_day):
    page = client_for(alice).get("/portal/?unit=gallons").content.decode()
    assert "Unusually high use on 18 November: 1,122 gallons more than usual, about $4.50 on your bill" in page
    card = forecast_card(page)
    assert "gallons read so far" in card and "gallons a day" in card and "CCF" not in card


def test_in_ccf_they_stay_in_ccf(client_for, alice, unusual_day):
    page = client_for(alice).get("/portal/?unit=ccf").content.decode()
    assert "Unusually high use on 18 November: 1.5 CCF more than usual, about $4.50 on your bill" in page
    assert "9.50 CCF read so far" in forecast_card(page)


def test_the_summary_under_a_chart_reads_in_the_chosen_unit_rounded_as_the_table():
    from portal.selectors import UsageRow, UsageSeries, chart_text

    rows = [UsageRow("Oct 2026", datetime.date(2026, 10, 1), Decimal("1.0050")),
            UsageRow("Nov 2026", datetime.date(2026, 11, 1), Decimal("0.5000"))]
    series = UsageSeries("13m", "month", rows, datetime.date(2026, 11, 1))
    # float arithmetic made 1.005 CCF "1.00"; the table (hydrospark.units, half up) says 1.01
    assert chart_text(series, "ccf") == (
        "2 months from Oct 2026 to Nov 2026: total 1.51 CCF, average 0.75 CCF per month, highest 1.01 CCF in Oct 2026."
    )
    assert chart_text(series, "gallons") == (
        "2 months from Oct 2026 to Nov 2026: total 1,126 gallons, average 563 gallons per month, "
        "highest 752 gallons in Oct 2026."
    )


def test_the_dashboards_chart_summary_follows_the_unit(client_for, alice, alice_reads):
    page = client_for(alice).get("/portal/?unit=gallons").content.decode()
    summary = re.search(r'id="dashboard-chart-summary">(.*?)</figcaption>', page, re.S).group(1)
    assert "gallons per month" in summary and "CCF" not in summary
