"""SPEC §2's arithmetic, to the cent, without a database."""

from decimal import Decimal as D

import numpy as np
import pytest

from billing.pricing import STANDARD_PLAN, Fee, LineKind, RatePlan, Tier, price, price_cents


def amounts(bill, kind):
    return [line.amount for line in bill.lines if line.kind == kind]


def test_25_5_ccf_in_july_is_109_10():
    bill = price(D("25.5"), STANDARD_PLAN, 7)
    assert amounts(bill, LineKind.TIER) == [D("25.00"), D("30.00"), D("19.25")]
    assert bill.usage_charge == D("89.10")
    assert bill.total == D("109.10")


def test_8_ccf_in_january_is_38_00():
    bill = price(D("8"), STANDARD_PLAN, 1)
    assert amounts(bill, LineKind.TIER) == [D("20.00")]
    assert amounts(bill, LineKind.SEASONAL) == [D("-2.00")]
    assert bill.usage_charge == D("18.00")
    assert bill.total == D("38.00")


@pytest.mark.parametrize(
    ("usage", "month", "usage_charge", "total"),
    [
        ("12.07", 9, "31.21", "51.21"),
        ("13.01", 7, "40.84", "60.84"),
        ("7.67", 1, "17.26", "37.26"),
    ],
)
def test_real_sample_months_match_the_spec(usage, month, usage_charge, total):
    bill = price(D(usage), STANDARD_PLAN, month)
    assert (bill.usage_charge, bill.total) == (D(usage_charge), D(total))


def test_exactly_10_ccf_stays_in_the_first_tier():
    bill = price(D("10"), STANDARD_PLAN, 4)
    assert [line.label for line in bill.lines if line.kind == LineKind.TIER] == ["Tier 1: first 10 CCF"]
    assert bill.total == D("45.00")


def test_exactly_20_ccf_fills_two_tiers_and_nothing_of_the_third():
    bill = price(D("20"), STANDARD_PLAN, 4)
    assert amounts(bill, LineKind.TIER) == [D("25.00"), D("30.00")]
    assert bill.total == D("75.00")


def test_a_ten_thousandth_above_20_ccf_opens_the_third_tier():
    bill = price(D("20.0001"), STANDARD_PLAN, 4)
    assert len(amounts(bill, LineKind.TIER)) == 3
    assert bill.usage_charge == D("55.00")


def test_zero_usage_pays_the_fees_only_and_still_shows_the_first_tier():
    bill = price(D("0"), STANDARD_PLAN, 7)
    assert bill.usage_charge == D("0.00")
    assert bill.total == D("20.00")
    assert amounts(bill, LineKind.TIER) == [D("0.00")]


def test_rounding_is_half_up_on_the_usage_charge():
    # 0.1 CCF in January: 0.25 x 0.9 = 0.225 -> 0.23 (banker's rounding would give 0.22)
    assert price(D("0.1"), STANDARD_PLAN, 1).usage_charge == D("0.23")


def test_lines_always_add_up_to_the_total():
    rng = np.random.default_rng(1)
    for units in rng.integers(0, 600_000, 300):
        usage = D(int(units)).scaleb(-4)
        for month in (1, 4, 7):
            bill = price(usage, STANDARD_PLAN, month)
            assert sum(line.amount for line in bill.lines) == bill.total


def test_each_fee_is_its_own_line_with_its_code():
    bill = price(D("5"), STANDARD_PLAN, 3)
    assert bill.fee("base") == D("15.00")
    assert bill.fee("infrastructure") == D("5.00")
    assert bill.fees_total == D("20.00")


def test_months_without_a_multiplier_get_no_seasonal_line():
    bill = price(D("12.07"), STANDARD_PLAN, 9)
    assert not amounts(bill, LineKind.SEASONAL)


def test_negative_usage_is_refused():
    with pytest.raises(ValueError, match="negative"):
        price(D("-1"), STANDARD_PLAN, 3)


def test_float_usage_is_refused():
    with pytest.raises(TypeError):
        price(12.07, STANDARD_PLAN, 3)


def test_a_plan_whose_last_tier_is_bounded_is_refused():
    with pytest.raises(ValueError, match="last tier"):
        RatePlan(tiers=(Tier(D("10"), D("1")),), multipliers={}, fees=())


def test_tier_bounds_must_rise():
    with pytest.raises(ValueError, match="rise"):
        RatePlan(tiers=(Tier(D("10"), D("1")), Tier(D("5"), D("2")), Tier(None, D("3"))), multipliers={}, fees=())


def test_sub_cent_rates_get_a_rounding_line_when_there_is_no_season():
    plan = RatePlan(
        tiers=(Tier(D("1"), D("0.333")), Tier(D("2"), D("0.333")), Tier(None, D("1"))), multipliers={}, fees=()
    )
    bill = price(D("2"), plan, 5)  # 0.333 + 0.333 = 0.666 -> 0.67, lines 0.33 + 0.33
    assert bill.usage_charge == D("0.67")
    assert amounts(bill, LineKind.ROUNDING) == [D("0.01")]


def _random_plans():
    yield STANDARD_PLAN
    yield RatePlan(
        tiers=(Tier(D("5.5"), D("1.875")), Tier(D("30"), D("2.4125")), Tier(None, D("4"))),
        multipliers={3: D("1.125"), 11: D("0.85")},
        fees=(Fee("Meter", D("7.35"), "base"),),
    )


@pytest.mark.parametrize("plan", list(_random_plans()))
def test_vectorised_pricing_matches_decimal_pricing_to_the_cent(plan):
    rng = np.random.default_rng(5)
    units = np.concatenate([rng.integers(0, 500_000, 2_000), [0, 100_000, 200_000, 200_001, 55_000, 1]])
    for month in range(1, 13):
        cents = price_cents(units, plan, month)
        for i, u in enumerate(units):
            bill = price(D(int(u)).scaleb(-4), plan, month)
            assert D(int(cents.usage_cents[i])).scaleb(-2) == bill.usage_charge
            tiers = [line.amount for line in bill.lines if line.kind == LineKind.TIER]
            assert sum(tiers) + D(int(cents.adjustment_cents[i])).scaleb(-2) == bill.usage_charge
        assert D(cents.fees_cents).scaleb(-2) == sum(f.amount for f in plan.fees)
