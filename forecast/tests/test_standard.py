"""The standard forecasts the backtest compares with: right on series where the answer is plain."""

import datetime

import numpy as np
import pytest

from forecast.methods import DailyMatrix
from forecast.standard import holt_winters, seasonal_naive_with_drift

START = datetime.date(2022, 1, 1)


def matrix(days, rule):
    dates = [START + datetime.timedelta(days=d) for d in range(days)]
    return DailyMatrix(np.array([1]), START, np.array([[rule(day) for day in dates]]))


def test_the_seasonal_naive_with_drift_carries_last_years_days_times_the_change_since():
    doubled = matrix(3 * 365, lambda day: 2.0 if day >= datetime.date(2024, 1, 1) else 1.0)
    period, as_of = datetime.date(2024, 7, 1), datetime.date(2024, 7, 10)
    predicted = seasonal_naive_with_drift(doubled, period=period, as_of=as_of)
    assert predicted[0] == pytest.approx(2.0 * 31)


def test_holt_winters_learns_a_yearly_season_from_monthly_totals():
    julys = matrix(4 * 365, lambda day: 3.0 if day.month == 7 else 1.0)
    predicted = holt_winters(julys, period=datetime.date(2025, 7, 1), as_of=datetime.date(2025, 6, 30))
    assert predicted[0] == pytest.approx(3.0 * 31, rel=0.1)


def test_holt_winters_gives_no_figure_without_three_years_of_whole_months():
    short = matrix(400, lambda day: 1.0)
    assert np.isnan(holt_winters(short, period=datetime.date(2023, 2, 1), as_of=datetime.date(2023, 1, 31))[0])
