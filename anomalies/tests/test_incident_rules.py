"""SPEC §3a's incident rules as pure functions, day for day, without a database."""

import datetime
from decimal import Decimal

import pandas as pd

from anomalies.incidents import (
    cents_to_money,
    incident_costs,
    incidents,
    notify_customer,
    typical_month_before,
    typical_month_units,
    units_to_ccf,
)
from billing.pricing import STANDARD_PLAN

JULY = datetime.date(2024, 7, 1)


def day(n: int, month: datetime.date = JULY) -> datetime.date:
    return month + datetime.timedelta(days=n - 1)


def frame(*rows) -> pd.DataFrame:
    """rows: (customer_id, day, method, usage, mean)."""
    return pd.DataFrame(rows, columns=["customer_id", "date", "method", "usage_ccf", "mean"])


def runs_of(*rows) -> list[tuple]:
    result = incidents(frame(*rows))
    return [
        (r.customer_id, r.start, r.end, r.days, r.methods, units_to_ccf(r.excess_units), r.kind)
        for r in result.itertuples()
    ]


def test_a_one_day_gap_joins_a_run_and_a_two_day_gap_does_not():
    assert runs_of(
        (1, day(1), "zscore", 2.0, 0.5), (1, day(3), "zscore", 1.5, 0.5), (1, day(6), "zscore", 1.0, 0.5)
    ) == [
        (1, day(1), day(3), 2, "zscore", Decimal("2.5000"), "spike"),
        (1, day(6), day(6), 1, "zscore", Decimal("0.5000"), "spike"),
    ]


def test_two_methods_on_one_day_make_one_incident_with_both_methods_and_the_rolling_baseline():
    [run] = runs_of((1, day(5), "zscore", 2.0, 0.5), (1, day(5), "rolling", 2.0, 0.6))
    assert run == (1, day(5), day(5), 1, "rolling+zscore", Decimal("1.4000"), "spike")


def test_the_leak_rule_makes_a_leak_even_on_one_day_and_its_baseline_is_the_excess_base():
    [run] = runs_of((1, day(5), "zscore", 2.0, 0.5), (1, day(5), "leak", 2.0, 0.8))
    assert run[4:] == ("leak+zscore", Decimal("1.2000"), "leak")


def test_three_anomalous_days_make_a_leak_two_make_a_spike():
    three = runs_of(*[(1, day(n), "rolling", 1.0, 0.4) for n in (1, 2, 3)])
    two_with_gap = runs_of((1, day(1), "rolling", 1.0, 0.4), (1, day(3), "rolling", 1.0, 0.4))
    assert three[0][3:] == (3, "rolling", Decimal("1.8000"), "leak")
    assert two_with_gap[0][1:4] == (day(1), day(3), 2) and two_with_gap[0][-1] == "spike"


def test_customers_never_share_a_run_and_runs_come_by_customer_then_start():
    result = runs_of((2, day(1), "zscore", 1.0, 0.5), (1, day(2), "zscore", 1.0, 0.5), (1, day(1), "zscore", 1.0, 0.5))
    assert [(r[0], r[1], r[3]) for r in result] == [(1, day(1), 2), (2, day(1), 1)]


def test_the_excess_is_exact_in_the_stored_places():
    # In millionths: 3 × (100100 − 33334) = 200298, i.e. 0.200298 CCF, rounded once to 0.2003.
    rows = [(1, day(n), "zscore", 0.1001, 0.0333335) for n in (1, 2, 3)]
    assert runs_of(*rows)[0][5] == Decimal("0.2003")


def test_no_days_no_runs():
    assert incidents(frame()).empty


def test_the_cost_is_the_excess_priced_at_the_customers_tier_and_month():
    # Typical month 12 CCF (second tier, $3.00) in July (×1.2): 2 CCF above usual cost 2 × 3.00 × 1.2 = 7.20.
    runs = incidents(frame((1, day(10), "zscore", 2.5, 0.5)))
    cents = incident_costs(runs, [120_000], pd.Series({1: "residential"}), lambda t, m: STANDARD_PLAN)
    assert cents_to_money(cents[0]) == Decimal("7.20")


def test_the_cost_crosses_tiers_and_months_each_with_its_multiplier():
    # Typical 9 CCF: 2 CCF on Jan 31 (1 at $2.50 + 1 at $3.00, ×0.9 = 4.95) and 2 CCF on Feb 1 (same, ×0.9).
    jan31, feb1 = datetime.date(2024, 1, 31), datetime.date(2024, 2, 1)
    runs = incidents(frame((1, jan31, "zscore", 2.5, 0.5), (1, feb1, "zscore", 2.5, 0.5)))
    assert len(runs) == 1
    cents = incident_costs(runs, [90_000], pd.Series({1: "residential"}), lambda t, m: STANDARD_PLAN)
    assert cents_to_money(cents[0]) == Decimal("9.90")


def test_the_cost_of_a_june_spike_at_a_first_tier_customer():
    runs = incidents(frame((1, datetime.date(2024, 6, 3), "rolling", 1.5, 0.5)))
    cents = incident_costs(runs, [30_000], pd.Series({1: "residential"}), lambda t, m: STANDARD_PLAN)
    assert cents_to_money(cents[0]) == Decimal("3.00")  # 1 CCF × $2.50 × 1.2


def test_the_typical_month_is_the_mean_daily_use_times_30_4375_days():
    reads = pd.DataFrame({"customer_id": [1, 1, 2], "usage_ccf": [0.3, 0.5, 1.0]})
    assert typical_month_units(reads).to_dict() == {1: 121_750, 2: 304_375}


def test_customers_are_told_of_leaks_and_of_spikes_of_at_least_1_ccf_or_a_quarter_month():
    assert notify_customer("leak", 1, 1_000_000)
    assert notify_customer("spike", 10_000, 30_000)  # 1 CCF, typical month 3 CCF: 1 CCF is the larger
    assert not notify_customer("spike", 9_999, 30_000)
    assert not notify_customer("spike", 24_999, 100_000)  # below 25% of a 10 CCF month
    assert notify_customer("spike", 25_000, 100_000)


def test_an_incidents_typical_month_is_the_year_before_it_else_all_reads():
    days = pd.date_range("2023-01-01", periods=400, freq="D")
    reads = pd.DataFrame({"customer_id": 1, "read_date": days, "usage_ccf": [0.2] * 365 + [1.0] * 35})
    reads = pd.concat([reads, pd.DataFrame({"customer_id": 2, "read_date": days[:10], "usage_ccf": 0.4})])
    runs = pd.DataFrame({"customer_id": [1, 1, 2], "start": [days[365], days[399], days[5]]})
    # 365 days of 0.2 → 6.0875 CCF; the last run's year holds 34 days of 1.0: (331·0.2 + 34·1.0)/365 × 30.4375
    assert typical_month_before(reads, runs).tolist() == [60_875, 83_557, 121_750]
