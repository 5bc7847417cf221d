"""How well the leak rule finds the demo generator's planted leaks (used by the benchmark and tests).

An *alarm* is a run of consecutive flagged days of one customer. A planted leak is *detected* when an
alarm overlaps its days; an alarm that overlaps no planted leak is a *false alarm*. False alarms are
counted per 1,000 customer-months of assessed reads (30.4375 days a month).
"""

import datetime

import numpy as np
import pandas as pd

from hydrospark.demo.generator import generate_customers, generate_reads

from . import methods

DAYS_PER_MONTH = 365.25 / 12


def generated_reads(n_customers: int, start: datetime.date, end: datetime.date, seed: int = 7):
    """(reads frame in the reads_frame layout, planted events with integer customer_id) from the generator."""
    customers = generate_customers(n_customers, seed=seed)
    reads, events = generate_reads(customers, start, end, seed=seed + 1)
    frame = pd.DataFrame(
        {
            "customer_id": reads["location_id"].astype(np.int64),
            "read_date": reads["read_date"],
            "usage_ccf": reads["usage_ccf"].astype(np.float64),
        }
    )
    events = events.assign(customer_id=events["location_id"].astype(np.int64))
    return frame, events


def alarms(findings: pd.DataFrame) -> pd.DataFrame:
    """Runs of consecutive flagged days: customer_id, start, end, days."""
    if findings.empty:
        return pd.DataFrame(columns=["customer_id", "start", "end", "days"])
    ordered = findings.sort_values(["customer_id", "date"])
    customer = ordered["customer_id"].to_numpy()
    day = ordered["date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    new_run = np.ones(len(ordered), dtype=bool)
    new_run[1:] = (customer[1:] != customer[:-1]) | (day[1:] != day[:-1] + 1)
    run = np.cumsum(new_run)
    grouped = ordered.assign(run=run).groupby("run")
    return pd.DataFrame(
        {
            "customer_id": grouped["customer_id"].first(),
            "start": grouped["date"].min(),
            "end": grouped["date"].max(),
            "days": grouped.size(),
        }
    ).reset_index(drop=True)


def leak_scores(findings: pd.DataFrame, events: pd.DataFrame, customer_days: int) -> dict:
    """Detection rate of planted leaks and false alarms per 1,000 customer-months."""
    leaks = events[events["kind"] == "leak"].reset_index(drop=True)
    found = alarms(findings)
    pairs = found.reset_index().merge(leaks.reset_index(), on="customer_id", suffixes=("_alarm", "_leak"))
    overlap = pairs[(pairs["start_alarm"] <= pairs["end_leak"]) & (pairs["end_alarm"] >= pairs["start_leak"])]
    detected = overlap["index_leak"].nunique()
    false_alarms = len(found) - overlap["index_alarm"].nunique()
    months = customer_days / DAYS_PER_MONTH
    return {
        "planted_leaks": len(leaks),
        "detected": int(detected),
        "detection_rate": detected / len(leaks) if len(leaks) else float("nan"),
        "alarms": len(found),
        "false_alarms": int(false_alarms),
        "customer_months": round(months),
        "false_alarms_per_1000_customer_months": 1000 * false_alarms / months if months else float("nan"),
        "median_days_to_detect": _median_delay(overlap),
    }


def _median_delay(overlap: pd.DataFrame) -> float:
    """Days from a leak's start to the end of the first alarm run's min_days (when the rule could fire)."""
    if overlap.empty:
        return float("nan")
    first = overlap.sort_values("start_alarm").groupby("index_leak").first()
    fired = first["start_alarm"] + pd.to_timedelta(methods.LeakRule().min_days - 1, unit="D")
    return float((fired - first["start_leak"]).dt.days.clip(lower=0).median())


def evaluate_leak_rule(n_customers: int = 2_000, years: int = 3, rule=None, seed: int = 7) -> dict:
    """Generate data with planted leaks, run the leak rule, and score it."""
    end = datetime.date(2025, 12, 31)
    start = datetime.date(end.year - years + 1, 1, 1)
    frame, events = generated_reads(n_customers, start, end, seed=seed)
    findings = methods.leak(frame, rule or methods.LeakRule())
    return leak_scores(findings, events, findings.attrs["reads_assessed"])
