"""What the portal pages show, always for one customer (the signed-in one): usage series for the
charts and tables, the charts themselves (drawn once per data version, then cached), the anticipated
bill. Everything is read through other apps' selectors; nothing here writes."""

import datetime
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.cache import cache
from django.db.models import Count, F, Max, Q, Sum
from django.db.models.functions import Round
from django.utils import timezone

from anomalies.selectors import incident_days_for_customer, incidents_version
from forecast.selectors import anticipated_bill
from hydrospark import periods
from hydrospark.units import usage_text
from metering import charts
from metering.models import MeterRead
from metering.selectors import daily_usage, monthly_usage

from .models import AlertEvent, AlertKind, ComparisonGroup

GALLONS_PER_CCF = charts.GALLONS_PER_CCF
RANGES = {"30d": "Last 30 days", "12m": "Last 12 months", "all": "All time"}
UNITS = {"ccf": "CCF", "gallons": "gallons"}
SIZES = {"wide": (8, 3.0), "narrow": (4.2, 3.4)}  # inches; the SVG scales to its container
CACHE_SECONDS = 7 * 24 * 3600  # keys carry the data version, so stale entries are never read again


@dataclass(frozen=True)
class UsageRow:
    """One row of a usage table: a day or a month, with the same period a year earlier if known."""

    label: str
    start: datetime.date
    usage_ccf: Decimal
    last_year_ccf: Decimal | None = None
    days_read: int | None = None


@dataclass(frozen=True)
class UsageSeries:
    range_key: str
    period: str  # "day" or "month"
    rows: list[UsageRow] = field(default_factory=list)
    through: datetime.date | None = None  # the window's last day (daily) or month (monthly): it moves by date

    @property
    def highlighted(self) -> datetime.date | None:
        """The last month, when it has a bar to highlight (a caption must not name a missing one)."""
        found = self.period == "month" and self.rows and self.rows[-1].start == self.through
        return self.through if found else None

    @property
    def points(self):
        return [(row.start, row.usage_ccf) for row in self.rows]

    @property
    def compare(self):
        return [
            (_year_before(row.start), row.last_year_ccf)
            for row in self.rows
            if row.last_year_ccf is not None and _year_before(row.start)
        ]

    @property
    def total_ccf(self) -> Decimal:
        return sum((row.usage_ccf for row in self.rows), Decimal("0"))


def data_version(customer) -> str:
    """A fingerprint of the customer's reads (latest day, count, exact total): new days and corrected
    usages both change it. Every cache key carries it, so a new import shows at once. One query."""
    info = MeterRead.objects.filter(customer=customer).aggregate(
        last=Max("read_date"), n=Count("id"), units=Sum(Round(F("usage_ccf") * 10_000))
    )
    return f"{info['last'] or 'none'}-{info['n']}-{int(info['units'] or 0)}"


def usage_series(*, customer, range_key: str, today: datetime.date) -> UsageSeries:
    """The usage behind a range of the usage page: daily for 30 days, monthly otherwise."""
    if range_key == "30d":
        return _daily_series(customer, today)
    months = 12 if range_key == "12m" else None
    return _monthly_series(customer, today, months)


def chart_version(series: UsageSeries, version: str, customer=None) -> str:
    """What a chart's URL and cache key carry: the data version and the window's end, since the window
    moves with the date even when no read arrives (a new month starts); for a daily chart, also the
    customer's incidents it marks (a new or resolved one redraws it)."""
    marks = f"-{incidents_version(customer)}" if customer is not None and series.period == "day" else ""
    return f"{version}-{series.through or ''}{marks}"


def usage_chart(*, customer, series: UsageSeries, unit: str, version: str, highlight=None, size="wide") -> bytes:
    """The SVG of a series in one of SIZES, drawn once per (customer, range, unit, size, chart version)
    and then served from the cache. `version` is chart_version's."""
    key = f"portal:chart:{customer.pk}:{series.range_key}:{unit}:{size}:{version}:{highlight or ''}"
    svg = cache.get(key)
    if svg is None:
        marks = _incident_marks(customer, series)
        svg = _draw(series, UNITS[unit], highlight, SIZES[size], marks)
        cache.set(key, svg, CACHE_SECONDS)
    return svg


def chart_series(*, customer, chart: str, today: datetime.date) -> UsageSeries | None:
    """The series behind a chart URL: "dashboard" (13 months) or a usage range; None for anything else."""
    if chart == "dashboard":
        return dashboard_series(customer=customer, today=today)
    if chart in RANGES:
        return usage_series(customer=customer, range_key=chart, today=today)
    return None


def chart_text(series: UsageSeries, unit: str) -> str:
    """The sentence under a chart, in the chosen unit with the one rounding of hydrospark.units, so its total,
    average and peak read exactly as the table's figures do (the chart's float arithmetic rounded 2.345 down)."""
    if not series.rows:
        return "No reads in this range."
    usages = [row.usage_ccf for row in series.rows]
    peak = max(series.rows, key=lambda row: row.usage_ccf)
    when = "%b %Y" if series.period == "month" else "%b %-d, %Y"
    average = sum(usages, Decimal("0")) / len(usages)
    return (
        f"{len(usages)} {series.period}s from {series.rows[0].start:{when}} to {series.rows[-1].start:{when}}: "
        f"total {usage_text(series.total_ccf, unit)}, average {usage_text(average, unit)} per {series.period}, "
        f"highest {usage_text(peak.usage_ccf, unit)} {'in' if series.period == 'month' else 'on'} {peak.start:{when}}."
    )


def cached_anticipated_bill(*, customer, today: datetime.date, version: str):
    """The anticipated bill for the current month, recomputed only when reads change or the day does."""
    key = f"portal:forecast:{customer.pk}:{today}:{version}"
    found = cache.get(key)
    if found is None:
        found = anticipated_bill(customer=customer, as_of=today) or "none"
        cache.set(key, found, CACHE_SECONDS)
    return None if found == "none" else found


def reads_for_download(*, customer, range_key: str, today: datetime.date):
    """(date, usage CCF, usage gallons) for every read in the range, oldest first."""
    start, end = _range_bounds(range_key, today)
    for read in daily_usage(customer=customer, start=start, end=end):
        yield read.read_date, read.usage_ccf, to_gallons(read.usage_ccf)


def to_gallons(ccf: Decimal) -> Decimal:
    return (ccf * GALLONS_PER_CCF).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- internals ---------------------------------------------------------------------------------------


def _daily_series(customer, today):
    start, end = _range_bounds("30d", today)
    reads = daily_usage(customer=customer, start=start, end=end)
    # The span a year earlier maps 29 February to the 28th, so it never inverts (it used to vanish
    # when the 30 days began on a 29 February); the day itself has no twin to compare with.
    earlier = {
        r.read_date: r.usage_ccf
        for r in daily_usage(customer=customer, start=periods.year_before(start), end=periods.year_before(end))
    }
    rows = [
        UsageRow(_day_label(r.read_date), r.read_date, r.usage_ccf, earlier.get(_year_before(r.read_date)))
        for r in reads
    ]
    return UsageSeries("30d", "day", rows, end)


def _monthly_series(customer, today, months):
    first, last = (None, reads_through(today)) if months is None else month_window(months, today)
    fetch_from = None if first is None else periods.add_months(first, -12)  # the year before, for comparison
    found = monthly_usage(customer=customer, start=fetch_from, end=periods.month_end(last))
    by_month = {month: (usage, days) for month, usage, days in found}
    shown = [month for month in sorted(by_month) if (first is None or month >= first) and month <= last]
    rows = []
    for month in shown:
        usage, days = by_month[month]
        before = by_month.get(periods.add_months(month, -12))
        rows.append(UsageRow(f"{month:%b %Y}", month, usage, before[0] if before else None, days))
    return UsageSeries("12m" if months == 12 else ("13m" if months == 13 else "all"), "month", rows, last)


def reads_through(today: datetime.date) -> datetime.date:
    """The latest day the portal shows: reads arrive the day after, so yesterday."""
    return today - periods.ONE_DAY


def month_window(count: int, today: datetime.date) -> tuple[datetime.date, datetime.date]:
    """(first month, last month) of "the last `count` months": the months that end with yesterday's,
    so on the 1st they are `count` complete months, not `count` - 1 and an empty one."""
    return periods.months_back(count, through=reads_through(today))


def dashboard_series(*, customer, today: datetime.date) -> UsageSeries:
    """The dashboard's 13 months (yesterday's month and the twelve before), with the year before."""
    return _monthly_series(customer, today, 13)


def _incident_marks(customer, series) -> list[datetime.date]:
    """The days of the customer's open incidents they are told of (SPEC §3a), marked on a daily chart."""
    if series.period != "day" or not series.rows:
        return []
    return incident_days_for_customer(customer, start=series.rows[0].start, end=series.rows[-1].start)


def _draw(series, unit, highlight, size, marks=()):
    if series.period == "day":
        return charts.daily_usage_chart(
            series.points, compare=series.compare, unit=unit, size=size, mark_date=list(marks) or None
        )
    return charts.monthly_usage_chart(
        series.points,
        compare=series.compare if series.range_key != "all" else None,
        highlight_month=highlight,
        unit=unit,
        size=size,
    )


def _range_bounds(range_key, today):
    """First and last day of a range, as the usage page shows it (reads arrive up to yesterday)."""
    if range_key == "30d":
        return today - datetime.timedelta(days=30), reads_through(today)
    if range_key == "12m":
        first, last = month_window(12, today)
        return first, periods.month_end(last)
    return periods.FIRST_DAY, today  # everything, a read dated today included


def _day_label(day: datetime.date) -> str:
    return f"{day:%a %b} {day.day}"


def _year_before(day: datetime.date) -> datetime.date | None:
    """The same day a year earlier, for comparison; 29 February has none."""
    return None if (day.month, day.day) == (2, 29) else periods.year_before(day)


# --- alerts and comparison (issue 16) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """The account's use in a month beside similar homes' median and efficient mark (20th percentile)."""

    period: datetime.date
    basis: str  # "in ZIP code 75201" or "on billing cycle 3"
    accounts: int
    own_ccf: Decimal
    median_ccf: Decimal
    efficient_ccf: Decimal

    @property
    def standing(self) -> str:
        if self.own_ccf <= self.efficient_ccf:
            return "efficient"
        return "good" if self.own_ccf <= self.median_ccf else "above"


def alerts_for_dashboard(customer, today: datetime.date) -> list:
    """The account's alerts still worth showing: this month's highest budget step and the vacations of the last
    month with use. One query."""
    # A datetime bound, not created_at__date: MariaDB without time zone tables answers NULL for the date.
    since = timezone.make_aware(datetime.datetime.combine(today - datetime.timedelta(days=31), datetime.time()))
    events = AlertEvent.objects.filter(customer=customer, created_at__gte=since)
    shown, budget_seen = [], False
    for event in events.order_by("kind", "-period", "-threshold"):
        if event.kind == AlertKind.BUDGET:
            if event.period == today.replace(day=1) and not budget_seen:
                shown.append(event)
            budget_seen = True
        else:
            shown.append(event)
    return shown


def comparison_month(today: datetime.date) -> datetime.date:
    """The month compared: the last complete one (every similar home's month has all its reads by now)."""
    return periods.add_months(today.replace(day=1), -1)


def comparison_for(customer, series: UsageSeries, today: datetime.date) -> Comparison | None:
    """How the account's last complete month compares with similar homes: the same customer type in its ZIP
    code, else on its billing cycle; None without a stored group (fewer than 20 similar accounts) or without
    the account's own use that month. One query: the groups are precomputed (refresh_comparisons)."""
    month = comparison_month(today)
    own = next((row.usage_ccf for row in series.rows if row.start == month), None)
    if own is None:
        return None
    zip_, cycle = zip_code(customer.mailing_address), str(customer.cycle_number)
    groups = {
        group.basis: group
        for group in ComparisonGroup.objects.filter(period=month, customer_type=customer.customer_type).filter(
            Q(basis=ComparisonGroup.Basis.ZIP, key=zip_ or "-") | Q(basis=ComparisonGroup.Basis.CYCLE, key=cycle)
        )
    }
    group = groups.get(ComparisonGroup.Basis.ZIP) or groups.get(ComparisonGroup.Basis.CYCLE)
    if group is None:
        return None
    basis = f"in ZIP code {group.key}" if group.basis == ComparisonGroup.Basis.ZIP else f"on billing cycle {group.key}"
    return Comparison(month, basis, group.accounts, own, group.median_ccf, group.efficient_ccf)


_ZIP = re.compile(r"\b(\d{5})(?:-\d{4})?\s*$")


def zip_code(address: str) -> str:
    """The ZIP code that ends a mailing address ('… TX 75201' or '75201-1234'), or ''."""
    found = _ZIP.search(address or "")
    return found.group(1) if found else ""
