"""Prices a period's usage under a rate plan (SPEC §2): pure functions over plain data, no database.

The bill run, the bill documents and the anticipated-bill forecast all price with this module, so a
forecast and the bill that follows it can never disagree on arithmetic.

Rules (SPEC §2), exact (integers and Decimal, never float):
- tiers are graduated: `Tier.up_to` is the cumulative upper bound in CCF of the tier (None = no bound,
  only allowed on the last tier); each tier prices the part of the usage that falls inside it;
- usage charge = round half up to the cent of (Σ tier quantity × tier rate) × the month's multiplier;
- total = usage charge + every fixed fee.

The lines of a priced bill always add up to its total: each tier line is rounded half up to the cent
for display and the seasonal adjustment line takes the difference to the usage charge (when the
multiplier is 1 and a rate has sub-cent precision, a "Rounding" line does that job instead).

`price_cents` is the rule: the arithmetic in numpy on integers (cents, ten-thousandths of a CCF), for a
whole bill run at once; `price` lays one bill's lines out from it, so the two cannot drift.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

CENT = Decimal("0.01")
ONE = Decimal("1")
ZERO = Decimal("0")
USAGE_PLACES = 4  # usage is stored in ten-thousandths of a CCF (SPEC §1)


class LineKind:
    TIER = "tier"
    SEASONAL = "seasonal"
    ROUNDING = "rounding"
    FEE = "fee"


@dataclass(frozen=True)
class Tier:
    up_to: Decimal | None  # cumulative upper bound in CCF; None = everything above the previous tier
    rate: Decimal  # dollars per CCF


@dataclass(frozen=True)
class Fee:
    label: str
    amount: Decimal
    code: str = ""  # "base", "infrastructure", ...: lets exports put known fees in their own column


@dataclass(frozen=True)
class RatePlan:
    tiers: tuple[Tier, ...]
    multipliers: dict[int, Decimal]  # month (1-12) -> multiplier of the usage charge; a missing month is 1
    fees: tuple[Fee, ...]
    version_label: str = ""

    def __post_init__(self):
        check_tiers(self.tiers)

    def multiplier(self, month: int) -> Decimal:
        return self.multipliers.get(month, ONE)


@dataclass(frozen=True)
class Line:
    kind: str  # LineKind
    label: str
    quantity: Decimal  # CCF for tiers; the tier lines' sum for seasonal/rounding lines; 1 for fees
    rate: Decimal  # $/CCF for tiers; the multiplier for seasonal lines; the fee for fees
    amount: Decimal  # dollars, to the cent
    code: str = ""


@dataclass(frozen=True)
class PricedBill:
    lines: tuple[Line, ...]
    usage_charge: Decimal
    fees_total: Decimal
    total: Decimal

    def fee(self, code: str) -> Decimal:
        return sum((line.amount for line in self.lines if line.kind == LineKind.FEE and line.code == code), ZERO)


def check_tiers(tiers: tuple[Tier, ...]) -> None:
    """Tiers must rise strictly, start above 0, and end with an unbounded tier; rates are never negative."""
    if not tiers:
        raise ValueError("A rate plan needs at least one tier.")
    if tiers[-1].up_to is not None:
        raise ValueError("The last tier must have no upper bound, so that any usage can be priced.")
    previous = ZERO
    for tier in tiers:
        if tier.rate < 0:
            raise ValueError(f"Tier rates cannot be negative (got {tier.rate}).")
        if tier.up_to is None:
            if tier is not tiers[-1]:
                raise ValueError("Only the last tier may have no upper bound.")
            continue
        if tier.up_to <= previous:
            raise ValueError(f"Tier bounds must rise strictly (got {tier.up_to} after {previous}).")
        previous = tier.up_to


def tier_quantities(usage_ccf: Decimal, tiers: tuple[Tier, ...]) -> list[Decimal]:
    """The part of the usage that falls in each tier (graduated)."""
    quantities, lower = [], ZERO
    for tier in tiers:
        upper = usage_ccf if tier.up_to is None else min(usage_ccf, tier.up_to)
        quantities.append(max(upper - lower, ZERO))
        lower = tier.up_to if tier.up_to is not None else lower
    return quantities


def tier_label(index: int, tiers: tuple[Tier, ...]) -> str:
    lower = ZERO if index == 0 else tiers[index - 1].up_to
    upper = tiers[index].up_to
    if upper is None:
        return f"Tier {index + 1}: above {_ccf(lower)} CCF"
    if index == 0:
        return f"Tier 1: first {_ccf(upper)} CCF"
    return f"Tier {index + 1}: next {_ccf(upper - lower)} CCF"


SEASONS = {12: "Winter", 1: "Winter", 2: "Winter", 3: "Spring", 4: "Spring", 5: "Spring",
           6: "Summer", 7: "Summer", 8: "Summer", 9: "Autumn", 10: "Autumn", 11: "Autumn"}  # fmt: skip


def seasonal_label(multiplier: Decimal, month: int) -> str:
    """The seasonal line's label, e.g. Summer surcharge (July) or Winter discount (January). Its share
    is printed beside it (BillLine.quantity_text): the line is the extra 20%, not ×1.2 of the charge."""
    direction = "surcharge" if multiplier > ONE else "discount"
    return f"{SEASONS[month]} {direction} ({calendar.month_name[month]})"


def price(usage_ccf: Decimal, plan: RatePlan, month: int) -> PricedBill:
    """Price one period's usage (CCF, Decimal, ≥ 0, at most 4 places as stored) for the period's month (1-12).

    The money comes from price_cents, the one rule a bill run uses for every bill at once, so a single
    bill, an anticipated bill and a bill run cannot round differently; this lays it out as lines."""
    if not isinstance(usage_ccf, Decimal):
        raise TypeError("usage_ccf must be a Decimal: money is never computed in float.")
    if usage_ccf < 0:
        raise ValueError(f"Usage cannot be negative (got {usage_ccf}).")
    if not 1 <= month <= 12:
        raise ValueError(f"Month must be 1-12 (got {month}).")
    cents = price_cents(np.array([_scaled(usage_ccf, USAGE_PLACES)], dtype=np.int64), plan, month)
    lines = []
    for index, (tier, quantity) in enumerate(zip(plan.tiers, tier_quantities(usage_ccf, plan.tiers), strict=True)):
        if quantity == 0 and not (index == 0 and usage_ccf == 0):
            continue  # a line per tier used; a zero-usage bill still shows the first tier at 0 CCF
        amount = _dollars(cents.tier_cents[0, index])
        lines.append(Line(LineKind.TIER, tier_label(index, plan.tiers), quantity, tier.rate, amount))
    multiplier = plan.multiplier(month)
    usage_charge, difference = _dollars(cents.usage_cents[0]), _dollars(cents.adjustment_cents[0])
    shown = usage_charge - difference  # Σ of the tier lines as printed: what the adjustment applies to
    if multiplier != ONE:
        lines.append(Line(LineKind.SEASONAL, seasonal_label(multiplier, month), shown, multiplier, difference))
    elif difference:
        lines.append(Line(LineKind.ROUNDING, "Rounding to the cent", shown, ONE, difference))
    for fee in plan.fees:
        lines.append(Line(LineKind.FEE, fee.label, ONE, fee.amount, fee.amount, fee.code))
    fees_total = sum((fee.amount for fee in plan.fees), ZERO)
    return PricedBill(tuple(lines), usage_charge, fees_total, usage_charge + fees_total)


def _dollars(cents) -> Decimal:
    return Decimal(int(cents)).scaleb(-2).quantize(CENT)


# SPEC §2's default schedule (the migration stores the same figures as the first rate schedule).
STANDARD_PLAN = RatePlan(
    tiers=(Tier(Decimal("10"), Decimal("2.50")), Tier(Decimal("20"), Decimal("3.00")), Tier(None, Decimal("3.50"))),
    multipliers={
        6: Decimal("1.20"),
        7: Decimal("1.20"),
        8: Decimal("1.20"),
        12: Decimal("0.90"),
        1: Decimal("0.90"),
        2: Decimal("0.90"),
    },
    fees=(
        Fee("Base service fee", Decimal("15.00"), "base"),
        Fee("Infrastructure fee", Decimal("5.00"), "infrastructure"),
    ),
    version_label="Standard rates (SPEC default)",
)


# --- Vectorised: a whole bill run in integer arithmetic ------------------------------------------------


@dataclass(frozen=True)
class PricedCents:
    """Prices of many usages at once, in integers: money in cents, quantities in ten-thousandths of a CCF.

    tier_units[i, t] is usage i's quantity in tier t; tier_cents[i, t] its line amount (rounded half up);
    usage_cents[i] the usage charge; adjustment_cents[i] = usage charge − Σ tier line amounts."""

    tier_units: np.ndarray
    tier_cents: np.ndarray
    exact_scaled: np.ndarray  # Σ tier quantity × rate, in units of 10**-exact_exponent dollars
    exact_exponent: int
    usage_cents: np.ndarray
    adjustment_cents: np.ndarray
    fees_cents: int


def price_cents(usage_units: np.ndarray, plan: RatePlan, month: int) -> PricedCents:
    """`price` for an array of usages in ten-thousandths of a CCF (int64), exactly, without Decimal per row.

    Rates and multipliers become integers at the smallest power of ten that holds them exactly; the
    products stay far inside int64 for any real bill (checked: it raises rather than overflow)."""
    usage_units = np.asarray(usage_units, dtype=np.int64)
    if usage_units.size and usage_units.min() < 0:
        raise ValueError("Usage cannot be negative.")
    rate_places = max(_places(t.rate) for t in plan.tiers)
    multiplier = plan.multiplier(month)
    mult_places = _places(multiplier)
    _check_range(usage_units, plan, rate_places, _scaled(multiplier, mult_places))
    bounds = [None if t.up_to is None else _scaled(t.up_to, USAGE_PLACES) for t in plan.tiers]
    rates = np.array([_scaled(t.rate, rate_places) for t in plan.tiers], dtype=np.int64)
    tier_units = np.empty((usage_units.size, len(plan.tiers)), dtype=np.int64)
    lower = 0
    for t, bound in enumerate(bounds):
        upper = usage_units if bound is None else np.minimum(usage_units, bound)
        tier_units[:, t] = np.maximum(upper - lower, 0)
        lower = bound if bound is not None else lower
    products = tier_units * rates  # units of 10**-(4 + rate_places) dollars
    exponent = USAGE_PLACES + rate_places
    tier_cents = _round_half_up(products, exponent - 2)
    exact = products.sum(axis=1)
    usage_cents = _round_half_up(exact * _scaled(multiplier, mult_places), exponent + mult_places - 2)
    return PricedCents(
        tier_units=tier_units,
        tier_cents=tier_cents,
        exact_scaled=exact,
        exact_exponent=exponent,
        usage_cents=usage_cents,
        adjustment_cents=usage_cents - tier_cents.sum(axis=1),
        fees_cents=sum(_scaled(f.amount, 2) for f in plan.fees),
    )


def _round_half_up(values: np.ndarray, places: int) -> np.ndarray:
    """Non-negative integers scaled by 10**places, rounded half up to integers."""
    if places <= 0:
        return values * 10 ** (-places)
    divisor = 10**places
    return (values + divisor // 2) // divisor


def _places(value: Decimal) -> int:
    return max(-value.normalize().as_tuple().exponent, 0)


def _scaled(value: Decimal, places: int) -> int:
    scaled = value.scaleb(places)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{value} has more than {places} decimal places.")
    return int(scaled)


def _check_range(usage_units: np.ndarray, plan: RatePlan, rate_places: int, scaled_multiplier: int) -> None:
    biggest_usage = int(usage_units.max()) if usage_units.size else 0
    biggest_rate = max(_scaled(t.rate, rate_places) for t in plan.tiers)
    if biggest_usage * biggest_rate * scaled_multiplier * len(plan.tiers) >= 2**62:
        raise OverflowError("Usage or rates too large for integer pricing; price these bills one by one.")


def _ccf(value: Decimal) -> str:
    return f"{value.normalize():f}"
