"""The forecasting method, pure: a matrix of daily reads in, usage forecasts out."""

import datetime

import numpy as np
import pandas as pd
import pytest

from billing.pricing import STANDARD_PLAN, price_cents
from forecast.backtest import METHODS, backtest, months_between, summary_rows
from forecast.methods import DailyMatrix, daily_matrix, forecast_usage, naive_last_month, naive_last_year
from hydrospark.demo.generator import generate

START = datetime.date(2023, 1, 1)


def matrix_of(*series, start=START):
    """A DailyMatrix from per-customer lists of daily use (None = no read)."""
    width = max(len(s) for s in series)
    values = np.full((len(series), width), np.nan)
    for i, s in enumerate(series):
        values[i, : len(s)] = [np.nan if v is None else v for v in s]
    return DailyMatrix(np.arange(1, len(series) + 1), start, values)


def days_until(day):
    return (day - START).days + 1


def test_steady_use_is_forecast_exactly():
    matrix = matrix_of([1.0] * days_until(datetime.date(2025, 7, 10)))
    forecast = forecast_usage(matrix, period=datetime.date(2025, 7, 1), as_of=datetime.date(2025, 7, 10))
    assert forecast.observed[0] == pytest.approx(10.0)
    assert forecast.days_read[0] == 10 and forecast.days_left[0] == 21
    assert forecast.predicted[0] == pytest.approx(31.0)
    assert forecast.low[0] < 31.0 < forecast.high[0]


def test_reads_after_the_as_of_date_are_never_used():
    base = [1.0] * days_until(datetime.date(2025, 7, 31))
    wild = base[: days_until(datetime.date(2025, 7, 10))] + [50.0] * 21
    kwargs = {"period": datetime.date(2025, 7, 1), "as_of": datetime.date(2025, 7, 10)}
    assert forecast_usage(matrix_of(base), **kwargs).predicted == pytest.approx(
        forecast_usage(matrix_of(wild), **kwargs).predicted
    )


def test_the_season_comes_from_the_customers_own_past_years():
    dates = pd.date_range(START, datetime.date(2025, 6, 30))
    use = [2.0 if d.month == 7 else 1.0 for d in dates]  # every July twice the usual
    forecast = forecast_usage(matrix_of(use), period=datetime.date(2025, 7, 1), as_of=datetime.date(2025, 6, 30))
    assert forecast.has_season[0]
    assert forecast.predicted[0] == pytest.approx(62.0, rel=0.05)  # weeks, not dates, line up


def test_without_a_year_of_history_the_recent_average_is_used():
    use = [None] * 700 + [0.5] * 100
    matrix = matrix_of(use)
    as_of = matrix.end
    forecast = forecast_usage(matrix, period=as_of, as_of=as_of)
    assert not forecast.has_season[0]
    assert forecast.daily_rate[0] == pytest.approx(0.5)


def test_a_big_change_of_level_carries_through_in_good_part_but_a_small_one_is_damped():
    # Two months of triple use: nothing in this customer's record says whether it will last, so the
    # candidates that carry it (seasonal run rate, recent mean) and the one that does not (a year ago)
    # share the forecast by their past errors, which were alike: most of the change carries.
    as_of = datetime.date(2025, 6, 30)
    normal = [1.0] * (days_until(as_of) - 56)
    leak = matrix_of(normal + [3.0] * 56)
    wobble = matrix_of(normal + [1.05] * 56)
    kwargs = {"period": datetime.date(2025, 7, 1), "as_of": as_of}
    assert 2.0 < forecast_usage(leak, **kwargs).daily_rate[0] <= 3.0
    assert 1.0 <= forecast_usage(wobble, **kwargs).daily_rate[0] < 1.02


def test_days_not_read_yet_are_predicted_too():
    use = [1.0] * (days_until(datetime.date(2025, 7, 8)))  # reads stop on the 8th; the as-of date is the 10th
    forecast = forecast_usage(matrix_of(use), period=datetime.date(2025, 7, 1), as_of=datetime.date(2025, 7, 10))
    assert forecast.days_read[0] == 8 and forecast.days_left[0] == 23
    assert forecast.predicted[0] == pytest.approx(31.0)


def test_forecasting_a_month_that_has_not_started_predicts_all_of_it():
    use = [1.0] * days_until(datetime.date(2025, 6, 20))
    forecast = forecast_usage(matrix_of(use), period=datetime.date(2025, 7, 1), as_of=datetime.date(2025, 6, 20))
    assert forecast.observed[0] == 0 and forecast.days_left[0] == 31


def test_naive_forecasts_are_last_month_and_the_same_month_last_year():
    dates = pd.date_range(START, datetime.date(2025, 6, 30))
    use = [d.month + d.year % 10 / 10 for d in dates]
    matrix = matrix_of(use)
    assert naive_last_month(matrix, period=datetime.date(2025, 6, 1))[0] == pytest.approx(5.5 * 31)
    assert naive_last_year(matrix, period=datetime.date(2025, 6, 1))[0] == pytest.approx(6.4 * 30)


def test_daily_matrix_pivots_reads_and_drops_those_outside_the_span():
    frame = pd.DataFrame(
        {
            "customer_id": [7, 7, 3, 3],
            "read_date": pd.to_datetime(["2025-01-01", "2025-01-03", "2025-01-02", "2025-02-01"]),
            "usage_ccf": [1.0, 3.0, 2.0, 9.0],
        }
    )
    matrix = daily_matrix(frame, start=datetime.date(2025, 1, 1), end=datetime.date(2025, 1, 3))
    assert list(matrix.customer_ids) == [3, 7]
    np.testing.assert_array_equal(matrix.values, [[np.nan, 2.0, np.nan], [1.0, np.nan, 3.0]])


def _totals(usage, rows, period):
    units = np.round(np.nan_to_num(usage) * 10_000).astype(np.int64)
    priced = price_cents(units, STANDARD_PLAN, period.month)
    return (priced.usage_cents + priced.fees_cents) / 100


def test_the_method_beats_both_naive_forecasts_on_demo_data():
    data = generate(60, datetime.date(2023, 1, 1), datetime.date(2025, 12, 31), seed=5)
    ids = {loc: i for i, loc in enumerate(data.customers["location_id"])}
    frame = data.reads.assign(customer_id=data.reads["location_id"].map(ids).astype("int64"))
    matrix = daily_matrix(frame, start=datetime.date(2023, 1, 1), end=datetime.date(2025, 12, 31))
    months = months_between(datetime.date(2025, 1, 1), datetime.date(2025, 12, 1))
    rows = summary_rows(backtest(matrix, months=months, as_of_days=[0, 15], price_totals=_totals))
    for day in (0, 15):
        mape = {row["method"]: row["bill_mape"] for row in rows if row["as_of_day"] == day}
        assert mape[METHODS[0]] < min(mape[METHODS[1]], mape[METHODS[2]])
