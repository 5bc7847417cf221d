"""Standard forecasts the method is compared with in the backtest (issue 15): not used for bills.

- *seasonal naive with drift*: the same days a year earlier (weekdays aligned) times the change of
  the last 56 days against the same 56 days a year earlier, undamped;
- *Holt-Winters* (statsmodels' ExponentialSmoothing, additive trend damped, multiplicative
  seasonality of 12 months) over each customer's monthly totals, for customers with two full years.

Both take (matrix, period, as_of) and return predicted usage per customer: the reads already in the
period plus the forecast of the days left, as forecast_usage does.
"""

from __future__ import annotations

import datetime
import warnings

import numpy as np

from .methods import WINDOW, YEAR, DailyMatrix, _cumulative, _until, _window_mean, _window_sum, month_bounds


def seasonal_naive_with_drift(matrix: DailyMatrix, *, period: datetime.date, as_of: datetime.date) -> np.ndarray:
    observed, latest, covered, end, sums, counts = _split(matrix, period, as_of)
    last_year = _window_mean(sums, counts, covered - YEAR, end - YEAR)
    with np.errstate(invalid="ignore", divide="ignore"):
        drift = _window_mean(sums, counts, latest - WINDOW, latest) / _window_mean(
            sums, counts, latest - WINDOW - YEAR, latest - YEAR
        )
    daily = last_year * np.where(np.isfinite(drift), drift, 1.0)
    return observed + np.nan_to_num(daily) * (end - covered)


def holt_winters(matrix: DailyMatrix, *, period: datetime.date, as_of: datetime.date) -> np.ndarray:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing  # only the backtest's --compare needs it

    observed, _, covered, end, sums, _ = _split(matrix, period, as_of)
    start = month_bounds(period)[0]
    history = _monthly_totals(matrix, start, months=36)
    predicted = np.full(len(observed), np.nan)
    days_in_month = (month_bounds(start)[1] - start).days + 1
    for i, series in enumerate(history):
        if np.isnan(series).any() or (series <= 0).any():
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = ExponentialSmoothing(
                series, trend="add", damped_trend=True, seasonal="mul", seasonal_periods=12
            ).fit()
        month = float(model.forecast(1)[0])
        predicted[i] = observed[i] + max(month, 0.0) * (end - covered[i]) / days_in_month
    return predicted


def _split(matrix, period, as_of):
    """(observed, latest read, last day covered, period end) per customer, columns of the matrix."""
    period_start, period_end = month_bounds(period)
    matrix = _until(matrix, as_of)
    sums, counts, last_read = _cumulative(matrix.values)
    n = len(matrix.customer_ids)
    ps, pe = matrix.column(period_start), matrix.column(period_end)
    a = matrix.values.shape[1] - 1
    latest = last_read[:, a] if a >= 0 else np.full(n, -1)
    covered = np.clip(latest, ps - 1, pe)
    observed = _window_sum(sums, ps - 1, np.full(n, min(a, pe)))
    return observed, latest, covered, pe, sums, counts


def _monthly_totals(matrix, before: datetime.date, *, months: int) -> np.ndarray:
    """(customers, months) totals of the `months` whole months before `before`; NaN where one is not
    fully read or not in the matrix."""
    columns = []
    month = before
    for _ in range(months):
        month = month_bounds(month - datetime.timedelta(days=1))[0]
        lo, hi = matrix.column(month), matrix.column(month_bounds(month)[1])
        if lo < 0:
            columns.append(np.full(len(matrix.customer_ids), np.nan))
            continue
        block = matrix.values[:, lo : hi + 1]
        columns.append(np.where(np.isnan(block).any(axis=1), np.nan, np.nansum(block, axis=1)))
    return np.array(columns[::-1]).T
