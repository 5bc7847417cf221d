"""`manage.py backtest_forecast`: the anticipated bill's method against the two naive forecasts (SPEC §4)."""

import dataclasses
import datetime

import numpy as np
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts.models import Customer
from billing.exceptions import BillingError
from billing.pricing import STANDARD_PLAN, price_cents
from billing.selectors import rate_plan_for
from forecast.backtest import backtest, months_between, summary_rows
from forecast.methods import HISTORY_DAYS, daily_matrix, month_bounds
from forecast.populations import END, POPULATIONS, population_matrix, real_export_matrix
from forecast.standard import holt_winters, seasonal_naive_with_drift
from metering.models import MeterRead
from metering.selectors import reads_frame

from ._dates import parse_period

CHUNK = 1_000
REAL_EXPORT = settings.BASE_DIR / "fixtures" / "TX_Daily_Water_Usage_101887055.xlsx"


class Command(BaseCommand):
    help = (
        "Print the mean absolute percentage error (bills and usage) of the anticipated-bill method and of the "
        "two naive forecasts (last month's bill; the same month last year) over a range of months."
    )

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="first", help="first month, YYYY-MM (default: 12 months before --to)")
        parser.add_argument("--to", dest="last", help="last month, YYYY-MM (default: the last complete month read)")
        parser.add_argument("--location", action="append", default=[], help="only this location id (repeatable)")
        parser.add_argument(
            "--as-of-day",
            type=int,
            nargs="+",
            default=[0, 10, 20],
            help="days into the month the forecast is made (0 = the day before it starts; default 0 10 20)",
        )
        parser.add_argument(
            "--populations",
            action="store_true",
            help="instead of the database's customers: every generated population (forecast.populations: steady, "
            "drifting, growing or shrinking, new, leaks and spikes, gaps, businesses) and the real export, "
            "each over its last 12 months",
        )
        parser.add_argument(
            "--compare",
            action="store_true",
            help="with --populations: also judge two standard forecasts (seasonal naive with drift; statsmodels' "
            "Holt-Winters on monthly totals, slow: 25 customers of each population)",
        )

    def handle(self, *args, first, last, as_of_day, location, populations, compare, **options):
        if any(not 0 <= day <= 27 for day in as_of_day):
            raise CommandError("--as-of-day takes days 0-27.", returncode=2)
        if populations:
            return self._populations(as_of_day, compare)
        months = self._months(first, last)
        try:
            results = self._run(months, as_of_day, location)
        except BillingError as error:
            raise CommandError(str(error), returncode=2) from None
        rows = summary_rows(results)
        if not rows:
            raise CommandError("No customer has the history these months need (a year before each).", returncode=2)
        self._print(rows, months)

    def _months(self, first, last):
        if last:
            last = parse_period(last)
        else:
            latest = MeterRead.objects.order_by("-read_date").values_list("read_date", flat=True).first()
            if latest is None:
                raise CommandError("There are no meter reads to backtest on.", returncode=2)
            # the last complete month: the latest read's own month only when it is read to its end
            last_start, last_end = month_bounds(latest)
            last = last_start if latest == last_end else month_bounds(last_start - datetime.timedelta(days=1))[0]
        if first:
            first = parse_period(first)
        else:  # the twelve months ending with `last`
            first = month_bounds(last.replace(year=last.year - 1))[1] + datetime.timedelta(days=1)
        if first > last:
            raise CommandError("--from must not be after --to.", returncode=2)
        return months_between(first, last)

    def _run(self, months, as_of_days, locations):
        start = months[0] - datetime.timedelta(days=HISTORY_DAYS)
        end = month_bounds(months[-1])[1]
        customers = Customer.objects.order_by("pk")
        if locations:
            customers = customers.filter(location_id__in=locations)
        customers = list(customers.values_list("pk", "customer_type"))
        plans = {}
        results = {}
        for offset in range(0, len(customers), CHUNK):
            batch = dict(customers[offset : offset + CHUNK])
            frame = reads_frame(customer_ids=list(batch), start=start, end=end)
            if frame.empty:
                continue
            matrix = daily_matrix(frame, start=start, end=end)
            types = np.array([batch[int(pk)] for pk in matrix.customer_ids])
            backtest(
                matrix,
                months=months,
                as_of_days=as_of_days,
                price_totals=lambda usage, rows, period, types=types: _totals(usage, types[rows], period, plans),
                results=results,
            )
            self.stderr.write(f"  {min(offset + CHUNK, len(customers))} of {len(customers)} customers…")
        return results

    def _populations(self, as_of_days, compare):
        """The method judged on populations it was not built on (SPEC §4: it must win on any of them)."""
        self.others = {}
        if compare:
            self.others = {
                "seasonal naive with drift": seasonal_naive_with_drift,
                "Holt-Winters (statsmodels)": holt_winters,
            }
        for population in POPULATIONS:
            if compare:  # Holt-Winters fits one model per customer and month
                population = dataclasses.replace(population, customers=25)
            matrix = population_matrix(population)
            months = months_between(month_bounds(END.replace(year=END.year - 1))[1] + datetime.timedelta(days=1), END)
            self._judge(population.name, matrix, months, as_of_days, not population.started_months)
        matrix = real_export_matrix(REAL_EXPORT)
        last = month_bounds(matrix.end)[0]
        months = months_between(last.replace(year=last.year - 1) + datetime.timedelta(days=31), last)
        self._judge(f"the real export ({REAL_EXPORT.name})", matrix, months, as_of_days, True)

    def _judge(self, title, matrix, months, as_of_days, need_last_year):
        # Priced with SPEC §2's default schedule, not the database's: the same figures on every machine.
        results = backtest(
            matrix,
            months=months,
            as_of_days=as_of_days,
            price_totals=lambda usage, rows, period: _plan_totals(usage, STANDARD_PLAN, period),
            need_last_year=need_last_year,
            others=self.others,
        )
        self.stdout.write(f"\n## {title}")
        self._print(summary_rows(results), months)

    def _print(self, rows, months):
        self.stdout.write(f"Backtest over {months[0]:%Y-%m} to {months[-1]:%Y-%m}: MAPE in percent (lower is better)\n")
        header = "as of day  " + f"{'method':<32}  {'customer-months':>15}  bill MAPE  usage MAPE  range (mean width)"
        self.stdout.write(header)
        self.stdout.write("-" * len(header))
        for row in rows:
            coverage = (
                f"{row['range_coverage']:.0f}% inside ({row['range_width']:.0f}%)"
                if row["range_coverage"] is not None
                else ""
            )
            self.stdout.write(
                f"{row['as_of_day']:>9}  {row['method']:<32}  {row['customer_months']:>15,}  "
                f"{row['bill_mape']:>9.2f}  {row['usage_mape']:>10.2f}  {coverage}"
            )
        self.stdout.write(self.style.SUCCESS(_verdict(rows)))


def _totals(usage, types, period, plans):
    """Bill totals in dollars for usages (CCF floats), priced exactly as bills are (integer cents)."""
    totals = np.zeros(len(usage))
    for customer_type in np.unique(types):
        key = (customer_type, period)
        if key not in plans:
            plans[key] = rate_plan_for(customer_type=customer_type, period_start=period)
        mask = types == customer_type
        totals[mask] = _plan_totals(usage[mask], plans[key], period)
    return totals


def _plan_totals(usage, plan, period):
    units = np.round(np.nan_to_num(usage) * 10_000).astype(np.int64)
    priced = price_cents(units, plan, period.month)
    return (priced.usage_cents + priced.fees_cents) / 100


def _verdict(rows):
    by_day = {}
    for row in rows:
        by_day.setdefault(row["as_of_day"], {})[row["method"]] = row["bill_mape"]
    margins = []
    for scores in by_day.values():
        method = scores.pop("seasonal run rate", None)
        if method is not None and scores:
            best = min(scores.values())
            margins.append(1 - method / best if best > 0 else (0.0 if method == 0 else -1.0))
    wins = sum(margin > 0 for margin in margins)
    text = f"The seasonal run rate has the lowest bill MAPE at {wins} of {len(by_day)} as-of days"
    if margins and wins == len(margins):
        text += f" (by at least {100 * min(margins):.0f}% of the best other forecast's MAPE)"
    return text + "."
