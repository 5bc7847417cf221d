"""What the portal pages show, always for one customer (the signed-in one): usage series for the
charts and tables, the charts themselves (drawn once per data version, then cached), the anticipated
bill. Everything is read through other apps' selectors; nothing here writes."""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.cache import cache
from django.db.models import Count, F, Max, Sum
from django.db.models.functions import Round

from forecast.selectors import anticipated_bill
from metering import charts
from metering.models import MeterRead
from metering.selectors import daily_usage, monthly_usage

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


def usage_chart(*, customer, series: UsageSeries, unit: str, version: str, highlight=None, size="wide") -> bytes:
    """The SVG of a series in one of SIZES, drawn once per (customer, range, unit, size, data version)
    and then served from the cache."""
    key = f"portal:chart:{customer.pk}:{series.range_key}:{unit}:{size}:{version}:{highlight or ''}"
    svg = cache.get(key)
    if svg is None:
        svg = _draw(series, UNITS[unit], highlight, SIZES[size])
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
    return charts.chart_summary(series.points, unit=UNITS[unit], period=series.period)


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
    earlier = {
        r.read_date: r.usage_ccf
        for r in daily_usage(customer=customer, start=_year_before(start) or start, end=_year_before(end) or end)
    }
    rows = [
        UsageRow(_day_label(r.read_date), r.read_date, r.usage_ccf, earlier.get(_year_before(r.read_date)))
        for r in reads
    ]
    return UsageSeries("30d", "day", rows)


def _monthly_series(customer, today, months):
    this_month = today.replace(day=1)
    start = None if months is None else _add_months(this_month, -(months - 1))
    fetch_from = None if start is None else _add_months(start, -12)
    found = monthly_usage(customer=customer, start=fetch_from, end=today)
    by_month = {month: (usage, days) for month, usage, days in found}
    shown = [month for month in sorted(by_month) if start is None or month >= start]
    rows = []
    for month in shown:
        usage, days = by_month[month]
        before = by_month.get(_add_months(month, -12))
        rows.append(UsageRow(f"{month:%b %Y}", month, usage, before[0] if before else None, days))
    return UsageSeries("12m" if months == 12 else ("13m" if months == 13 else "all"), "month", rows)


def dashboard_series(*, customer, today: datetime.date) -> UsageSeries:
    """The dashboard's 13 months (this month and the twelve before), with the year before for comparison."""
    return _monthly_series(customer, today, 13)


def _draw(series, unit, highlight, size):
    if series.period == "day":
        return charts.daily_usage_chart(series.points, compare=series.compare, unit=unit, size=size)
    return charts.monthly_usage_chart(
        series.points,
        compare=series.compare if series.range_key != "all" else None,
        highlight_month=highlight,
        unit=unit,
        size=size,
    )


def _range_bounds(range_key, today):
    """First and last day of a range. Reads arrive up to yesterday, so "30 days" ends yesterday."""
    if range_key == "30d":
        return today - datetime.timedelta(days=30), today - datetime.timedelta(days=1)
    if range_key == "12m":
        return _add_months(today.replace(day=1), -11), today
    return datetime.date(1900, 1, 1), today


def _day_label(day: datetime.date) -> str:
    return f"{day:%a %b} {day.day}"


def _add_months(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def _year_before(day: datetime.date) -> datetime.date | None:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return None
