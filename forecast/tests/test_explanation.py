"""The anticipated bill's one-line explanation tells the truth about the figure it used, in the
customer's unit."""

import datetime
from decimal import Decimal as D

from billing.pricing import STANDARD_PLAN, price
from forecast.selectors import AnticipatedBill


def forecast(*, recent: str, daily: str, has_season: bool = True, days_left: int = 6) -> AnticipatedBill:
    predicted = D("10.46") + D(daily) * days_left
    bill = price(predicted, STANDARD_PLAN, 11)
    return AnticipatedBill(
        location_id="100000001",
        period_start=datetime.date(2026, 11, 1),
        period_end=datetime.date(2026, 11, 30),
        as_of=datetime.date(2026, 11, 24),
        observed_ccf=D("10.46"),
        days_read=24,
        days_left=days_left,
        recent_rate=D(recent),
        daily_rate=D(daily),
        has_season=has_season,
        predicted_ccf=predicted,
        low_ccf=predicted,
        high_ccf=predicted,
        bill=bill,
        low_total=bill.total,
        high_total=bill.total,
    )


def test_a_forecast_below_the_recent_rate_says_so_and_why():
    text = forecast(recent="0.43", daily="0.28").explanation
    assert text.startswith("10.46 CCF read so far, plus 6 days to go at about 0.28 CCF a day")
    assert "less than your recent 0.43 CCF a day" in text and "same weeks of past years" not in text
    assert "these weeks of past years" in text
    assert "adjusted to your recent" not in text  # the old sentence claimed the 0.28 was the 0.43


def test_a_forecast_above_the_recent_rate_says_more():
    assert "more than your recent 0.30 CCF a day" in forecast(recent="0.30", daily="0.45").explanation


def test_a_forecast_close_to_the_recent_rate_says_it_is_in_line():
    text = forecast(recent="0.44", daily="0.45").explanation
    assert "at about 0.45 CCF a day, in line with your recent 0.44 CCF a day" in text


def test_without_past_years_the_forecast_is_the_recent_average():
    text = forecast(recent="0.50", daily="0.50", has_season=False).explanation
    assert text.endswith("at about 0.50 CCF a day, your average over recent weeks (0.50 CCF a day).")


def test_the_explanation_follows_the_unit():
    text = forecast(recent="0.43", daily="0.28").explain("gallons")
    assert text.startswith("7,824 gallons read so far, plus 6 days to go at about 209 gallons a day")
    assert "less than your recent 322 gallons a day" in text and "CCF" not in text


def test_a_complete_month_says_so():
    assert forecast(recent="0.4", daily="0.4", days_left=0).explanation.startswith("All of November's reads are in")
