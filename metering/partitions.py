"""Meter reads partitioned by month on PostgreSQL (issue 18, item 1): creating and detaching the months.

Migration 0006 makes `metering_meterread` a table partitioned by RANGE (read_date) on PostgreSQL, with one
partition per month (`metering_meterread_pYYYY_MM`) and a DEFAULT partition. The default partition is the safety
net: a read of a month without its partition lands there, so no write is ever refused. `read_partitions_ensure`
(the import, before it writes; `ensure_read_partitions` from cron) creates the missing months and moves their rows
out of the default partition; `read_partitions_detach` (`archive_reads`) detaches old months, each left as its
own table to dump and drop. On SQLite and MariaDB the table is plain and every function here does nothing.
"""

import datetime

from django.db import connection, transaction

from hydrospark.periods import add_months, month_start

from .models import MeterRead

READS = MeterRead._meta.db_table
DEFAULT = f"{READS}_default"


def partition_name(month: datetime.date) -> str:
    return f"{READS}_p{month.year:04d}_{month.month:02d}"


def is_partitioned() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = %s::regclass", [READS])
        return cursor.fetchone()[0] == "p"


def read_partitions() -> dict[datetime.date, str]:
    """The month partitions attached to the reads table, by their first day (the default one excluded)."""
    if not is_partitioned():
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass AND c.relname <> %s",
            [READS, DEFAULT],
        )
        names = [name for (name,) in cursor.fetchall()]
    return {datetime.date(int(n[-7:-3]), int(n[-2:]), 1): n for n in names}


def _months(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    month, end, months = month_start(first), month_start(last), []
    while month <= end:
        months.append(month)
        month = add_months(month, 1)
    return months


def read_partitions_ensure(*, first: datetime.date, last: datetime.date) -> list[str]:
    """Create the partitions of the months from `first` to `last` that are missing; return their names."""
    if not is_partitioned():
        return []
    existing = read_partitions()
    created = [_create(month) for month in _months(first, last) if month not in existing]
    return [name for name in created if name]  # None: another process made it meanwhile


def _create(month: datetime.date) -> str | None:
    name, end = partition_name(month), add_months(month, 1)
    with transaction.atomic(), connection.cursor() as cursor:
        # One creator at a time (two imports of the same new month), and no write to the default partition
        # while its rows of this month move out.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [READS])
        if month in read_partitions():
            return None
        cursor.execute(f"LOCK TABLE {DEFAULT} IN ACCESS EXCLUSIVE MODE")
        cursor.execute(f"CREATE TABLE {name} (LIKE {READS} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
        # The CHECK lets ATTACH skip scanning the new table for rows outside its range.
        cursor.execute(
            f"ALTER TABLE {name} ADD CONSTRAINT {name}_range CHECK (read_date >= %s AND read_date < %s)", [month, end]
        )
        cursor.execute(
            f"WITH moved AS (DELETE FROM {DEFAULT} WHERE read_date >= %s AND read_date < %s RETURNING *) "
            f"INSERT INTO {name} (id, read_date, usage_ccf, customer_id) "
            "SELECT id, read_date, usage_ccf, customer_id FROM moved",
            [month, end],
        )
        cursor.execute(f"ALTER TABLE {READS} ATTACH PARTITION {name} FOR VALUES FROM (%s) TO (%s)", [month, end])
        cursor.execute(f"ALTER TABLE {name} DROP CONSTRAINT {name}_range")
    return name


def read_partitions_ensure_days(first_day: int, last_day: int) -> list[str]:
    """The same for days counted from 1970-01-01 (the import's arrays)."""
    epoch = datetime.date(1970, 1, 1)
    return read_partitions_ensure(
        first=epoch + datetime.timedelta(days=int(first_day)), last=epoch + datetime.timedelta(days=int(last_day))
    )


def read_partitions_detach(*, before: datetime.date) -> list[str]:
    """Detach every month partition that ends on or before `before` (a month's first day); return their names.
    A detached month is an ordinary table: its reads leave the site, `pg_dump --table` keeps them."""
    if not is_partitioned():
        return []
    old = sorted((month, name) for month, name in read_partitions().items() if add_months(month, 1) <= before)
    with transaction.atomic(), connection.cursor() as cursor:
        for _month, name in old:
            cursor.execute(f"ALTER TABLE {READS} DETACH PARTITION {name}")
    return [name for _month, name in old]
