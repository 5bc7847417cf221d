"""Reads of meter data for the other apps, always set-based (one query per call, no per-row ORM).

Usage is summed in integer ten-thousandths of a CCF so that totals are exact on every database,
SQLite included (it stores decimals as REAL).
"""

from __future__ import annotations

import datetime
import itertools
from decimal import Decimal

import numpy as np
import pandas as pd
from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, Exists, F, FloatField, Func, IntegerField, Max, Min, OuterRef, Sum
from django.db.models.functions import Cast, Round, TruncMonth

from .models import MeterRead
from .progress import mark_stalled

TEN_THOUSANDTHS = Decimal("0.0001")


def _exact_sum():
    return Sum(Round(F("usage_ccf") * 10_000))


def _to_ccf(ten_thousandths) -> Decimal:
    return (Decimal(int(ten_thousandths or 0)) * TEN_THOUSANDTHS).quantize(TEN_THOUSANDTHS)


def daily_usage(*, customer, start: datetime.date, end: datetime.date) -> list[MeterRead]:
    """The customer's reads dated from start to end inclusive, oldest first."""
    return list(MeterRead.objects.filter(customer=customer, read_date__range=(start, end)).order_by("read_date"))


def usage_totals(*, start: datetime.date, end: datetime.date, customer_ids=None) -> dict[int, tuple[Decimal, int]]:
    """{customer_id: (exact usage in CCF, days read)} for reads dated start..end inclusive: one query."""
    reads = MeterRead.objects.filter(read_date__range=(start, end))
    if customer_ids is not None:
        reads = reads.filter(customer_id__in=customer_ids)
    rows = (
        reads.values("customer_id")
        .annotate(units=_exact_sum(), days=Count("id"))
        .values_list("customer_id", "units", "days")
    )
    return {customer_id: (_to_ccf(units), days) for customer_id, units, days in rows}


def monthly_usage(*, customer, start: datetime.date | None = None, end: datetime.date | None = None):
    """[(first day of month, exact usage CCF, days read)] for one customer, oldest first."""
    reads = MeterRead.objects.filter(customer=customer)
    if start is not None:
        reads = reads.filter(read_date__gte=start)
    if end is not None:
        reads = reads.filter(read_date__lte=end)
    rows = (
        reads.annotate(month=TruncMonth("read_date"))
        .values("month")
        .annotate(units=_exact_sum(), days=Count("id"))
        .order_by("month")
        .values_list("month", "units", "days")
    )
    return [(_as_date(month), _to_ccf(units), days) for month, units, days in rows]


def read_span(*, customer) -> tuple[datetime.date | None, datetime.date | None]:
    """The first and last dates the customer has reads for."""
    span = MeterRead.objects.filter(customer=customer).aggregate(first=Min("read_date"), last=Max("read_date"))
    return span["first"], span["last"]


def reads_frame(*, customer_ids=None, start: datetime.date | None = None, end: datetime.date | None = None):
    """All matching reads as a DataFrame (customer_id int64, read_date datetime64, usage_ccf float64),
    sorted by customer and date. Built from one raw cursor fetch: fast enough for millions of rows."""
    reads = MeterRead.objects.all()
    if customer_ids is not None:
        reads = reads.filter(customer_id__in=customer_ids)
    if start is not None:
        reads = reads.filter(read_date__gte=start)
    if end is not None:
        reads = reads.filter(read_date__lte=end)
    try:
        sql, params = (
            reads.order_by("customer_id", "read_date")
            .values_list("customer_id", _EpochDays("read_date"), Cast("usage_ccf", FloatField()))
            .query.sql_with_params()
        )
    except EmptyResultSet:  # e.g. customer_ids=[]: nothing can match
        rows = []
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    # All three columns are numbers: one flat C-level conversion, no Python object per value.
    values = np.fromiter(itertools.chain.from_iterable(rows), dtype=np.float64, count=3 * len(rows)).reshape(-1, 3)
    return pd.DataFrame(
        {
            "customer_id": values[:, 0].astype("int64"),
            "read_date": values[:, 1].astype("int64").astype("datetime64[D]").astype("datetime64[s]"),
            "usage_ccf": values[:, 2],
        }
    )


class _EpochDays(Func):
    """Days since 1970-01-01 of a date column as an integer, computed by the database: fetching
    numbers is several times faster than building a date object per row (SQLite's date converter)."""

    output_field = IntegerField()
    template = "(%(expressions)s - DATE '1970-01-01')"  # PostgreSQL: date - date is an integer

    def as_sqlite(self, compiler, connection, **extra):
        return self.as_sql(
            compiler, connection, template="CAST(julianday(%(expressions)s) - 2440587.5 AS INTEGER)", **extra
        )

    def as_mysql(self, compiler, connection, **extra):
        return self.as_sql(compiler, connection, template="DATEDIFF(%(expressions)s, '1970-01-01')", **extra)


def _as_date(value) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


# --- Imports and the staff reads page -------------------------------------------------------------


def import_runs():
    """Every import run, newest first, with who ran it and whether it was retried (`retried`)."""
    from .models import ImportRun

    retries = ImportRun.objects.filter(retry_of=OuterRef("pk"))
    return ImportRun.objects.select_related("actor").annotate(retried=Exists(retries)).order_by("-created_at", "-id")


def corrections_for_run(run):
    """The reads this run corrected (customer, date, old and new usage), by location and date."""
    return run.corrections.select_related("customer").order_by("customer__location_id", "read_date")


def import_progress(run) -> dict:
    """What the status page shows: the run's state, and while it runs the live progress the importing
    process leaves in the shared cache (phase, rows, share done); `stalled` once that stopped moving."""
    if not hasattr(run, "stalled"):
        mark_stalled([run])
    live = run.live or {}
    return {
        "id": run.pk,
        "status": run.status,
        "status_label": "Stalled" if run.stalled else run.get_status_display(),
        "finished": run.is_finished,
        "stalled": run.stalled,
        "phase": live.get("phase", ""),
        "rows": live.get("rows", run.rows_read),
        "fraction": live.get("fraction", 1.0 if run.is_finished else 0.0),
        "summary": "Stalled: no progress for a while; nothing was written." if run.stalled else run.summary(),
    }


def customer_reads(*, customer, start: datetime.date | None = None, end: datetime.date | None = None):
    """The customer's reads, newest first, for the staff reads page (paginated by the view)."""
    reads = MeterRead.objects.filter(customer=customer)
    if start is not None:
        reads = reads.filter(read_date__gte=start)
    if end is not None:
        reads = reads.filter(read_date__lte=end)
    return reads.order_by("-read_date")


def last_read_dates(*, location_ids) -> dict[str, datetime.date]:
    """{location_id: date of its latest read} for those of these locations that have reads: one query."""
    rows = (
        MeterRead.objects.filter(customer__location_id__in=list(location_ids))
        .values("customer__location_id")
        .annotate(last=Max("read_date"))
        .values_list("customer__location_id", "last")
    )
    return dict(rows)


def reads_count_estimate() -> int | None:
    """The number of stored reads from the database's table statistics (no scan): PostgreSQL's
    pg_class.reltuples, MariaDB's information_schema TABLE_ROWS; None where there is none (SQLite,
    a table never analysed)."""
    table = MeterRead._meta.db_table
    queries = {
        # Partitioned by month (metering/partitions.py): autovacuum never analyses the parent, whose reltuples stays
        # -1; its partitions' figures add up (a never-analysed partition counts nothing until it is).
        "postgresql": (
            "SELECT CASE WHEN c.relkind = 'p' THEN (SELECT sum(greatest(p.reltuples, 0)) FROM pg_inherits i "
            "JOIN pg_class p ON p.oid = i.inhrelid WHERE i.inhparent = c.oid) ELSE c.reltuples END::bigint "
            "FROM pg_class c WHERE c.oid = %s::regclass",
            [table],
        ),
        "mysql": (
            "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
            [table],
        ),
    }
    if connection.vendor not in queries:
        return None
    with connection.cursor() as cursor:
        cursor.execute(*queries[connection.vendor])
        row = cursor.fetchone()
    return int(row[0]) if row and row[0] is not None and row[0] >= 0 else None
