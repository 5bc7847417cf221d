"""Backtest of the anticipated bill (SPEC §4): the method against the two naive forecasts.

For each month and each as-of day (0 = the day before the month starts, 10 = its 10th, ...), every
customer with a complete month of reads, a bill last month and one a year earlier is forecast from
the reads dated on or before the as-of date; the forecast is compared with what the month really
came to. MAPE = mean of |forecast − actual| / actual, in percent, over those customer-months, both
on the bill total (priced with the same code as the bills) and on usage. Coverage is the share of
actual usages that fell inside the forecast's low–high range.

Pure: a DailyMatrix and a pricing function in, plain rows out.
"""

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from .methods import DailyMatrix, forecast_usage, month_bounds, month_usage, naive_last_month, naive_last_year

METHODS = ("seasonal run rate", "naive: last month's bill", "naive: same month last year")
# price_totals(usage in CCF per customer, rows of the matrix to price, period start) -> bill totals in dollars
PriceTotals = Callable[[np.ndarray, np.ndarray, datetime.date], np.ndarray]


@dataclass
class Errors:
    """Running sums of absolute percentage errors for one (method, as-of day)."""

    bill_ape: float = 0.0
    usage_ape: float = 0.0
    count: int = 0
    usage_count: int = 0
    covered: int = 0
    width: float = 0.0  # sum of (high − low) / predicted bill, for the range's mean relative width

    def add(self, predicted_bill, actual_bill, predicted_usage, actual_usage, inside=None, width=None):
        self.bill_ape += float(np.sum(np.abs(predicted_bill - actual_bill) / actual_bill))
        positive = actual_usage > 0
        self.usage_ape += float(np.sum(np.abs(predicted_usage - actual_usage)[positive] / actual_usage[positive]))
        self.count += len(actual_bill)
        self.usage_count += int(positive.sum())
        if inside is not None:
            self.covered += int(inside.sum())
        if width is not None:
            self.width += float(np.sum(width))


def backtest(
    matrix: DailyMatrix,
    *,
    months: Iterable[datetime.date],
    as_of_days: Iterable[int],
    price_totals: PriceTotals,
    results: dict | None = None,
    need_last_year: bool = True,
    others: dict[str, Callable] | None = None,
) -> dict[tuple[str, int], Errors]:
    """Accumulate errors per (method, as-of day) into `results` (so chunks of customers can share it).

    Customer-months count where last month was read (and, with need_last_year, the same month a year
    earlier too, so all three methods are judged on the same months). Without need_last_year (customers
    newer than a year), "same month last year" is judged only where it exists, which may be nowhere.
    `others` are further forecasts to compare, name → f(matrix, period=, as_of=) → usage per customer
    (forecast.standard), each judged where it gives a figure."""
    results = {} if results is None else results
    for month in months:
        start, end = month_bounds(month)
        days = (end - start).days + 1
        full = np.sum(~np.isnan(matrix.values[:, _span(matrix, start, end)]), axis=1) == days
        actual = month_usage(matrix, start)
        last_month, last_year = naive_last_month(matrix, period=start), naive_last_year(matrix, period=start)
        rows = np.flatnonzero(full & (last_month > 0) & ((last_year > 0) | (not need_last_year)))
        if rows.size == 0:
            continue
        actual_bill = price_totals(actual[rows], rows, start)
        previous = month_bounds(start - datetime.timedelta(days=1))[0]
        known = last_year[rows] > 0
        naive_bills = {
            METHODS[1]: (price_totals(last_month[rows], rows, previous), last_month[rows], slice(None)),
            METHODS[2]: (
                price_totals(last_year[rows], rows, start.replace(year=start.year - 1)),
                last_year[rows],
                known,
            ),
        }
        for day in as_of_days:
            as_of = start + datetime.timedelta(days=day - 1)
            forecast = forecast_usage(matrix, period=start, as_of=as_of)
            predicted = forecast.predicted[rows]
            inside = (actual[rows] >= forecast.low[rows] - 1e-9) & (actual[rows] <= forecast.high[rows] + 1e-9)
            bill = price_totals(predicted, rows, start)
            high, low = price_totals(forecast.high[rows], rows, start), price_totals(forecast.low[rows], rows, start)
            width = (high - low) / bill
            results.setdefault((METHODS[0], day), Errors()).add(
                bill, actual_bill, predicted, actual[rows], inside, width
            )
            for name, method in (others or {}).items():
                usage = method(matrix, period=start, as_of=as_of)[rows]
                where = np.isfinite(usage)
                if where.any():
                    results.setdefault((name, day), Errors()).add(
                        price_totals(usage[where], rows[where], start),
                        actual_bill[where],
                        usage[where],
                        actual[rows][where],
                    )
            for name, (naive_bill, naive_usage, where) in naive_bills.items():
                if np.any(np.ones(len(rows), bool)[where]):
                    results.setdefault((name, day), Errors()).add(
                        naive_bill[where], actual_bill[where], naive_usage[where], actual[rows][where]
                    )
    return results


def summary_rows(results: dict[tuple[str, int], Errors]) -> list[dict]:
    """One row per (as-of day, method): MAPE of bills and usage in percent, coverage of the range and its
    mean width (high − low bill over the predicted bill, in percent)."""
    rows = []
    order = {name: i for i, name in enumerate(METHODS)}
    for (method, day), errors in sorted(results.items(), key=lambda item: (item[0][1], order.get(item[0][0], 9))):
        rows.append(
            {
                "as_of_day": day,
                "method": method,
                "customer_months": errors.count,
                "bill_mape": 100 * errors.bill_ape / max(errors.count, 1),
                "usage_mape": 100 * errors.usage_ape / max(errors.usage_count, 1),
                "range_coverage": _coverage(method, errors),
                "range_width": 100 * errors.width / errors.count if method == METHODS[0] and errors.count else None,
            }
        )
    return rows


def _coverage(method, errors):
    return 100 * errors.covered / errors.count if method == METHODS[0] and errors.count else None


def months_between(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    months, month = [], first.replace(day=1)
    while month <= last:
        months.append(month)
        month = month_bounds(month)[1] + datetime.timedelta(days=1)
    return months


def _span(matrix, start, end):
    lo, hi = matrix.column(start), matrix.column(end)
    if lo < 0 or hi >= matrix.values.shape[1]:
        return slice(0, 0)
    return slice(lo, hi + 1)
