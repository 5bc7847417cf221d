"""The anticipated bill (SPEC §4) for pages and exports: reads from metering, prices from billing.

Forecasting itself is pure (forecast.methods); this module fetches the reads dated on or before the
as-of date, runs the method and prices the result with billing's own pricing code, so an
anticipated bill and the bill that follows can never disagree on arithmetic.
"""

import datetime
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from accounts.models import Customer
from billing.pricing import PricedBill, RatePlan, price
from billing.selectors import rate_plan_for
from hydrospark.units import usage_text
from metering.selectors import reads_frame

from .methods import HISTORY_DAYS, UsageForecast, daily_matrix, forecast_usage, month_bounds

FOUR_PLACES = Decimal("0.0001")
CHUNK = 2_000  # customers per database fetch when forecasting everyone


@dataclass(frozen=True)
class AnticipatedBill:
    """One customer's forecast for one month, priced. Usage in CCF (4 dp), money in dollars (2 dp)."""

    location_id: str
    period_start: datetime.date
    period_end: datetime.date
    as_of: datetime.date
    observed_ccf: Decimal
    days_read: int
    days_left: int
    recent_rate: Decimal  # CCF a day over the recent weeks
    daily_rate: Decimal  # CCF a day predicted for the days left
    has_season: bool
    predicted_ccf: Decimal
    low_ccf: Decimal
    high_ccf: Decimal
    bill: PricedBill
    low_total: Decimal
    high_total: Decimal

    @property
    def total(self) -> Decimal:
        return self.bill.total

    @property
    def explanation(self) -> str:
        return self.explain("ccf")

    def explain(self, unit: str = "ccf") -> str:
        """How the figure was estimated, in one sentence a customer can follow, in their unit ("ccf" or
        "gallons"). It names the daily use the forecast used, and says why it differs from the recent."""
        month = f"{self.period_start:%B}"
        if self.days_left == 0:
            return f"All of {month}'s reads are in: this is what your bill will come to."
        so_far = f"{usage_text(self.observed_ccf, unit)} read so far, plus " if self.days_read else ""
        days = "day" if self.days_left == 1 else "days"
        rate = f"{usage_text(self.daily_rate, unit)} a day"
        return f"{so_far}{self.days_left} {days} to go at about {rate}{self._basis(unit)}."

    def _basis(self, unit: str) -> str:
        recent = f"{usage_text(self.recent_rate, unit)} a day"
        if self._near_recent:
            if self.has_season:
                return f", in line with your recent {recent} and with the same weeks of past years"
            return f", your average over recent weeks ({recent})"
        compared = f": {'more' if self.daily_rate > self.recent_rate else 'less'} than your recent {recent}"
        if self.has_season:  # past years' weeks are the only other thing the method reads
            return f"{compared}, because it also follows your use in these weeks of past years"
        return f"{compared}, as use usually changes at this time of year"

    @property
    def _near_recent(self) -> bool:
        """The daily use forecast is within 5% of the recent average (the difference is not worth a why)."""
        return abs(self.daily_rate - self.recent_rate) <= self.recent_rate * Decimal("0.05")


def anticipated_bill(*, customer: Customer, as_of: datetime.date, period: datetime.date | None = None):
    """The customer's anticipated bill for the month of `period` (default: the as-of date's month),
    from reads dated on or before as_of. None when the customer has no reads to go on."""
    period_start, period_end = month_bounds(period or as_of)
    frame = reads_frame(customer_ids=[customer.pk], start=as_of - datetime.timedelta(days=HISTORY_DAYS), end=as_of)
    if frame.empty:
        return None
    matrix = daily_matrix(frame, start=as_of - datetime.timedelta(days=HISTORY_DAYS), end=as_of)
    forecast = forecast_usage(matrix, period=period_start, as_of=as_of)
    plan = rate_plan_for(customer_type=customer.customer_type, period_start=period_start)
    return _priced(forecast, 0, customer.location_id, plan)


def anticipated_bills(
    *, period: datetime.date, as_of: datetime.date, chunk: int = CHUNK, customer_ids=None
) -> Iterator[AnticipatedBill]:
    """Every customer with reads in the forecast's history span (or only those of `customer_ids`: the portal's
    budget alerts forecast just the accounts that set one), sorted by location_id, fetched in chunks."""
    period_start, _ = month_bounds(period)
    start = as_of - datetime.timedelta(days=HISTORY_DAYS)
    chosen = Customer.objects.all() if customer_ids is None else Customer.objects.filter(pk__in=customer_ids)
    customers = list(chosen.order_by("location_id").values_list("pk", "location_id", "customer_type"))
    plans = {}
    for offset in range(0, len(customers), chunk):
        batch = customers[offset : offset + chunk]
        frame = reads_frame(customer_ids=[pk for pk, _, _ in batch], start=start, end=as_of)
        if frame.empty:
            continue
        forecast = forecast_usage(daily_matrix(frame, start=start, end=as_of), period=period_start, as_of=as_of)
        rows = {int(pk): i for i, pk in enumerate(forecast.customer_ids)}
        for pk, location_id, customer_type in batch:
            if pk in rows:
                if customer_type not in plans:
                    plans[customer_type] = rate_plan_for(customer_type=customer_type, period_start=period_start)
                yield _priced(forecast, rows[pk], location_id, plans[customer_type])


def _priced(forecast: UsageForecast, i: int, location_id: str, plan: RatePlan) -> AnticipatedBill:
    month = forecast.period_start.month
    predicted, low, high = (_ccf(forecast.predicted[i]), _ccf(forecast.low[i]), _ccf(forecast.high[i]))
    return AnticipatedBill(
        location_id=location_id,
        period_start=forecast.period_start,
        period_end=forecast.period_end,
        as_of=forecast.as_of,
        observed_ccf=_ccf(forecast.observed[i]),
        days_read=int(forecast.days_read[i]),
        days_left=int(forecast.days_left[i]),
        recent_rate=_ccf(forecast.recent_rate[i]),
        daily_rate=_ccf(forecast.daily_rate[i]),
        has_season=bool(forecast.has_season[i]),
        predicted_ccf=predicted,
        low_ccf=low,
        high_ccf=high,
        bill=price(predicted, plan, month),
        low_total=price(low, plan, month).total,
        high_total=price(high, plan, month).total,
    )


def _ccf(value: float) -> Decimal:
    """A float usage to 4 decimal places, half up (repr gives the shortest exact-looking digits)."""
    if not np.isfinite(value) or value < 0:
        return Decimal("0.0000")
    return Decimal(repr(float(value))).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)
