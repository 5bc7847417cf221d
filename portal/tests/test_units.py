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
