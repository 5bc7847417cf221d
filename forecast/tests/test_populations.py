"""SPEC §4 on populations the method was not built on: it wins on each, and its range holds about 80%."""

import dataclasses
import datetime
import functools

import numpy as np
import pytest

from billing.pricing import STANDARD_PLAN, price_cents
from forecast.backtest import METHODS, backtest, months_between, summary_rows
from forecast.methods import DailyMatrix, forecast_usage
from forecast.populations import END, POPULATIONS, population_matrix, real_export_matrix
from hydrospark.settings import BASE_DIR

MONTHS = months_between(datetime.date(2025, 11, 1), END)


def totals(usage, rows, period):
    units = np.round(np.nan_to_num(usage) * 10_000).astype(np.int64)
    priced = price_cents(units, STANDARD_PLAN, period.month)
    return (priced.usage_cents + priced.fees_cents) / 100


@functools.cache
def judged(population, customers=150):
    """{as-of day: {method: row}} of the backtest on a smaller draw of the population."""
    matrix = population_matrix(dataclasses.replace(population, customers=customers))
    results = backtest(
        matrix,
        months=MONTHS,
        as_of_days=[0, 10, 20],
        price_totals=totals,
        need_last_year=not population.started_months,
    )
    table = {}
    for row in summary_rows(results):
        table.setdefault(row["as_of_day"], {})[row["method"]] = row
    return table


@pytest.mark.parametrize("population", POPULATIONS, ids=lambda p: p.name)
def test_the_method_beats_every_naive_forecast_by_a_tenth_on_every_population(population):
    for day, rows in judged(population).items():
        naive = [rows[name]["bill_mape"] for name in METHODS[1:] if name in rows]
        assert naive, day
        assert rows[METHODS[0]]["bill_mape"] < 0.9 * min(naive), (day, rows)


@pytest.mark.parametrize("population", POPULATIONS, ids=lambda p: p.name)
def test_the_range_holds_about_four_bills_in_five_on_every_population(population):
    for day, rows in judged(population).items():
        assert 68 <= rows[METHODS[0]]["range_coverage"] <= 90, (day, rows[METHODS[0]])


def test_populations_differ_and_are_reproducible():
    first, again = population_matrix(POPULATIONS[0]), population_matrix(POPULATIONS[0])
    np.testing.assert_array_equal(first.values, again.values)
    assert not np.allclose(np.nan_to_num(first.values), np.nan_to_num(population_matrix(POPULATIONS[1]).values))


def test_new_customers_take_the_season_of_customers_with_a_year_of_history():
    start = datetime.date(2023, 1, 1)
    days = (datetime.date(2025, 6, 30) - start).days + 1
    dates = [start + datetime.timedelta(days=d) for d in range(days)]
    established = [2.0 if d.month == 7 else 1.0 for d in dates]
    newcomer = [np.nan] * (days - 90) + [0.5] * 90  # three months of 0.5 a day, no July of its own
    matrix = DailyMatrix(np.array([1, 2]), start, np.array([established, newcomer]))
    forecast = forecast_usage(matrix, period=datetime.date(2025, 7, 1), as_of=datetime.date(2025, 6, 30))
    assert not forecast.has_season[1]
    assert forecast.predicted[1] > 0.5 * 31 * 1.3  # July's doubling, learnt from the established customer


def test_gaps_in_the_history_leave_a_finite_forecast_and_range():
    matrix = population_matrix(dataclasses.replace(POPULATIONS[0], customers=20, gap_share=0.3))
    forecast = forecast_usage(matrix, period=datetime.date(2026, 10, 1), as_of=datetime.date(2026, 10, 9))
    assert np.all(np.isfinite(forecast.predicted)) and np.all(forecast.low <= forecast.predicted)
    assert np.all(forecast.predicted <= forecast.high) and np.all(forecast.low >= 0)


def test_the_real_export_is_read_as_one_customer_day_by_day():
    matrix = real_export_matrix(BASE_DIR / "fixtures" / "TX_Daily_Water_Usage_101887055.xlsx")
    assert matrix.values.shape == (1, 2830)
    assert matrix.start == datetime.date(2018, 9, 1) and matrix.end == datetime.date(2026, 5, 31)
