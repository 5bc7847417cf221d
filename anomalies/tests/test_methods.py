"""The rules themselves (SPEC §3), on plain frames: no database."""

import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from anomalies import evaluation, methods

REAL_EXPORT = Path(__file__).resolve().parents[2] / "fixtures" / "TX_Daily_Water_Usage_101887055.xlsx"
DAY0 = datetime.date(2024, 1, 1)


def frame(usages, *, customer=1, start=DAY0, days=None) -> pd.DataFrame:
    """Reads of one customer: consecutive days from start, or the given day offsets."""
    offsets = range(len(usages)) if days is None else days
    return pd.DataFrame(
        {
            "customer_id": customer,
            "read_date": pd.to_datetime([start + datetime.timedelta(days=int(d)) for d in offsets]),
            "usage_ccf": np.asarray(usages, dtype=float),
        }
    )


def flagged_days(findings) -> list[int]:
    return [(d.date() - DAY0).days for d in findings["date"]]


# A tie: 24 reads of 0.5 and 6 of 1.5 have μ = 0.7 and σ = 0.4, so μ + 2σ = 1.5 exactly.
TIE = [0.5] * 24 + [1.5] * 6


def test_zscore_does_not_flag_usage_exactly_at_mean_plus_two_sigma():
    assert methods.zscore(frame(TIE), 2.0).empty


def test_zscore_flags_usage_strictly_above_mean_plus_two_sigma():
    usages = [0.5] * 29 + [3.0]
    findings = methods.zscore(frame(usages), 2.0)
    assert flagged_days(findings) == [29]
    row = findings.iloc[0]
    assert row["usage_ccf"] == 3.0
    assert row["mean"] == pytest.approx(np.mean(usages)) and row["std"] == pytest.approx(np.std(usages))


def test_zscore_uses_population_sigma_over_all_reads():
    # μ + 2σ is 0.7186 with the population σ but 0.7221 with the sample σ (ddof=1): 0.72 lies between.
    usages = [0.4, 0.6] * 15 + [0.72]
    assert flagged_days(methods.zscore(frame(usages), 2.0)) == [30]


def test_zscore_does_not_assess_customers_with_fewer_than_30_reads():
    assert methods.zscore(frame([0.5] * 28 + [9.0]), 2.0).empty
    assert flagged_days(methods.zscore(frame([0.5] * 29 + [9.0]), 2.0)) == [29]


def test_zscore_does_not_assess_a_customer_whose_use_never_varies():
    findings = methods.zscore(frame([0.4] * 40), 2.0)
    assert findings.empty and findings.attrs["customers_assessed"] == 0


def test_zscore_factor_is_a_parameter():
    usages = [0.5] * 29 + [1.4]
    assert not methods.zscore(frame(usages), 2.0).empty
    assert methods.zscore(frame(usages), 6.0).empty


def test_zscore_judges_each_customer_on_their_own_history():
    both = pd.concat([frame([0.5] * 29 + [3.0], customer=1), frame([5.0, 6.0] * 15, customer=2)])
    findings = methods.zscore(both.sample(frac=1, random_state=3), 2.0)  # input order does not matter
    assert findings["customer_id"].tolist() == [1]
    assert findings.attrs["customers_assessed"] == 2 and findings.attrs["reads_assessed"] == 60


def test_zscore_finds_119_days_in_the_real_export():
    export = pd.read_excel(REAL_EXPORT, engine="calamine")
    reads = pd.DataFrame(
        {
            "customer_id": 101887055,
            "read_date": pd.to_datetime(export[["Year", "Month", "Day"]]),
            "usage_ccf": export["Daily Water Usage (CCF)"].astype(float).round(4),
        }
    )
    assert len(methods.zscore(reads, 2.0)) == 119


def test_rolling_excludes_the_day_itself_and_needs_30_reads_in_the_90_days_before():
    usages = [0.4, 0.6] * 15  # days 0..29: μ 0.5, σ 0.1
    at_91 = frame([*usages, 0.9], days=[*range(30), 90])  # window day 0..89: all 30 reads
    at_92 = frame([*usages, 0.9], days=[*range(30), 91])  # window day 1..90: 29 reads
    assert flagged_days(methods.rolling(at_91, 2.0)) == [90]
    assert methods.rolling(at_92, 2.0).empty


def test_rolling_counts_the_window_in_days_not_rows():
    # 30 reads spread over 120 days (every 4th day): only about 22 fall in any 90-day window.
    days = list(range(0, 120, 4))
    sparse = frame([0.4, 0.6] * 15 + [5.0], days=[*days, 121])
    findings = methods.rolling(sparse, 2.0)
    assert findings.empty and findings.attrs["reads_assessed"] == 0


def test_rolling_does_not_flag_an_exact_tie_but_flags_just_above():
    assert methods.rolling(frame([*TIE, 1.5]), 2.0).empty
    assert flagged_days(methods.rolling(frame([*TIE, 1.5001]), 2.0)) == [30]


def test_rolling_needs_some_variation_in_the_window():
    assert methods.rolling(frame([0.3] * 30 + [3.0]), 2.0).empty


def test_rolling_agrees_with_a_direct_computation_on_irregular_reads():
    rng = np.random.default_rng(5)
    parts = []
    for customer in (1, 2, 3):
        days = np.sort(rng.choice(400, size=300, replace=False))
        parts.append(frame(np.round(rng.lognormal(-1, 0.5, 300), 2), customer=customer, days=days))
    reads = pd.concat(parts, ignore_index=True)
    expected = set()
    for row in reads.itertuples():
        mine = reads[reads["customer_id"] == row.customer_id]
        window = mine[
            (mine["read_date"] >= row.read_date - pd.Timedelta(days=90)) & (mine["read_date"] < row.read_date)
        ]
        values = window["usage_ccf"].to_numpy()
        if len(values) >= 30 and values.std() > 0 and row.usage_ccf > values.mean() + 2 * values.std():
            expected.add((row.customer_id, row.read_date))
    findings = methods.rolling(reads, 2.0)
    assert set(zip(findings["customer_id"], findings["date"], strict=True)) == expected
    assert len(expected) > 10


def test_rolling_stays_exact_for_huge_reads():
    usages = [100_000.0, 100_000.5] * 15 + [100_001.0]
    assert flagged_days(methods.rolling(frame(usages), 2.0)) == [30]
    assert methods.rolling(frame([*[u * 100_000 for u in TIE], 150_000.0]), 2.0).empty


def test_leak_rule_flags_every_day_of_sustained_high_use():
    rng = np.random.default_rng(1)
    usages = list(np.round(rng.normal(0.5, 0.05, 120), 2))
    usages[80:92] = [u + 0.6 for u in usages[80:92]]  # 12 days of an extra 0.6 CCF
    assert flagged_days(methods.leak(frame(usages))) == list(range(80, 92))


def test_leak_rule_ignores_a_short_burst():
    rng = np.random.default_rng(2)
    usages = list(np.round(rng.normal(0.5, 0.05, 120), 2))
    usages[80:84] = [2.0] * 4  # four days: shorter than a leak's five
    assert methods.leak(frame(usages)).empty


def test_leak_rule_needs_a_baseline_of_28_reads():
    assert methods.leak(frame([0.5] * 20 + [2.0] * 10)).empty


def test_leak_rule_keeps_a_long_leak_from_becoming_its_own_baseline():
    usages = [0.5, 0.55, 0.45, 0.5] * 20 + [1.5] * 60 + [0.5] * 10
    days = flagged_days(methods.leak(frame(usages)))
    assert days == list(range(80, 140))


def test_leak_rule_finds_the_planted_leaks_of_generated_data():
    scores = evaluation.evaluate_leak_rule(n_customers=250, years=3, seed=3)
    assert scores["planted_leaks"] >= 10
    assert scores["detection_rate"] >= 0.9
    assert scores["false_alarms_per_1000_customer_months"] < 1.0
