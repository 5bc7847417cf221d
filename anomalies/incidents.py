"""Incidents (SPEC §3a) as pure functions: anomalous days in, runs out; then their cost. No database.

`incidents(days)`: days is a frame of anomaly records (customer_id, date, method, usage_ccf, mean), one row
per (customer, date, method) as the detection methods find them. A run is a customer's anomalous days, any
method, where a gap of one day (not two) still joins. Per run: start, end, days (anomalous days, the gap day
not counted), methods (joined by '+', sorted), excess (Σ over its days of usage − μ, μ of the day's most
telling method: the leak rule's baseline, else the rolling mean, else the whole-history mean), kind (leak
when the leak rule found a day of it or it has at least 3 anomalous days, else spike).

Exactness: usage is held in ten-thousandths of a CCF and μ in millionths (the stored places), so the
excess is an exact integer sum, rounded half up to 4 places once.

`incident_costs`: the excess priced at the customer's own rate, month multiplier included, as a utility
would bill it: the usage charge of the customer's typical month with the excess added, minus that of the
typical month alone (so the excess pays the tier it falls in). An incident across two months prices each
month's share with that month's plan and multiplier.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from billing.pricing import RatePlan, price_cents

METHOD_BITS = {"leak": 1, "rolling": 2, "zscore": 4}  # also the preference for μ: the lowest bit wins
LEAK_MIN_DAYS = 3
JOIN_GAP_DAYS = 1  # a run continues over at most this many days without an anomaly
MICRO_PER_UNIT = 100  # μ in millionths, usage in ten-thousandths of a CCF
DAYS_PER_MONTH_NUM, DAYS_PER_MONTH_DEN = 487, 16  # 365.25 / 12 = 30.4375 = 487/16, exactly
NOTICE_MIN_UNITS = 10_000  # 1 CCF
NOTICE_SHARE_DEN = 4  # 25% of a typical month
RUN_COLUMNS = ["customer_id", "start", "end", "days", "methods", "excess_units", "kind"]


def incidents(days: pd.DataFrame) -> pd.DataFrame:
    """Runs of anomalous days (see the module's rules), sorted by customer then start. excess_units: the
    excess in ten-thousandths of a CCF. attrs["months"]: each run's excess by month (run, month, excess_units)."""
    per_day = _per_day(days)
    if per_day.empty:
        runs = pd.DataFrame(columns=RUN_COLUMNS)
        runs.attrs["months"] = pd.DataFrame(columns=["run", "month", "excess_units"])
        return runs
    customer, epoch = per_day["customer_id"].to_numpy(), per_day["epoch"].to_numpy()
    new_run = np.ones(len(per_day), dtype=bool)
    new_run[1:] = (customer[1:] != customer[:-1]) | (epoch[1:] - epoch[:-1] > JOIN_GAP_DAYS + 1)
    per_day["run"] = np.cumsum(new_run) - 1
    for bit in METHOD_BITS.values():  # per-bit columns: a vectorised OR over a run's days
        per_day[f"bit{bit}"] = (per_day["bits"].to_numpy() & bit) > 0
    grouped = per_day.groupby("run", sort=True)
    runs = pd.DataFrame(
        {
            "customer_id": grouped["customer_id"].first(),
            "start": grouped["epoch"].min(),
            "end": grouped["epoch"].max(),
            "days": grouped.size(),
            "bits": sum(grouped[f"bit{bit}"].max().astype(np.int64) * bit for bit in METHOD_BITS.values()),
            "excess_micro": grouped["excess_micro"].sum(),
        }
    )
    runs["methods"] = runs["bits"].map(_methods_text)
    leak = (runs["bits"] & METHOD_BITS["leak"]).astype(bool) | (runs["days"] >= LEAK_MIN_DAYS)
    runs["kind"] = np.where(leak, "leak", "spike")
    runs["excess_units"] = _micro_to_units(runs["excess_micro"].to_numpy())
    runs["start"], runs["end"] = _dates(runs["start"]), _dates(runs["end"])
    result = runs[RUN_COLUMNS].reset_index(drop=True)
    result.attrs["months"] = _by_month(per_day)
    return result


def _per_day(days: pd.DataFrame) -> pd.DataFrame:
    """One row per (customer, day): the methods that found it (bits), and usage − μ of the preferred one."""
    if days.empty:
        return pd.DataFrame(columns=["customer_id", "epoch", "bits", "excess_micro"])
    bits = days["method"].map(METHOD_BITS).to_numpy(dtype=np.int64)
    frame = pd.DataFrame(
        {
            "customer_id": days["customer_id"].to_numpy(dtype=np.int64),
            "epoch": pd.DatetimeIndex(pd.to_datetime(days["date"])).as_unit("s").asi8 // 86_400,
            "bits": bits,
            "excess_micro": np.rint(days["usage_ccf"].to_numpy(dtype=np.float64) * 10_000).astype(np.int64)
            * MICRO_PER_UNIT
            - np.rint(days["mean"].to_numpy(dtype=np.float64) * 1_000_000).astype(np.int64),
        }
    )
    frame = frame.sort_values(["customer_id", "epoch", "bits"], kind="stable")
    # (customer, date, method) is unique, so the sum of a day's bits is their OR.
    all_bits = frame.groupby(["customer_id", "epoch"], sort=False)["bits"].transform("sum")
    frame = frame.assign(bits=all_bits).drop_duplicates(["customer_id", "epoch"], keep="first")
    return frame.reset_index(drop=True)


def _by_month(per_day: pd.DataFrame) -> pd.DataFrame:
    month = pd.to_datetime(per_day["epoch"], unit="D").dt.to_period("M").dt.start_time.dt.date
    months = per_day.assign(month=month).groupby(["run", "month"], sort=True)["excess_micro"].sum().reset_index()
    months["excess_units"] = _micro_to_units(months["excess_micro"].to_numpy())
    return months[["run", "month", "excess_units"]]


def _micro_to_units(micro: np.ndarray) -> np.ndarray:
    """Millionths to ten-thousandths of a CCF, rounded half up (never below zero: an excess is use above μ)."""
    micro = np.maximum(np.asarray(micro, dtype=np.int64), 0)
    return (micro + MICRO_PER_UNIT // 2) // MICRO_PER_UNIT


def _methods_text(bits: int) -> str:
    return "+".join(sorted(name for name, bit in METHOD_BITS.items() if bits & bit))


def _dates(epoch_days: pd.Series) -> list[datetime.date]:
    origin = datetime.date(1970, 1, 1)
    return [origin + datetime.timedelta(days=int(day)) for day in epoch_days]


def units_to_ccf(units) -> Decimal:
    return Decimal(int(units)).scaleb(-4)


# --- typical month, cost, who is told -------------------------------------------------------------------


def typical_month_units(frame: pd.DataFrame) -> pd.Series:
    """Each customer's typical month in ten-thousandths of a CCF: their mean daily use over all stored reads
    × 30.4375 days, rounded half up. Frame: reads (customer_id, usage_ccf) as metering's reads_frame gives."""
    units = np.rint(frame["usage_ccf"].to_numpy(dtype=np.float64) * 10_000).astype(np.int64)
    grouped = pd.Series(units, index=frame["customer_id"].to_numpy(dtype=np.int64)).groupby(level=0)
    total, count = grouped.sum(), grouped.size()
    numerator = 2 * total * DAYS_PER_MONTH_NUM + DAYS_PER_MONTH_DEN * count
    return numerator // (2 * DAYS_PER_MONTH_DEN * count)


def typical_month_before(
    reads: pd.DataFrame, runs: pd.DataFrame, *, days: int = 365, min_reads: int = 30
) -> np.ndarray:
    """Each run's typical month in ten-thousandths of a CCF: the customer's mean daily use over the `days`
    days before the run's start × 30.4375, rounded half up; with fewer than `min_reads` such reads, their
    mean over all reads (typical_month_units). Later reads never move it, so reruns leave it as it is."""
    if runs.empty:
        return np.zeros(0, dtype=np.int64)
    customer = reads["customer_id"].to_numpy(dtype=np.int64)
    epoch = pd.DatetimeIndex(reads["read_date"]).as_unit("s").asi8 // 86_400
    order = np.lexsort((epoch, customer))
    span = np.int64(1 << 20)
    key = customer[order] * span + epoch[order]
    units = np.rint(reads["usage_ccf"].to_numpy(dtype=np.float64)[order] * 10_000).astype(np.int64)
    cum = np.concatenate([[0], np.cumsum(units)])
    start = pd.DatetimeIndex(pd.to_datetime(runs["start"])).as_unit("s").asi8 // 86_400
    run_key = runs["customer_id"].to_numpy(dtype=np.int64) * span + start
    lo, hi = np.searchsorted(key, run_key - days, side="left"), np.searchsorted(key, run_key, side="left")
    n, total = hi - lo, cum[hi] - cum[lo]
    overall = typical_month_units(reads).reindex(runs["customer_id"]).fillna(0).to_numpy(dtype=np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        before = (2 * total * DAYS_PER_MONTH_NUM + DAYS_PER_MONTH_DEN * n) // np.maximum(2 * DAYS_PER_MONTH_DEN * n, 1)
    return np.where(n >= min_reads, before, overall).astype(np.int64)


def incident_costs(
    runs: pd.DataFrame,
    typical_units: np.ndarray,
    customer_types: pd.Series,
    plan_for: Callable[[str, datetime.date], RatePlan],
) -> np.ndarray:
    """Each run's estimated cost in cents (see the module's rule). typical_units: each run's typical month;
    customer_types is indexed by customer_id; plan_for(customer_type, month's first day) the period's plan."""
    months = runs.attrs["months"]
    if months.empty:
        return np.zeros(len(runs), dtype=np.int64)
    customer = runs["customer_id"].to_numpy()[months["run"].to_numpy()]
    months = months.assign(
        typical=np.asarray(typical_units, dtype=np.int64)[months["run"].to_numpy()],
        customer_type=customer_types.reindex(customer).to_numpy(),
        cents=0,
    )
    for (customer_type, month), group in months.groupby(["customer_type", "month"], sort=False):
        plan = plan_for(customer_type, month)
        base = group["typical"].to_numpy(dtype=np.int64)
        extra = price_cents(base + group["excess_units"].to_numpy(dtype=np.int64), plan, month.month).usage_cents
        months.loc[group.index, "cents"] = extra - price_cents(base, plan, month.month).usage_cents
    return months.groupby("run")["cents"].sum().reindex(range(len(runs)), fill_value=0).to_numpy(dtype=np.int64)


def notify_customer(kind: str, excess_units: int, typical_units: int) -> bool:
    """SPEC §3a: every leak; a spike whose excess is at least 1 CCF or 25% of the typical month, the larger."""
    if kind == "leak":
        return True
    return NOTICE_SHARE_DEN * int(excess_units) >= max(NOTICE_SHARE_DEN * NOTICE_MIN_UNITS, int(typical_units))


def cents_to_money(cents) -> Decimal:
    return Decimal(int(cents)).scaleb(-2).quantize(Decimal("0.01"), ROUND_HALF_UP)
