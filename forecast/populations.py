"""Populations to backtest the anticipated bill on (SPEC §4: it must win on any population).

Each population is drawn by its own rule and seed, none of them the demo generator's
(hydrospark.demo.generator), so the method cannot be tuned to the data it is judged on. Daily use is
built in log space:

    log use = log level + season (two harmonics, amplitude and peak drawn per customer)
              + weekly rhythm + persistent drift (AR(1) over days) + daily noise

and then each population changes one thing: growth, late starts, leaks and spikes, gaps, weekly
rhythms. Pure numpy: a DailyMatrix out, no database.
"""

import datetime
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .methods import DailyMatrix, daily_matrix

END = datetime.date(2026, 10, 31)  # the last day read: the backtest covers the 12 months before it
DAYS = 4 * 365 + 60


@dataclass(frozen=True)
class Population:
    name: str
    seed: int
    customers: int = 300
    noise: tuple[float, float] = (0.2, 0.4)  # daily log noise, drawn per customer
    drift: float = 0.03  # sd of the AR(1) persistent deviation's daily innovation
    growth: tuple[float, float] = (0.0, 0.0)  # yearly change of level, |g| drawn in this range, either sign
    started_months: tuple[int, int] | None = None  # customers whose reads began this many months before END
    leak_share: float = 0.02
    spike_share: float = 0.05
    gap_share: float = 0.0  # share of days missing, in runs of 1-10 days
    weekly: str = "household"  # household | business
    commercial: bool = False


POPULATIONS = (
    Population("steady households", seed=101, drift=0.0),
    Population("households that drift", seed=111),
    Population("growing or shrinking 20-40% a year", seed=202, growth=(np.log(1.2), np.log(1.4))),
    Population("new customers (3-11 months)", seed=303, started_months=(3, 11)),
    Population("leaks and spikes", seed=404, leak_share=0.25, spike_share=0.5),
    Population("meter gaps", seed=505, gap_share=0.08),
    Population("businesses with weekly rhythms", seed=606, weekly="business", commercial=True),
)


def population_matrix(population: Population, *, end: datetime.date = END, days: int = DAYS) -> DailyMatrix:
    """The population's daily reads (CCF, 2 decimals, NaN = not read) for the `days` days up to `end`."""
    rng = np.random.default_rng(population.seed)
    n = population.customers
    start = end - datetime.timedelta(days=days - 1)
    t = np.arange(days)
    doy = np.array([(start + datetime.timedelta(days=int(d))).timetuple().tm_yday for d in t])
    weekday = (start.weekday() + t) % 7

    base = np.log(rng.lognormal(np.log(4.0 if population.commercial else 0.4), 0.5, n))
    amplitude = rng.uniform(0.1, 0.45, n)
    peak = rng.normal(200, 20, n)
    season = amplitude[:, None] * np.cos(2 * np.pi * (doy[None, :] - peak[:, None]) / 365.25)
    season += 0.3 * amplitude[:, None] * np.cos(4 * np.pi * (doy[None, :] - peak[:, None] - 30) / 365.25)
    log_use = base[:, None] + season + _weekly(population, rng, n)[:, weekday]
    log_use += _drift(rng, n, days, population.drift)
    if population.growth != (0.0, 0.0):
        rate = rng.uniform(*population.growth, n) * rng.choice([-1.0, 1.0], n)
        log_use += rate[:, None] * (t[None, :] - days) / 365.25
    log_use += rng.uniform(*population.noise, n)[:, None] * rng.standard_normal((n, days))
    use = np.exp(log_use)
    _plant_events(use, rng, population)
    use = np.round(use, 2)
    _remove_days(use, rng, population, end, start)
    return DailyMatrix(np.arange(1, n + 1, dtype="int64"), start, use)


def _weekly(population, rng, n):
    if population.weekly == "business":  # closed or quiet at weekends, by how much varies
        weekend = rng.uniform(0.15, 0.6, n)
        profile = np.ones((n, 7))
        profile[:, 5] = weekend
        profile[:, 6] = weekend * rng.uniform(0.3, 1.0, n)
        return np.log(profile)
    return rng.normal(0, 0.05, (n, 7)) + np.array([0, 0, 0, 0, 0.02, 0.08, 0.1])


def _drift(rng, n, days, sd):
    """A slowly wandering deviation (habits, guests, a garden): AR(1) with a month-scale memory."""
    phi = 0.97
    shocks = rng.standard_normal((n, days)) * sd
    drift = np.zeros((n, days))
    for d in range(1, days):
        drift[:, d] = phi * drift[:, d - 1] + shocks[:, d]
    return drift


def _plant_events(use, rng, population):
    n, days = use.shape
    typical = np.median(use, axis=1)
    for i in np.flatnonzero(rng.random(n) < population.leak_share):
        length = int(rng.integers(4, 60))
        first = int(rng.integers(0, days - length))
        use[i, first : first + length] += typical[i] * rng.uniform(0.8, 4.0)
    for i in np.flatnonzero(rng.random(n) < population.spike_share):
        for day in rng.integers(0, days, int(rng.integers(1, 6))):
            use[i, day] += typical[i] * rng.uniform(3.0, 10.0)


def _remove_days(use, rng, population, end, start):
    n, days = use.shape
    if population.started_months:
        months = rng.integers(population.started_months[0], population.started_months[1] + 1, n)
        first = np.maximum(days - (months * 30.44).astype(int), 0)
        use[np.arange(days)[None, :] < first[:, None]] = np.nan
    if population.gap_share:
        runs = int(population.gap_share * days / 5.5)
        for i in range(n):
            for first in rng.integers(0, days, runs):
                use[i, first : first + int(rng.integers(1, 11))] = np.nan


def real_export_matrix(path) -> DailyMatrix:
    """A real meter export (SPEC §1 columns, CSV or XLSX first sheet) as a DailyMatrix, one row per
    Location ID (ids are their order in the file, from 1)."""
    frame = pd.read_csv(path) if str(path).lower().endswith(".csv") else pd.read_excel(path, engine="calamine")
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    dates = pd.to_datetime({"year": frame["year"], "month": frame["month"], "day": frame["day"]})
    codes, _ = pd.factorize(frame["location id"].astype(str))
    reads = pd.DataFrame({"customer_id": codes + 1, "read_date": dates, "usage_ccf": frame["daily water usage (ccf)"]})
    return daily_matrix(reads, start=dates.min().date(), end=dates.max().date())
