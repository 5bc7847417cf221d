"""Usage and revenue analytics for the staff pages: set-based, computed in the background, cached.

Consumption starts from one grouped query, usage per customer per month over the last two years (a few
hundred thousand rows for 10,000 customers), and derives every table from it with pandas. Revenue and
aging are two grouped queries over bills and payments, summed in integer cents.

On SQLite that grouping takes seconds for ten million reads, too long for a page. So the figures live in
the cache as a *snapshot* (the tables, the data version they were computed from, when): a page shows the
snapshot at once; when the data version has moved on (a new read, an import, a bill or payment change, a
new day) it also enqueues one background refresh (`staff.tasks.refresh_snapshot`) and says the figures
are being brought up to date. `manage.py refresh_analytics` computes them in the foreground (cron, after
bulk loads).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field, replace
from decimal import Decimal
from itertools import pairwise

import pandas as pd
from django.core.cache import cache
from django.db.models import Case, CharField, Count, F, IntegerField, Max, Q, Sum, Value, When
from django.db.models.functions import Cast, Round, Substr
from django.utils import timezone

from accounts.models import AuditEvent, Customer, CustomerType
from hydrospark.spreadsheet import spreadsheet_safe  # the one formula rule (the audit CSV imports it from here)
from metering.models import MeterRead

CENT = Decimal("0.01")
CACHE_SECONDS = 24 * 3600
WINDOW_MONTHS = 24  # months before the current one covered by the consumption tables
TOP_N = 25
TOP_MONTHS = 12  # top consumers: the last complete months
RISING_MONTHS = 3  # rising fastest: the last complete months against the same months a year earlier
RISING_MIN_CCF = 3.0  # a baseline below this is too small for a percentage to mean anything
RISING_MIN_COVERAGE = 0.8  # share of days read, in both windows, for a fair comparison
TYPES = [(t.value, t.label) for t in CustomerType]
CONSUMPTION_SLUGS = ("consumption-by-month", "year-over-year", "top-consumers", "rising-fastest")
# audited record types whose changes may change reads, or bills and payments. Imports also bring
# customer types and names up to date; a name edited by Support shows in the top lists the next day.
USAGE_AUDIT_TYPES = ("metering.importrun", "metering.meterread")
BILLING_AUDIT_TYPES = ("billing.bill", "billing.billrun", "billing.payment", "billing.rateschedule")
REFRESH_LOCK_SECONDS = 15 * 60  # a refresh that died frees its lock after this


@dataclass(frozen=True)
class Table:
    """A table as shown on the page and downloaded as CSV: `rows` hold plain values (str, int, float,
    None); `money` and `ccf` name the columns to format as such."""

    slug: str
    title: str
    columns: list[str]
    rows: list[tuple]
    note: str = ""
    empty_text: str = ""  # what it means when there is nothing to show
    ccf: frozenset[str] = field(default_factory=frozenset)
    money: frozenset[str] = field(default_factory=frozenset)
    percent: frozenset[str] = field(default_factory=frozenset)
    figures: dict = field(default_factory=dict)  # headline numbers the pages show beside the table

    def display_rows(self) -> list[list[tuple[str, bool, str]]]:
        """Rows as (text, is_number, location id to link) cells: CCF to one decimal, money to the cent,
        signed percentages; a "Location ID" cell links to the customer's page."""
        kinds = [self._kind(c) for c in self.columns]
        links = [c == "Location ID" for c in self.columns]
        return [
            [
                (*_display(value, kind), value if link else "")
                for value, kind, link in zip(row, kinds, links, strict=True)
            ]
            for row in self.rows
        ]

    @property
    def is_empty(self) -> bool:
        """No row carries a non-zero figure (e.g. revenue before any bill is issued)."""
        return not any(isinstance(v, int | float | Decimal) and v for row in self.rows for v in row[1:])

    def csv_rows(self) -> list[list[str]]:
        """Rows for the CSV download: usage with 4 decimals, money with 2, percentages with 1."""
        kinds = [self._kind(c) for c in self.columns]
        return [[_csv(value, kind) for value, kind in zip(row, kinds, strict=True)] for row in self.rows]

    def header(self) -> list[tuple[str, bool]]:
        """(column, is_number) pairs, so number columns align right."""
        first = self.rows[0] if self.rows else ()
        return [
            (c, self._kind(c) != "text" or (i < len(first) and isinstance(first[i], int)))
            for i, c in enumerate(self.columns)
        ]

    def _kind(self, column: str) -> str:
        if column in self.ccf:
            return "ccf"
        if column in self.money:
            return "money"
        return "percent" if column in self.percent else "text"


def _display(value, kind: str) -> tuple[str, bool]:
    if value is None:
        return ("–", kind != "text")
    if kind == "ccf":
        return (f"{value:,.1f}", True)
    if kind == "money":
        return (f"${value:,.2f}", True)
    if kind == "percent":
        return (f"{value:+.1f} %", True)
    return (f"{value:,}" if isinstance(value, int) else str(value), isinstance(value, int))


def _csv(value, kind: str) -> str:
    if value is None:
        return ""
    digits = {"ccf": 4, "money": 2, "percent": 1}.get(kind)
    return f"{value:.{digits}f}" if digits is not None else spreadsheet_safe(value)


def add_months(day: datetime.date, months: int) -> datetime.date:
    """The first day of the month `months` after (or before) the month of `day`."""
    index = day.year * 12 + day.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def _latest_audit(labels) -> list[int]:
    """The newest audit event id per record type: one index lookup each."""
    newest = AuditEvent.objects.order_by("-id").values_list("id", flat=True)
    return [newest.filter(target_type=label).first() or 0 for label in labels]


def usage_data_version() -> str:
    """Changes whenever reads may have changed: a new read, or an import (imports are audited, and may
    correct stored reads in place without adding any)."""
    newest_read = MeterRead.objects.aggregate(v=Max("id"))["v"] or 0
    return ".".join(map(str, [newest_read, *_latest_audit(USAGE_AUDIT_TYPES)]))


def customer_months(*, start: datetime.date) -> pd.DataFrame:
    """Usage per customer per month for reads dated from start on: columns customer_id, month ('YYYY-MM'),
    ccf (float), days. One grouped query; the month is the text prefix of the ISO date, which every
    database computes natively (SQLite's date functions would call back into Python for each read).
    No upper bound: reads are never dated after today, and a range would lead SQLite to walk the date
    index with a random table access per read, three times slower than scanning the table."""
    rows = (
        MeterRead.objects.filter(read_date__gte=start)
        .annotate(month=Substr(Cast("read_date", CharField()), 1, 7))
        .values("customer_id", "month")
        .annotate(ccf=Sum("usage_ccf"), days=Count("id"))
        .order_by()
        .values_list("customer_id", "month", "ccf", "days")
    )
    frame = pd.DataFrame(list(rows), columns=["customer_id", "month", "ccf", "days"])
    return frame.astype({"customer_id": "int64", "month": "str", "ccf": "float64", "days": "int64"})


def _consumption_tables(today: datetime.date) -> dict[str, Table]:
    current = today.replace(day=1)
    frame = customer_months(start=add_months(current, -WINDOW_MONTHS))
    types = pd.Series(dict(Customer.objects.values_list("id", "customer_type")), dtype="str")
    frame["customer_type"] = frame["customer_id"].map(types)
    tables = [
        _by_month_and_type(frame, today),
        _year_over_year(frame, today),
        _top_consumers(frame, today),
        _rising_fastest(frame, today),
    ]
    return {table.slug: table for table in tables}


def _month_key(day: datetime.date) -> str:
    return f"{day:%Y-%m}"


def _by_month_and_type(frame: pd.DataFrame, today: datetime.date) -> Table:
    current = today.replace(day=1)
    months = [_month_key(add_months(current, -i)) for i in range(WINDOW_MONTHS, -1, -1)]
    pivot = frame.pivot_table(index="month", columns="customer_type", values="ccf", aggfunc="sum", fill_value=0.0)
    pivot = pivot.reindex(index=months, columns=[t for t, _ in TYPES], fill_value=0.0)
    customers = frame.groupby("month")["customer_id"].nunique().reindex(months, fill_value=0)
    rows = [
        (
            month + (" (to date)" if month == months[-1] else ""),
            *(round(float(pivot.at[month, t]), 4) for t, _ in TYPES),
            round(float(pivot.loc[month].sum()), 4),
            int(customers[month]),
        )
        for month in months
    ]
    labels = [label for _, label in TYPES]
    return Table(
        slug="consumption-by-month",
        title="Consumption by month and customer type",
        columns=["Month", *labels, "Total", "Customers read"],
        rows=rows,
        note=f"CCF, the last {WINDOW_MONTHS} months and the current month to date.",
        ccf=frozenset([*labels, "Total"]),
    )


def _year_over_year(frame: pd.DataFrame, today: datetime.date) -> Table:
    totals = frame.groupby("month")["ccf"].sum()
    rows = []
    for month in range(1, 13):
        last = totals.get(f"{today.year - 1}-{month:02d}")
        this = totals.get(f"{today.year}-{month:02d}") if month <= today.month else None
        partial = month == today.month
        change = None if last in (None, 0) or this is None or partial else round((this - last) / last * 100, 1)
        label = datetime.date(2000, month, 1).strftime("%B") + (" (to date)" if partial else "")
        rows.append((label, _round(last), _round(this), change))
    return Table(
        slug="year-over-year",
        title=f"This year against last: {today.year} and {today.year - 1}",
        columns=["Month", str(today.year - 1), str(today.year), "Change"],
        rows=rows,
        note="Total CCF of all customers; the current month is not compared until it is complete.",
        ccf=frozenset([str(today.year - 1), str(today.year)]),
        percent=frozenset(["Change"]),
    )


def _complete_months(today: datetime.date, count: int, years_back: int = 0) -> list[str]:
    current = today.replace(day=1)
    return [_month_key(add_months(current, -i - 12 * years_back)) for i in range(count, 0, -1)]


def _top_consumers(frame: pd.DataFrame, today: datetime.date) -> Table:
    months = _complete_months(today, TOP_MONTHS)
    usage = frame[frame["month"].isin(months)].groupby("customer_id").agg(ccf=("ccf", "sum"), days=("days", "sum"))
    top = usage.sort_values(["ccf"], ascending=False).head(TOP_N)
    names = _customer_labels(top.index)
    rows = [
        (*names[cid], round(float(r.ccf), 4), round(float(r.ccf) / r.days, 4) if r.days else None)
        for cid, r in top.iterrows()
    ]
    return Table(
        slug="top-consumers",
        title="Top consumers",
        columns=["Location ID", "Customer", "Type", "CCF", "CCF per day"],
        rows=rows,
        note=f"The {TOP_N} largest users over the last {TOP_MONTHS} complete months ({months[0]} to {months[-1]}).",
        ccf=frozenset(["CCF", "CCF per day"]),
    )


def _rising_fastest(frame: pd.DataFrame, today: datetime.date) -> Table:
    recent, earlier = _complete_months(today, RISING_MONTHS), _complete_months(today, RISING_MONTHS, years_back=1)
    days_recent = sum(_days_in(m) for m in recent)
    days_earlier = sum(_days_in(m) for m in earlier)
    now = frame[frame["month"].isin(recent)].groupby("customer_id")[["ccf", "days"]].sum()
    before = frame[frame["month"].isin(earlier)].groupby("customer_id")[["ccf", "days"]].sum()
    both = now.merge(before, how="inner", left_index=True, right_index=True, suffixes=("_now", "_before"))
    fair = (
        (both["days_now"] >= RISING_MIN_COVERAGE * days_recent)
        & (both["days_before"] >= RISING_MIN_COVERAGE * days_earlier)
        & (both["ccf_before"] >= RISING_MIN_CCF)
    )
    both = both[fair]
    # compare daily averages, so a missed day or two does not look like a change in use
    rate_now, rate_before = both["ccf_now"] / both["days_now"], both["ccf_before"] / both["days_before"]
    both = both.assign(change=(rate_now - rate_before) / rate_before * 100)
    top = both[both["change"] > 0].sort_values("change", ascending=False).head(TOP_N)
    names = _customer_labels(top.index)
    rows = [
        (*names[cid], round(float(r.ccf_before), 4), round(float(r.ccf_now), 4), round(float(r.change), 1))
        for cid, r in top.iterrows()
    ]
    span = f"{recent[0]} to {recent[-1]}"
    return Table(
        slug="rising-fastest",
        title="Use rising fastest",
        columns=["Location ID", "Customer", "Type", "A year earlier", span, "Change"],
        rows=rows,
        note=(
            f"Average daily use over {span} against the same months a year earlier; customers read on at least "
            f"{RISING_MIN_COVERAGE:.0%} of the days in both, with at least {RISING_MIN_CCF:g} CCF a year earlier."
        ),
        ccf=frozenset(["A year earlier", span]),
        percent=frozenset(["Change"]),
    )


def _days_in(month: str) -> int:
    first = datetime.date.fromisoformat(f"{month}-01")
    return (add_months(first, 1) - first).days


def _customer_labels(ids) -> dict[int, tuple[str, str, str]]:
    labels = dict(TYPES)
    rows = Customer.objects.filter(pk__in=list(ids)).values_list("pk", "location_id", "name", "customer_type")
    return {pk: (location_id, name, labels.get(kind, kind)) for pk, location_id, name, kind in rows}


def _round(value, digits: int = 4):
    return None if value is None else round(float(value), digits)


# --- Billing figures: revenue, aging, the Billing home, a customer's bills ------------------------

AGING_BUCKETS = [("Current", None, 0), ("1–30 days", 1, 30), ("31–60 days", 31, 60), ("61–90 days", 61, 90)]
AGING_BUCKETS += [("90+ days", 91, None)]
BILLING_TABLES = ("revenue-by-month", "receivables-aging")


def billing_data_version() -> str:
    """Changes whenever bills or payments may have changed: new rows, or an audited billing change
    (issuing, recomputing drafts, a payment, a rate edit)."""
    from billing.models import Bill, LedgerEntry

    # every payment, fee, adjustment and cancellation is a new ledger entry (entries are never changed)
    newest = [Bill.objects.aggregate(v=Max("id"))["v"] or 0, LedgerEntry.objects.aggregate(v=Max("id"))["v"] or 0]
    return ".".join(map(str, newest + _latest_audit(BILLING_AUDIT_TYPES)))


def _billing_tables(today: datetime.date) -> dict[str, Table]:
    return {t.slug: t for t in (_revenue_by_month(today), _aging_table(*aging_and_accounts(today=today)))}


def money_from_cents(cents) -> Decimal:
    return (Decimal(int(cents or 0)) / 100).quantize(CENT)


def revenue_by_month(*, start: datetime.date, end: datetime.date) -> list[tuple[datetime.date, Decimal, Decimal]]:
    """[(month, billed, collected)] from start's month to end's: billed is the total of issued bills for
    the month's use (their period), collected the payments received in the month. Two grouped queries,
    summed in integer cents so totals are exact on every database."""
    from billing.models import Bill, Payment

    billed = dict(
        Bill.objects.issued()
        .filter(period__range=(start.replace(day=1), end))
        .values("period")
        .annotate(cents=Sum(Round(F("total_amount") * 100)))
        .order_by()
        .values_list("period", "cents")
    )
    collected = dict(
        Payment.objects.filter(paid_on__range=(start.replace(day=1), end))
        .annotate(month=Substr(Cast("paid_on", CharField()), 1, 7))
        .values("month")
        .annotate(cents=Sum(Round(F("amount") * 100)))
        .order_by()
        .values_list("month", "cents")
    )
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append((month, money_from_cents(billed.get(month)), money_from_cents(collected.get(_month_key(month)))))
        month = add_months(month, 1)
    return months


def _revenue_by_month(today: datetime.date) -> Table:
    rows = [
        (_month_key(month) + (" (to date)" if month == today.replace(day=1) else ""), billed, collected)
        for month, billed, collected in revenue_by_month(start=add_months(today, -WINDOW_MONTHS), end=today)
    ]
    return Table(
        slug="revenue-by-month",
        title="Revenue billed and collected by month",
        columns=["Month", "Billed", "Collected"],
        rows=rows,
        note="Billed: issued bills for the month's use (drafts are not counted). Collected: payments received "
        "in the month, whichever bill they paid.",
        money=frozenset(["Billed", "Collected"]),
        empty_text="no bill issued and no payment received in these months",
    )


def receivables_aging(*, today: datetime.date) -> list[tuple[str, int, Decimal]]:
    return aging_and_accounts(today=today)[0]


def aging_and_accounts(*, today: datetime.date) -> tuple[list[tuple[str, int, Decimal]], int, int]:
    """([(bucket, accounts, open amount)], accounts owing anything, accounts overdue) as of `today`, from
    the ledger: what is open of each charge (bill, late fee, debit adjustment) by days past its due date:
    current (not yet due), 1–30, 31–60, 61–90, 90+.

    Credits settle the oldest charges first (SPEC §2a), so what is open of the charges due before a day is
    max(0, those charges − all credits) (billing.ledger's closed form): one grouped query gives each
    customer's edges, and a bucket is the difference of two edges."""
    edges = [today - datetime.timedelta(days=days) for days in (90, 60, 30, 0)]  # oldest first
    labels = [label for label, *_ in reversed(AGING_BUCKETS)]  # 90+ first, current last
    totals, owing, overdue = {label: [0, 0] for label in labels}, 0, 0
    for credits, charges, *before in _ledger_edges(today, edges):
        opened = [max(0, int(c or 0) - int(credits or 0)) for c in (*before, charges)]
        owing, overdue = owing + (opened[-1] > 0), overdue + (opened[-2] > 0)
        for label, cents in zip(labels, [opened[0]] + [b - a for a, b in pairwise(opened)], strict=True):
            if cents > 0:
                totals[label][0] += 1
                totals[label][1] += cents
    buckets = [(label, totals[label][0], money_from_cents(totals[label][1])) for label, *_ in AGING_BUCKETS]
    return buckets, owing, overdue


def _ledger_edges(today: datetime.date, edges: list[datetime.date]):
    """Per customer with live entries on `today`: (credits, all charges, charges due before each edge), cents."""
    from billing.models import LedgerEntry

    live = LedgerEntry.objects.live_on(today)
    cents = Round(F("amount") * 100, output_field=IntegerField())
    charge = Q(amount__gt=0)
    return (
        live.order_by()
        .values("customer_id")
        .annotate(
            credits=Sum(Case(When(amount__lt=0, then=-cents), default=Value(0))),
            charges=Sum(Case(When(charge, then=cents), default=Value(0))),
            **{
                f"before_{i}": Sum(Case(When(charge & Q(due_date__lt=edge), then=cents), default=Value(0)))
                for i, edge in enumerate(edges)
            },
        )
        .values_list("credits", "charges", *(f"before_{i}" for i in range(len(edges))))
    )


def _aging_table(buckets, owing: int, overdue: int) -> Table:
    total = sum((amount for _, _, amount in buckets), Decimal("0.00"))
    return Table(
        slug="receivables-aging",
        title="Receivables aging",
        columns=["Days overdue", "Accounts", "Open amount"],
        rows=[*buckets, ("Total", owing, total)],
        note="What customers owe as of today, from their accounts: the open part of each bill, late fee and "
        "charge, by days past its due date (current: not yet due), after payments and credits settled the "
        "oldest first. An account owing in several buckets counts in each; the total counts it once.",
        money=frozenset(["Open amount"]),
        empty_text="no account owes anything",
        figures={"overdue_accounts": overdue},
    )


# --- Snapshots: what the pages show ---------------------------------------------------------------


@dataclass(frozen=True)
class Snapshot:
    """Tables computed from the data as of `version`, at `computed_at`. `refreshing` is set on a snapshot
    served while a newer one is being computed."""

    kind: str
    version: str
    computed_at: datetime.datetime
    tables: dict[str, Table]
    refreshing: bool = False


SNAPSHOT_KINDS = {
    "consumption": (usage_data_version, _consumption_tables),
    "billing": (billing_data_version, _billing_tables),
}


def _snapshot_key(kind: str) -> str:
    return f"staff:snapshot:{kind}"


def snapshot_version(kind: str, today: datetime.date) -> str:
    return f"{today}:{SNAPSHOT_KINDS[kind][0]()}"


def snapshot(kind: str, *, today: datetime.date) -> Snapshot | None:
    """The latest snapshot of `kind` ("consumption" or "billing"), refreshed in the background when the
    data has changed since it was computed; None until the first one is ready."""
    from .tasks import refresh_snapshot

    version = snapshot_version(kind, today)
    current = cache.get(_snapshot_key(kind))
    if current is not None and current.version == version:
        return current
    if cache.add(f"{_snapshot_key(kind)}:refreshing:{version}", True, REFRESH_LOCK_SECONDS):
        refresh_snapshot.enqueue(kind, today.isoformat())
        current = cache.get(_snapshot_key(kind))  # an immediate backend has refreshed it already
    if current is None:
        return None
    return current if current.version == version else replace(current, refreshing=True)


def snapshot_refresh(*, kind: str, today: datetime.date) -> Snapshot:
    """Compute the tables of `kind` now and store them as the latest snapshot."""
    version_of, compute = SNAPSHOT_KINDS[kind]
    version = f"{today}:{version_of()}"  # read first: data arriving meanwhile makes the next version
    fresh = Snapshot(kind=kind, version=version, computed_at=timezone.now(), tables=compute(today))
    cache.set(_snapshot_key(kind), fresh, None)
    cache.delete(f"{_snapshot_key(kind)}:refreshing:{version}")
    return fresh


def analytics_snapshots(*, today: datetime.date) -> list[Snapshot | None]:
    return [snapshot(kind, today=today) for kind in SNAPSHOT_KINDS]


def analytics_table(*, slug: str, today: datetime.date) -> tuple[Table, Snapshot] | None:
    """The table of this slug with the snapshot holding it (None when unknown or not computed yet)."""
    for shot in analytics_snapshots(today=today):
        if shot is not None and slug in shot.tables:
            return shot.tables[slug], shot
    return None


def analytics_svg(*, slug: str, today: datetime.date) -> bytes | None:
    """The chart drawn from the table of the same slug, cached per snapshot version."""
    found = analytics_table(slug=slug, today=today)
    if found is None:
        return None
    table, shot = found
    key = f"staff:chart:{slug}:{shot.version}"
    svg = cache.get(key)
    if svg is None:
        svg = _draw(slug, table)
        cache.set(key, svg, 7 * 24 * 3600)
    return svg


def _draw(slug: str, table: Table) -> bytes:
    from . import charts

    if slug == "consumption-by-month":
        months = [datetime.date.fromisoformat(row[0][:7] + "-01") for row in table.rows]
        series = {label: [row[i + 1] for row in table.rows] for i, (_, label) in enumerate(TYPES)}
        return charts.stacked_months_chart(months, series)
    if slug == "year-over-year":
        labels = [row[0][:3] for row in table.rows]
        first, second = [r[1] for r in table.rows], [r[2] for r in table.rows]
        return charts.paired_bars_chart(labels, first, second, names=table.columns[1:3])
    if slug == "revenue-by-month":
        labels = charts.month_labels([datetime.date.fromisoformat(row[0][:7] + "-01") for row in table.rows])
        first, second = [r[1] for r in table.rows], [r[2] for r in table.rows]
        return charts.paired_bars_chart(labels, first, second, names=("Billed", "Collected"), unit="$")
    if slug == "receivables-aging":
        return charts.aging_chart([(row[0], row[2]) for row in table.rows[:-1]])
    raise ValueError(f"No chart for {slug!r}")
