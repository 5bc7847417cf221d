"""Forecasting a month's usage (SPEC §4): pure numpy over a matrix of daily reads, no database.

The method ("seasonal run rate"), per customer, for the days of the month still to come:

- three candidates for the daily use of those days:
  - *seasonal run rate*: the same days in the past two years (shifted by 364 and 728 days so weekdays
    line up, a week either side counting too), times the change of level since then (the last 56
    days against the same 56 days in those years; a small change is mostly noise and is damped, a
    large one carries through almost whole). A customer newer than a year takes the median seasonal
    ratio of the customers who have one;
  - *the same days a year earlier* (the seasonal naive, weekdays aligned);
  - *the recent mean*: the last 56 days read;
- spikes and leak days above the customer's far-out fence (q75 + 3 IQR, at least its 99th
  percentile) are capped before the candidates look at them, and their long-run average added back,
  so one huge day swings no window;
- the candidates are combined by the customer's own record: each is replayed in each of the last 12
  months, as of the same day of the month, and weighs by the inverse of its mean squared error there
  (Bates & Granger); a candidate with no record has no say, a customer with none weighs all alike;
- range: the combined forecast's own errors in those replayed months; the pair of order statistics
  that holds a new error with about 80% probability, (j − i) / (n + 1) for n months, is applied to
  the predicted part.

Everything works on a matrix `values[customer, day]` (NaN = no read) that ends on the as-of date:
reads after it are simply not in the matrix, so the forecast cannot look ahead by construction.
"""

from __future__ import annotations

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
PAD = 7  # days either side of the coming days, a year back, that also count for their level
ERROR_MONTHS = 12  # past month ends replayed for the range
DEFAULT_SPREAD = (-0.25, 0.25)  # relative error band when there is too little history to replay
MIN_SPREAD = 0.05
COVERAGE = 0.8  # share of actual bills the low-high range should hold (SPEC §4)
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
    history = _History(sums, counts, last_read, *_tamed(matrix.values))
    components = history.candidates(latest, covered, pe)
    weights, low_err, high_err = _replay(history, matrix, as_of, offset=max(a - ps + 1, 0))
    daily = _combine(components, weights)
    rate, has_season = components[RECENT], ~np.isnan(components[LAST_YEAR])  # its own year back
    ratio = np.where(rate > 0, daily / np.maximum(rate, 1e-12), 1.0)
    days_left = pe - covered
    predicted_part = daily * days_left
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
        ahead = _window_mean(sums, counts, covered - shift - PAD, target_end - shift + PAD)
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


# The candidate forecasts of the daily use still to come, each a row of _components' result.
SEASONAL, LAST_YEAR, RECENT = 0, 1, 2
WEIGHT_FLOOR = 0.02**2  # squared relative error no candidate's past months can beat: keeps weights finite
MAX_ERROR = 3.0  # relative error counted at most (actual four times the forecast)
MIN_REPLAYED = 4  # past months a customer needs before its own errors set its weights and band


def _components(sums, counts, latest, covered, period_end):
    """(3, customers) predicted daily use after `covered` up to period_end, NaN where a candidate has
    no data: the seasonal run rate, the same days a year earlier (weekdays aligned), the recent mean."""
    rate, ratio, has_season = _rate(sums, counts, latest, covered, period_end)
    if has_season.any():  # customers newer than a year take the season of those who have one
        ratio = np.where(has_season, ratio, np.median(ratio[has_season]))
    target_end = np.maximum(period_end, covered + MIN_TARGET)
    last_year = _window_mean(sums, counts, covered - YEAR, target_end - YEAR)
    return np.vstack([np.where(has_season.any(), rate * ratio, np.nan), last_year, rate])


def _combine(components, weights):
    """The weighted mean of the candidates each customer has (weights of missing ones ignored)."""
    available = ~np.isnan(components)
    w = np.where(available, weights, 0.0)
    total = w.sum(axis=0)
    fallback = np.where(available[RECENT], components[RECENT], 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        combined = np.nansum(np.where(available, components, 0.0) * w, axis=0) / total
    return np.where(total > 0, combined, fallback)


@dataclass(frozen=True)
class _History:
    """Prefix sums of a customer matrix: as read (for what months really came to) and tamed (for the
    candidates: a rare huge day would otherwise swing a window's mean; its average is added back)."""

    sums: np.ndarray
    counts: np.ndarray
    last_read: np.ndarray
    tamed_sums: np.ndarray
    excess: np.ndarray  # per customer: mean daily use above the cap, over all its reads

    def candidates(self, latest, covered, period_end):
        return _components(self.tamed_sums, self.counts, latest, covered, period_end) + self.excess


def _tamed(values):
    """(prefix sums of the reads capped at each customer's far-out value, mean daily excess above it).
    The cap is Tukey's far-out fence, q75 + 3 × IQR of the customer's own reads (or their 99th
    percentile, if higher): spikes and leak days beyond it count by their long-run average instead of
    by the window they happen to fall in."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        q25, q75 = _nan_quantile(values, 0.25), _nan_quantile(values, 0.75)
        # never below the customer's 99th percentile: a steady customer (IQR near 0) keeps its peak season
        cap = np.maximum(q75 + 3 * (q75 - q25), _nan_quantile(values, 0.99))
        capped = np.minimum(values, cap[:, None])
        excess = np.nan_to_num(np.nanmean(values - capped, axis=1), nan=0.0) if values.size else np.zeros(0)
    return _cumulative(capped)[0], excess


def _nan_quantile(values, fraction):
    """Per row of `values`, the quantile `fraction` (a number, or one per row) of its non-NaN entries,
    interpolated linearly as numpy's default; NaN for a row without any. Sorting the matrix once
    beats nanpercentile, which loops over the rows in Python."""
    count = np.sum(~np.isnan(values), axis=1)
    if values.shape[1] == 0:
        return np.full(values.shape[0], np.nan)
    ordered = np.sort(values, axis=1)  # NaN sorts last
    rows = np.arange(values.shape[0])
    position = np.asarray(fraction) * np.maximum(count - 1, 0)
    below = np.floor(position).astype(int)
    above = np.minimum(below + 1, np.maximum(count - 1, 0))
    low, high = ordered[rows, below], ordered[rows, above]
    return np.where(count > 0, low + (high - low) * (position - below), np.nan)


def _replay(history, matrix, as_of, *, offset):
    """Each customer's own past: every candidate replayed in each of the last ERROR_MONTHS months, as of
    the same day of the month as this forecast (`offset` days of it read), against what the rest of
    that month really came to. Returns the candidates' weights (inverse mean squared relative error:
    the candidate that served this customer best counts most, none beyond what its record shows) and
    the combined forecast's low and high relative errors (actual / predicted − 1) for the range."""
    n = len(matrix.customer_ids)
    months = []
    target = month_bounds(as_of)[0]
    for _ in range(ERROR_MONTHS):
        target = month_bounds(target - datetime.timedelta(days=1))[0]
        end = matrix.column(month_bounds(target)[1])
        cut = min(matrix.column(target) - 1 + offset, end - 1)
        if end > matrix.column(as_of) or cut - WINDOW < 0:
            continue
        latest = history.last_read[:, cut]
        predicted = history.candidates(latest, np.full_like(latest, cut), end)
        days_read = _window_sum(history.counts, cut, end)
        with np.errstate(invalid="ignore", divide="ignore"):
            actual = _window_sum(history.sums, cut, end) / days_read
        usable = (days_read >= 0.8 * (end - cut)) & (latest >= cut - WINDOW) & (actual > 0)
        months.append((np.where(usable, predicted, np.nan), np.where(usable, actual, np.nan)))
    if not months:
        return np.ones((3, n)), np.full(n, DEFAULT_SPREAD[0]), np.full(n, DEFAULT_SPREAD[1])
    predicted = np.stack([p for p, _ in months])  # (months, candidates, customers)
    actual = np.stack([a for _, a in months])  # (months, customers)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        errors = predicted / actual[:, None, :] - 1
        replayed = np.sum(~np.isnan(errors), axis=0)
        mse = np.nanmean(errors**2, axis=0)
        weights = np.where(replayed >= MIN_REPLAYED, 1 / (mse + WEIGHT_FLOOR), 0.0)
        # too short a record for any candidate: all it has count alike
        weights = np.where(np.any(weights > 0, axis=0), weights, 1.0)
        combined = np.stack([_combine(p, weights) for p in predicted])
        # a month that came to more than four times its forecast (a customer's first weeks) widens the
        # range as much as one that came to four times: the band must stay a usable figure
        relative = np.where(combined > 0, np.minimum(actual / combined - 1, MAX_ERROR), np.nan)
    low, high = _coverage_band(relative)
    return weights, low, high


def _coverage_band(relative):
    """Per customer (columns), the errors between which about COVERAGE of future errors fall. With n past
    errors, the interval between the i-th and j-th smallest holds a new one with probability
    (j − i) / (n + 1) (exchangeable errors), so the percentiles are chosen from n, not fixed: with
    twelve months that is nearly the whole range, not the 10th to 90th percentile (which would hold
    only 9 of 13)."""
    n = np.sum(~np.isnan(relative), axis=0)
    enough = n >= MIN_REPLAYED
    rank = np.clip(((n + 1) * (1 - COVERAGE) / 2 - 1) / np.maximum(n - 1, 1), 0, 0.5)
    # Fewer than 9 months: even the smallest and largest error hold only (n − 1) / (n + 1); stretch them.
    stretch = np.maximum(1.0, COVERAGE * (n + 1) / np.maximum(n - 1, 1))
    filled = np.where(enough, relative, np.nan).T
    lo, mid, hi = (_nan_quantile(filled, q) for q in (rank, 0.5, 1 - rank))
    low, high = mid + (lo - mid) * stretch, mid + (hi - mid) * stretch
    low = np.where(enough & np.isfinite(low), np.minimum(low, -MIN_SPREAD), DEFAULT_SPREAD[0])
    high = np.where(enough & np.isfinite(high), np.maximum(high, MIN_SPREAD), DEFAULT_SPREAD[1])
    return np.maximum(low, -0.95), high
