"""Forecasting a month's usage (SPEC §4): pure numpy over a matrix of daily reads, no database.

The method ("seasonal run rate"), per customer:

- *same days in past years*: mean daily use over the days still to come, one and two years earlier,
  shifted by 364 and 728 days so weekdays line up (averaged over the years available);
- *change of level*: mean daily use over the last 56 days read against the same 56 days in those
  years. A small change is mostly noise and is damped; a large one (a leak, a new household) carries
  through almost whole (weight change² / (change² + 0.25²) on the log scale);
- predicted daily use = past years' use of the coming days × the carried change; with no history a
  year back it is simply the recent daily mean;
- predicted usage = reads already in the period + predicted daily use × days left;
- range: the same method replayed at the start of each of the customer's past 12 months gives the
  relative errors it would have made; their 10th and 90th percentiles (widened for short remainders,
  which average out less day-to-day noise) are applied to the predicted part only.

Everything works on a matrix `values[customer, day]` (NaN = no read) that ends on the as-of date:
reads after it are simply not in the matrix, so the forecast cannot look ahead by construction.
"""

import datetime
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

WINDOW = 56  # days of recent use behind the daily rate (8 weeks: every weekday equally often)
YEAR = 364  # 52 weeks: last year's days with the same weekdays
LEVEL_NOISE = 0.25  # typical log-difference between two windows of the same use level
GROWTH_BOUNDS = (0.2, 5.0)
MIN_TARGET = 14  # days: the seasonal ratio of a short remainder is measured on at least this many days
ERROR_MONTHS = 12  # past month ends replayed for the range
DEFAULT_SPREAD = (-0.25, 0.25)  # relative error band when there is too little history to replay
MIN_SPREAD = 0.05
BAND_INFLATION = 1.2  # percentiles of a dozen errors understate the spread of the next one
HISTORY_DAYS = 2 * YEAR + WINDOW + 31 * ERROR_MONTHS + 31  # days of reads a forecast can use


@dataclass(frozen=True)
class DailyMatrix:
    """Daily reads of several customers: values[i, d] is customer_ids[i]'s use on start + d days."""

    customer_ids: np.ndarray
    start: datetime.date
    values: np.ndarray

    @property
    def end(self) -> datetime.date:
        return self.start + datetime.timedelta(days=self.values.shape[1] - 1)

    def column(self, day: datetime.date) -> int:
        return (day - self.start).days


@dataclass(frozen=True)
class UsageForecast:
    """One forecast per customer (arrays aligned with customer_ids); usage in CCF, floats."""

    customer_ids: np.ndarray
    period_start: datetime.date
    period_end: datetime.date
    as_of: datetime.date
    observed: np.ndarray  # reads already in the period
    days_read: np.ndarray
    days_left: np.ndarray  # days of the period still to predict (after the latest read, up to period end)
    recent_rate: np.ndarray  # CCF/day over the last WINDOW days read
    seasonal_ratio: np.ndarray  # 1.0 when there is no history a year back
    has_season: np.ndarray  # bool: the ratio came from the customer's own history
    predicted: np.ndarray
    low: np.ndarray
    high: np.ndarray

    @property
    def daily_rate(self) -> np.ndarray:
        return self.recent_rate * self.seasonal_ratio


def month_bounds(period: datetime.date) -> tuple[datetime.date, datetime.date]:
    start = period.replace(day=1)
    following = (start + datetime.timedelta(days=32)).replace(day=1)
    return start, following - datetime.timedelta(days=1)


def daily_matrix(frame: pd.DataFrame, *, start: datetime.date, end: datetime.date, customer_ids=None) -> DailyMatrix:
    """Pivot a reads frame (customer_id, read_date, usage_ccf) into a DailyMatrix for start..end;
    reads outside the span are dropped. customer_ids fixes the rows (customers without reads stay NaN)."""
    ids = np.unique(frame["customer_id"].to_numpy()) if customer_ids is None else np.asarray(customer_ids)
    ids = np.sort(ids.astype("int64"))
    days = (end - start).days + 1
    values = np.full((len(ids), max(days, 0)), np.nan)
    if len(frame) and days > 0:
        cols = ((frame["read_date"] - pd.Timestamp(start)) // pd.Timedelta(days=1)).to_numpy()
        rows = np.searchsorted(ids, frame["customer_id"].to_numpy())
        keep = (cols >= 0) & (cols < days) & (rows < len(ids))
        keep[keep] &= ids[rows[keep]] == frame["customer_id"].to_numpy()[keep]
        values[rows[keep], cols[keep]] = frame["usage_ccf"].to_numpy()[keep]
    return DailyMatrix(ids, start, values)


def forecast_usage(matrix: DailyMatrix, *, period: datetime.date, as_of: datetime.date) -> UsageForecast:
    """Forecast each customer's usage for the month of `period`, from reads dated on or before as_of."""
    period_start, period_end = month_bounds(period)
    matrix = _until(matrix, as_of)
    sums, counts, last_read = _cumulative(matrix.values)
    n = len(matrix.customer_ids)
    ps, pe = matrix.column(period_start), matrix.column(period_end)
    a = matrix.values.shape[1] - 1
    latest = last_read[:, a] if a >= 0 else np.full(n, -1)
    covered = np.clip(latest, ps - 1, pe)
    observed = _window_sum(sums, ps - 1, np.full(n, min(a, pe)))
    days_read = _window_sum(counts, ps - 1, np.full(n, min(a, pe)))
    rate, ratio, has_season = _rate(sums, counts, latest, covered, pe)
    days_left = pe - covered
    predicted_part = rate * ratio * days_left
    low_err, high_err = _error_band(sums, counts, last_read, matrix, as_of)
    # The band was measured on whole months; a sum over fewer days averages out less day-to-day noise.
    widen = BAND_INFLATION * np.sqrt((pe - ps + 1) / np.maximum(pe - covered, 1))
    low_err, high_err = np.maximum(low_err * widen, -0.95), high_err * widen
    return UsageForecast(
        customer_ids=matrix.customer_ids,
        period_start=period_start,
        period_end=period_end,
        as_of=as_of,
        observed=observed,
        days_read=days_read.astype(int),
        days_left=days_left.astype(int),
        recent_rate=rate,
        seasonal_ratio=ratio,
        has_season=has_season,
        predicted=observed + predicted_part,
        low=observed + predicted_part * (1 + low_err),
        high=observed + predicted_part * (1 + high_err),
    )


def naive_last_month(matrix: DailyMatrix, *, period: datetime.date) -> np.ndarray:
    """Naive forecast 1 (SPEC §4): last month's usage."""
    previous = month_bounds(period)[0] - datetime.timedelta(days=1)
    return month_usage(matrix, month_bounds(previous)[0])


def naive_last_year(matrix: DailyMatrix, *, period: datetime.date) -> np.ndarray:
    """Naive forecast 2 (SPEC §4): the same month's usage a year earlier."""
    start = month_bounds(period)[0]
    return month_usage(matrix, start.replace(year=start.year - 1))


def month_usage(matrix: DailyMatrix, month: datetime.date) -> np.ndarray:
    """Each customer's total reads in that month (NaN when the matrix does not cover it)."""
    start, end = month_bounds(month)
    lo, hi = matrix.column(start), matrix.column(end)
    if lo < 0 or hi >= matrix.values.shape[1]:
        return np.full(len(matrix.customer_ids), np.nan)
    return np.nansum(matrix.values[:, lo : hi + 1], axis=1)


# --- internals ---------------------------------------------------------------------------------------


def _until(matrix: DailyMatrix, as_of: datetime.date) -> DailyMatrix:
    """Drop the columns after as_of: later reads must never reach the forecast."""
    keep = max(min(matrix.column(as_of) + 1, matrix.values.shape[1]), 0)
    return DailyMatrix(matrix.customer_ids, matrix.start, matrix.values[:, :keep])


def _cumulative(values):
    """Prefix sums with a leading zero column (so column c+1 holds the total up to day c), and the
    column of the latest read on or before each day (-1 before the first)."""
    valid = ~np.isnan(values)
    zeros = np.zeros((values.shape[0], 1))
    sums = np.hstack([zeros, np.cumsum(np.where(valid, values, 0.0), axis=1)])
    counts = np.hstack([zeros, np.cumsum(valid, axis=1)])
    positions = np.where(valid, np.arange(values.shape[1]), -1)
    last_read = np.maximum.accumulate(positions, axis=1) if values.size else positions
    return sums, counts, last_read


def _window_sum(prefix, after, until):
    """Per customer, the total over days after..until (exclusive, inclusive), clipped to the data."""
    rows = np.arange(prefix.shape[0])
    top = prefix.shape[1] - 1
    lo = np.clip(np.broadcast_to(after, rows.shape) + 1, 0, top)
    hi = np.clip(np.broadcast_to(until, rows.shape) + 1, 0, top)
    return np.where(hi > lo, prefix[rows, hi] - prefix[rows, np.minimum(lo, hi)], 0.0)


def _window_mean(sums, counts, after, until, min_share=0.5):
    length = np.maximum(np.asarray(until) - np.asarray(after), 1)
    total = _window_sum(sums, after, until)
    read = _window_sum(counts, after, until)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(read >= np.ceil(length * min_share), total / np.maximum(read, 1), np.nan)


def _rate(sums, counts, latest, covered, period_end):
    """(recent rate, seasonal ratio, whether the ratio is the customer's own) for the days after
    `covered` up to period_end, from the WINDOW days ending at `latest` (all per customer)."""
    recent = _window_mean(sums, counts, latest - WINDOW, latest)
    recent = np.where(np.isnan(recent), _window_mean(sums, counts, latest - 4 * WINDOW, latest, 0.1), recent)
    recent = np.nan_to_num(recent, nan=0.0)
    target_end = np.maximum(period_end, covered + MIN_TARGET)
    befores, aheads = [], []
    for shift in (YEAR, 2 * YEAR):
        before = _window_mean(sums, counts, latest - shift - WINDOW, latest - shift)
        ahead = _window_mean(sums, counts, covered - shift, target_end - shift)
        usable = (before > 0) & (ahead >= 0)
        befores.append(np.where(usable, before, np.nan))
        aheads.append(np.where(usable, ahead, np.nan))
    has_season = ~np.all(np.isnan(np.vstack(befores)), axis=0)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # customers without history give all-NaN columns
        before, ahead = np.nanmean(np.vstack(befores), axis=0), np.nanmean(np.vstack(aheads), axis=0)
        change = np.log(recent / before)
        # a small change since last year is mostly noise and is damped; a big one (a leak, a new
        # household) carries through almost whole: weight = change² / (change² + NOISE²)
        carried = change**3 / (change**2 + LEVEL_NOISE**2)
        growth = np.clip(np.exp(np.nan_to_num(carried, nan=0.0, posinf=0.0, neginf=0.0)), *GROWTH_BOUNDS)
        seasonal = np.where(has_season, ahead * growth, recent)
        ratio = np.where(recent > 0, seasonal / recent, 1.0)
    return recent, np.where(has_season, np.nan_to_num(ratio, nan=1.0), 1.0), has_season


def _error_band(sums, counts, last_read, matrix, as_of):
    """(low, high) relative error of the method over the customer's past months: 10th and 90th
    percentiles of (actual / predicted − 1), each month forecast as of the day before it began."""
    errors = []
    target = month_bounds(as_of)[0]
    for _ in range(ERROR_MONTHS):
        target = month_bounds(target - datetime.timedelta(days=1))[0]
        cut, end = matrix.column(target) - 1, matrix.column(month_bounds(target)[1])
        if end > matrix.column(as_of) or cut - YEAR - WINDOW < 0:
            continue
        latest = last_read[:, cut]
        rate, ratio, _ = _rate(sums, counts, latest, np.full_like(latest, cut), end)
        predicted = rate * ratio * (end - cut)
        actual = _window_sum(sums, cut, end)
        complete = _window_sum(counts, cut, end) == end - cut
        with np.errstate(invalid="ignore", divide="ignore"):
            errors.append(np.where(complete & (predicted > 0), actual / predicted - 1, np.nan))
    n = len(matrix.customer_ids)
    if not errors:
        return np.full(n, DEFAULT_SPREAD[0]), np.full(n, DEFAULT_SPREAD[1])
    stacked = np.vstack(errors)
    enough = np.sum(~np.isnan(stacked), axis=0) >= 4
    filled = np.where(enough, stacked, 0.0)  # rows without enough months get the default band below
    low = np.nanpercentile(filled, 10, axis=0)
    high = np.nanpercentile(filled, 90, axis=0)
    low = np.where(enough, np.minimum(low, -MIN_SPREAD), DEFAULT_SPREAD[0])
    high = np.where(enough, np.maximum(high, MIN_SPREAD), DEFAULT_SPREAD[1])
    return np.maximum(low, -0.95), high
