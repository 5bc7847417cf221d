"""Detection rules as pure functions: a frame of reads in, a frame of findings out. No database.

Input: DataFrame(customer_id int, read_date datetime64, usage_ccf float) as
`metering.selectors.reads_frame` returns it (any order; one read per customer and day).
Output: DataFrame(customer_id, date (datetime64), usage_ccf, mean, std) sorted by customer and date,
with `.attrs["customers_assessed"]` and `.attrs["reads_assessed"]`.

Exactness. Usage is stored to 4 decimals, so every rule works on integer ten-thousandths of a CCF.
"usage > μ + kσ" is the same as "n·x − S > k·√(n·Q − S²)" (n reads, S = Σx, Q = Σx²): the left
side and the variance term are computed exactly in integers, the final comparison in floats, and the
few rows where the two sides agree to 1e-9 (ties such as usage exactly μ + 2σ) are decided again in
exact integer arithmetic. So a tie is never flagged and the outcome never depends on rounding.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import pandas as pd

UNITS = 10_000  # ten-thousandths of a CCF
TIE_TOLERANCE = 1e-9
FINDING_COLUMNS = ["customer_id", "date", "usage_ccf", "mean", "std"]
# Above this many units (6,000 CCF a day) a 90-day window's n·Q − S² may not fit in int64.
INT64_SAFE_UNITS = 60_000_000


def zscore(frame: pd.DataFrame, k: float = 2.0, *, min_reads: int = 30) -> pd.DataFrame:
    """SPEC §3 zscore: per customer, μ and population σ of all their reads; flag usage > μ + kσ strictly.
    Customers with fewer than `min_reads` reads or σ = 0 are not assessed."""
    reads = _prepare(frame)
    x = reads.units
    starts, counts = reads.group_starts, reads.group_counts
    n_c = counts.astype(np.int64)
    total = np.add.reduceat(x, starts) if len(x) else np.zeros(0, np.int64)
    n = np.repeat(n_c, counts)
    s = np.repeat(total, counts)
    d = n * x - s  # n·(x − μ), exact
    sum_sq = np.add.reduceat(d.astype(np.float64) ** 2, starts) if len(x) else np.zeros(0)  # n³σ², no cancellation
    constant = np.maximum.reduceat(x, starts) == np.minimum.reduceat(x, starts) if len(x) else np.zeros(0, bool)
    eligible_c = (n_c >= min_reads) & ~constant
    eligible = np.repeat(eligible_c, counts)
    lhs = n.astype(np.float64) * d.astype(np.float64) ** 2
    rhs = float(k) ** 2 * np.repeat(sum_sq, counts)
    flag, near = _compare(d, lhs, rhs, eligible)
    if near.any():
        flag[near] = _zscore_exact(reads, near, k)
    mean = total / n_c / UNITS
    std = np.sqrt(sum_sq / n_c.astype(np.float64) ** 3) / UNITS
    return _findings(reads, flag, np.repeat(mean, counts), np.repeat(std, counts), eligible)


def rolling(frame: pd.DataFrame, k: float = 2.0, *, window_days: int = 90, min_reads: int = 30) -> pd.DataFrame:
    """SPEC §3 rolling: for each read, μ and population σ of the same customer's reads dated in the
    `window_days` days before it, i.e. read_date − window_days ≤ d < read_date (the day itself excluded,
    gaps counted in days, not rows); needs at least `min_reads` such reads and σ > 0; flag usage > μ + kσ."""
    reads = _prepare(frame)
    x = reads.units
    if len(x) and int(x.max()) >= INT64_SAFE_UNITS:
        x = x.astype(object)  # exact Python integers: slower, only for implausibly large reads
    # Position of the first read of the same customer dated on or after read_date − window_days.
    key = reads.customer_code * (reads.day_span + window_days + 2) + reads.day
    first = np.searchsorted(key, key - window_days, side="left")
    here = np.arange(len(x))
    cum = np.concatenate([np.zeros(1, x.dtype), np.cumsum(x)])
    cum_sq = np.concatenate([np.zeros(1, x.dtype), np.cumsum(x * x)])  # wraps in int64; differences stay exact
    n = (here - first).astype(np.int64)
    s = cum[here] - cum[first]
    q = cum_sq[here] - cum_sq[first]
    v = n * q - s * s  # n²σ², exact (exact modulo 2^64 and known to be small enough)
    d = n * x - s  # n·(x − μ)
    eligible = (n >= min_reads) & (v > 0)
    lhs = np.asarray(d, dtype=np.float64) ** 2
    rhs = float(k) ** 2 * np.asarray(v, dtype=np.float64)
    flag, near = _compare(np.asarray(d, dtype=np.float64), lhs, rhs, eligible)
    if near.any():
        k2 = Fraction(k) ** 2
        flag[near] = [_exceeds(int(dd), 1, int(vv), k2) for dd, vv in zip(d[near], v[near], strict=True)]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = np.asarray(s, dtype=np.float64) / n / UNITS
        std = np.sqrt(np.asarray(v, dtype=np.float64)) / n / UNITS
    return _findings(reads, flag, mean, std, eligible)


@dataclass(frozen=True)
class LeakRule:
    """Sustained high use (a leak): at least `min_days` consecutive days, each at least `ratio` times the
    customer's baseline and `min_excess_ccf` above it. The baseline of a day is the median of the
    customer's reads in the `baseline_days` days before it (the day excluded), needing `min_baseline_reads`
    of them; days already judged high are left out of later baselines (a second pass), so a long leak
    does not become its own baseline. Where the customer has reads a year earlier, the baseline is the
    larger of that median and the median of the reads within ±`season_days` of the same day a year
    (365 days) before (needing `min_season_reads`), so the spring rise in use is not taken for a leak.
    A finding's `mean` is the baseline and its `std` the population σ of the trailing window."""

    min_days: int = 5
    ratio: float = 1.7
    min_excess_ccf: float = 0.05
    baseline_days: int = 56
    min_baseline_reads: int = 28
    season_days: int = 14
    min_season_reads: int = 14


def leak(frame: pd.DataFrame, rule: LeakRule = LeakRule()) -> pd.DataFrame:
    """Findings for every day of every run of sustained high use (see LeakRule)."""
    reads = _prepare(frame)
    usage = reads.units / UNITS
    seasonal = _last_year_median(reads, usage, rule)
    trailing, _ = _trailing_window(reads, usage, rule, spread=False)
    high = _high(usage, np.fmax(trailing, seasonal), rule)
    # Second pass: trailing baselines without the days the first pass found high.
    trailing, spread = _trailing_window(reads, np.where(high, np.nan, usage), rule, spread=True)
    baseline = np.fmax(trailing, seasonal)
    high = _high(usage, baseline, rule)
    flag = _in_long_runs(reads, high, rule.min_days)
    flag, baseline = _hold_baseline(reads, usage, flag, baseline, rule)
    eligible = ~np.isnan(baseline)
    # A baseline from last year (or held through a long leak) can stand where the trailing window has
    # too few ordinary days for a spread: report 0 there rather than nothing.
    return _findings(reads, flag, baseline, np.nan_to_num(spread, nan=0.0), eligible)


def _high(usage, baseline, rule: LeakRule) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (usage >= rule.ratio * baseline) & (usage - baseline >= rule.min_excess_ccf) & (baseline > 0)


def _trailing_window(reads, values, rule: LeakRule, *, spread: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Median (and population σ) of each customer's values in the window before each day, NaNs skipped."""
    series = pd.Series(values, index=reads.dates)
    window = series.groupby(reads.customer_code, sort=False).rolling(
        f"{rule.baseline_days}D", closed="left", min_periods=rule.min_baseline_reads
    )
    median = window.median().to_numpy()
    return median, (window.std(ddof=0).to_numpy() if spread else None)


def _last_year_median(reads, values, rule: LeakRule) -> np.ndarray:
    """Median of the customer's reads within ±season_days of the same day a year (365 days) earlier."""
    half = rule.season_days
    series = pd.Series(values, index=reads.dates)
    grouped = series.groupby(reads.customer_code, sort=False)
    # Centred window of the day t − 365 = trailing window ending at t − 365 + half.
    trailing = grouped.rolling(f"{2 * half + 1}D", min_periods=rule.min_season_reads).median().to_numpy()
    key = reads.customer_code * (reads.day_span + 400) + reads.day
    wanted = key - 365 + half
    pos = np.searchsorted(key, wanted)
    pos_ok = np.minimum(pos, len(key) - 1)
    found = (pos < len(key)) & (key[pos_ok] == wanted)
    return np.where(found, trailing[pos_ok], np.nan)


def _hold_baseline(reads, usage, flag, baseline, rule: LeakRule) -> tuple[np.ndarray, np.ndarray]:
    """Continue each run while use stays high against the baseline of its first day: a leak longer
    than the baseline window would otherwise end when the window fills with leak days."""
    flag, baseline = flag.copy(), baseline.copy()
    starts = np.flatnonzero(flag & ~np.concatenate([[False], flag[:-1]]) | (flag & reads.group_first))
    group_end = np.repeat(reads.group_starts + reads.group_counts, reads.group_counts)
    for start in starts:
        held = baseline[start]
        end = int(start)
        limit = int(group_end[start])
        while end + 1 < limit and reads.day[end + 1] == reads.day[end] + 1:
            value = usage[end + 1]
            if not (value >= rule.ratio * held and value - held >= rule.min_excess_ccf):
                break
            end += 1
        flag[start : end + 1] = True
        baseline[start : end + 1] = held
    return flag, baseline


def _in_long_runs(reads, high: np.ndarray, min_days: int) -> np.ndarray:
    """Mark days in runs of at least min_days consecutive calendar days (same customer) that are all high."""
    day = reads.day
    breaks = np.ones(len(high), dtype=bool)
    breaks[1:] = (~high[1:]) | (~high[:-1]) | (day[1:] != day[:-1] + 1) | (reads.group_first[1:])
    run_id = np.cumsum(breaks)
    lengths = np.bincount(run_id, weights=high.astype(np.float64))
    return high & (lengths[run_id] >= min_days)


# --- shared plumbing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Reads:
    customer_id: np.ndarray
    customer_code: np.ndarray  # 0..C-1 in sorted order
    dates: pd.DatetimeIndex
    day: np.ndarray  # days since the earliest read, int64
    day_span: int
    units: np.ndarray  # int64 ten-thousandths of a CCF
    group_starts: np.ndarray
    group_counts: np.ndarray
    group_first: np.ndarray  # bool per row: first read of its customer


def _prepare(frame: pd.DataFrame) -> _Reads:
    frame = frame[["customer_id", "read_date", "usage_ccf"]]
    customer = frame["customer_id"].to_numpy(dtype=np.int64)
    dates = pd.DatetimeIndex(frame["read_date"]).as_unit("s")
    epoch_day = dates.asi8 // 86_400
    if len(customer) > 1 and not _sorted(customer, epoch_day):
        order = np.lexsort((epoch_day, customer))
        customer, epoch_day, frame = customer[order], epoch_day[order], frame.iloc[order]
        dates = dates[order]
    units = np.rint(frame["usage_ccf"].to_numpy(dtype=np.float64) * UNITS).astype(np.int64)
    first = np.ones(len(customer), dtype=bool)
    first[1:] = customer[1:] != customer[:-1]
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, len(customer)))
    day = epoch_day - (epoch_day.min() if len(epoch_day) else 0)
    return _Reads(
        customer_id=customer,
        customer_code=np.cumsum(first) - 1,
        dates=dates,
        day=day,
        day_span=int(day.max()) if len(day) else 0,
        units=units,
        group_starts=starts,
        group_counts=counts,
        group_first=first,
    )


def _sorted(customer: np.ndarray, day: np.ndarray) -> bool:
    step_c = np.diff(customer)
    return bool(np.all((step_c > 0) | ((step_c == 0) & (np.diff(day) > 0))))


def _compare(d, lhs, rhs, eligible) -> tuple[np.ndarray, np.ndarray]:
    """Float decision of d > 0 and lhs > rhs, and the rows too close to call (decided exactly after)."""
    positive = eligible & (np.asarray(d) > 0)
    margin = TIE_TOLERANCE * np.maximum(np.abs(rhs), np.abs(lhs))
    near = positive & (np.abs(lhs - rhs) <= margin)
    return positive & (lhs > rhs) & ~near, near


def _exceeds(d: int, n: int, v: int, k2: Fraction) -> bool:
    """Exactly: d > 0 and n·d² > k²·v."""
    return d > 0 and n * d * d * k2.denominator > k2.numerator * v


def _zscore_exact(reads: _Reads, near: np.ndarray, k: float) -> list[bool]:
    """Re-decide near-tie rows with Python integers over each customer's whole history."""
    k2 = Fraction(k) ** 2
    group_of_row = np.repeat(np.arange(len(reads.group_starts)), reads.group_counts)
    cache: dict[int, tuple[int, int, int]] = {}
    decisions = []
    for row in np.flatnonzero(near):
        g = int(group_of_row[row])
        if g not in cache:
            start, count = int(reads.group_starts[g]), int(reads.group_counts[g])
            values = [int(v) for v in reads.units[start : start + count]]
            total = sum(values)
            cache[g] = (count, total, sum((count * v - total) ** 2 for v in values))
        n, total, sum_sq = cache[g]
        decisions.append(_exceeds(n * int(reads.units[row]) - total, n, sum_sq, k2))
    return decisions


def _findings(reads: _Reads, flag, mean, std, eligible) -> pd.DataFrame:
    result = pd.DataFrame(
        {
            "customer_id": reads.customer_id[flag],
            "date": reads.dates[flag].as_unit("ns"),
            "usage_ccf": reads.units[flag] / UNITS,
            "mean": np.asarray(mean, dtype=np.float64)[flag],
            "std": np.asarray(std, dtype=np.float64)[flag],
        },
        columns=FINDING_COLUMNS,
    )
    result.attrs["reads_assessed"] = int(np.count_nonzero(eligible))
    result.attrs["customers_assessed"] = int(len(np.unique(reads.customer_id[eligible])))
    return result
