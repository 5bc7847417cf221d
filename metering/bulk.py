"""Bulk SQL for the import, one function per job, each with its SQLite, PostgreSQL and MariaDB form.

Rows arrive as numpy arrays (customer ids, days since 1970-01-01, usage in ten-thousandths of a CCF)
and go to the database in batches: `executemany` on SQLite and MariaDB (mysqlclient sends multi-row
INSERTs), COPY on PostgreSQL. Nothing here builds ORM objects.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import pandas as pd
from django.db import connection

from . import partitions
from .models import MeterRead, ReadCorrection
from .parsing import UNITS_PER_CCF, day_to_date

BATCH_ROWS = 100_000
LOCK_NAME = "hydrospark.metering.import"
LOCK_KEY = 7_246_310_001  # pg_advisory_xact_lock key for imports
LOCK_TIMEOUT_S = 600
# SQLite: past this many new reads (and at least as many as stored), drop and rebuild the read_date
# index around the insert: one sort instead of a random B-tree insert per row halves the time.
REBUILD_INDEX_MIN_ROWS = 100_000
SQLITE_ROWS_PER_STATEMENT = 300  # 900 parameters: under every SQLite build's limit

READS = MeterRead._meta.db_table
CORRECTIONS = ReadCorrection._meta.db_table


def vendor() -> str:
    return connection.vendor


@contextmanager
def import_lock():
    """Serialise imports (inside the caller's transaction), so that classifying rows as new,
    corrected or unchanged and writing them see the same data. SQLite's IMMEDIATE transactions
    already hold the write lock."""
    with connection.cursor() as cursor:
        if vendor() == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        elif vendor() == "mysql":
            cursor.execute("SELECT GET_LOCK(%s, %s)", [LOCK_NAME, LOCK_TIMEOUT_S])
            if cursor.fetchone()[0] != 1:
                raise TimeoutError("Another meter import is still running; try again when it has finished.")
    try:
        yield
    finally:
        if vendor() == "mysql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT RELEASE_LOCK(%s)", [LOCK_NAME])


def _day_sql() -> str:
    return {
        "sqlite": "CAST(julianday(read_date) - 2440587.5 AS INTEGER)",
        "postgresql": "(read_date - DATE '1970-01-01')",
        "mysql": "(TO_DAYS(read_date) - 719528)",
    }[vendor()]


def _units_sql() -> str:
    integer = {"sqlite": "INTEGER", "postgresql": "BIGINT", "mysql": "SIGNED"}[vendor()]
    return f"CAST(ROUND(usage_ccf * {UNITS_PER_CCF}) AS {integer})"


def stored_reads(customer_ids: np.ndarray, first_day: int, last_day: int) -> pd.DataFrame:
    """Stored reads of these customers dated first_day..last_day: customer_id, day, units (int64)."""
    empty = pd.DataFrame({"customer_id": [], "day": [], "units": []}, dtype=np.int64)
    if len(customer_ids) == 0:
        return empty
    ids = np.unique(customer_ids)
    date_column = customer_column = ""
    if vendor() == "sqlite" and len(ids) * (last_day - first_day + 1) > _table_size_estimate() / 4:
        # Most of the table: a plain scan beats SQLite's choice of walking an index ("+" disables it).
        date_column = customer_column = "+"
    sql = (
        f"SELECT customer_id, {_day_sql()}, {_units_sql()} FROM {READS} "
        f"WHERE {date_column}read_date BETWEEN %s AND %s AND {customer_column}customer_id BETWEEN %s AND %s"
    )
    params = [*day_to_date(np.array([first_day, last_day])), int(ids[0]), int(ids[-1])]
    if len(ids) <= 500:  # a short list narrows the search; a long one is filtered here instead
        sql += f" AND customer_id IN ({', '.join(['%s'] * len(ids))})"
        params += [int(i) for i in ids]
    parts = []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(BATCH_ROWS):
            parts.append(np.array(rows, dtype=np.int64).reshape(-1, 3))
    if not parts:
        return empty
    data = np.concatenate(parts)
    frame = pd.DataFrame({"customer_id": data[:, 0], "day": data[:, 1], "units": data[:, 2]})
    return frame[np.isin(frame["customer_id"].to_numpy(), ids)]


def _table_size_estimate() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MAX(id) FROM {READS}")
        return cursor.fetchone()[0] or 0


def count_reads() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {READS}")
        return cursor.fetchone()[0]


def _batches(size: int) -> Iterator[slice]:
    for start in range(0, size, BATCH_ROWS):
        yield slice(start, min(start + BATCH_ROWS, size))


def _usage_values(units: np.ndarray):
    """Usage as the driver should send it: an exact float on SQLite (which stores REAL), text elsewhere."""
    if vendor() == "sqlite":
        return (units / UNITS_PER_CCF).tolist()
    return _usage_text(units).tolist()


def _usage_text(units: np.ndarray) -> np.ndarray:
    units = np.asarray(units, dtype=np.int64)
    sign = np.where(units < 0, "-", "")
    whole, fraction = np.divmod(np.abs(units), UNITS_PER_CCF)
    return np.char.add(
        np.char.add(sign.astype(str), whole.astype(str)), np.char.add(".", np.char.zfill(fraction.astype(str), 4))
    )


def _copy(table: str, columns: list[str], frame: pd.DataFrame) -> None:
    """PostgreSQL COPY of a frame of text columns."""
    buffer = io.StringIO()
    frame.to_csv(buffer, sep="\t", header=False, index=False)
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        copy.write(buffer.getvalue())


def _insert_many(table: str, names: list[str], columns: list, suffix: str = "") -> None:
    """INSERT rows given as columns. On SQLite, many rows per statement: the per-statement work
    (including AUTOINCREMENT's bookkeeping) then happens once per few hundred rows, about 3x faster."""
    per = SQLITE_ROWS_PER_STATEMENT if vendor() == "sqlite" else 1  # mysqlclient batches by itself
    table_rows = np.empty((len(columns[0]), len(columns)), dtype=object)
    for position, column in enumerate(columns):
        table_rows[:, position] = column
    whole = len(table_rows) // per * per
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    head = f"INSERT INTO {table} ({', '.join(names)}) VALUES "
    with connection.cursor() as cursor:
        if whole:
            cursor.executemany(
                head + ", ".join([row] * per) + suffix, table_rows[:whole].reshape(-1, per * len(columns)).tolist()
            )
        if whole < len(table_rows):
            cursor.executemany(head + row + suffix, table_rows[whole:].tolist())


def reads_insert(customer_ids: np.ndarray, days: np.ndarray, units: np.ndarray, progress: Callable[[int], None]):
    """Insert reads known to be new (the caller holds the import lock)."""
    _ensure_partitions(days)
    rebuild = vendor() == "sqlite" and len(units) >= max(REBUILD_INDEX_MIN_ROWS, count_reads())
    with _read_date_index_dropped(rebuild):
        for part in _batches(len(units)):
            dates = day_to_date(days[part])
            if vendor() == "postgresql":
                frame = pd.DataFrame({"c": customer_ids[part], "d": dates, "u": _usage_text(units[part])})
                _copy(READS, ["customer_id", "read_date", "usage_ccf"], frame)
            else:
                _insert_many(
                    READS,
                    ["customer_id", "read_date", "usage_ccf"],
                    [customer_ids[part].tolist(), dates, _usage_values(units[part])],
                )
            progress(part.stop)


def _ensure_partitions(days: np.ndarray) -> None:
    # PostgreSQL: the months of this batch get their partitions before the rows arrive (metering/partitions.py);
    # a month without one would still be accepted, into the default partition, but kept out of its own.
    if vendor() == "postgresql" and len(days):
        partitions.read_partitions_ensure_days(days.min(), days.max())


@contextmanager
def _read_date_index_dropped(active: bool):
    if not active:
        yield
        return
    index = next(i for i in MeterRead._meta.indexes if i.fields == ["read_date"])
    editor = connection.schema_editor()  # used only to spell the SQL, as the migration did
    editor.deferred_sql = []
    with connection.cursor() as cursor:
        cursor.execute(str(index.remove_sql(MeterRead, editor)))
        yield
        cursor.execute(str(index.create_sql(MeterRead, editor)))


def reads_upsert(customer_ids: np.ndarray, days: np.ndarray, units: np.ndarray) -> None:
    """Replace the usage of stored reads (corrections); a row that is somehow not stored is inserted."""
    _ensure_partitions(days)
    for part in _batches(len(units)):
        dates = day_to_date(days[part])
        if vendor() == "postgresql":
            _upsert_postgresql(customer_ids[part], dates, units[part])
            continue
        suffix = {
            "sqlite": "ON CONFLICT (customer_id, read_date) DO UPDATE SET usage_ccf = excluded.usage_ccf",
            "mysql": "ON DUPLICATE KEY UPDATE usage_ccf = VALUES(usage_ccf)",
        }[vendor()]
        _insert_many(
            READS,
            ["customer_id", "read_date", "usage_ccf"],
            [customer_ids[part].tolist(), dates, _usage_values(units[part])],
            suffix=" " + suffix,
        )


def _upsert_postgresql(customer_ids, dates, units) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS metering_import_stage")
        cursor.execute(
            "CREATE TEMP TABLE metering_import_stage (customer_id bigint, read_date date, usage_ccf numeric(12, 4))"
        )
    _copy(
        "metering_import_stage",
        ["customer_id", "read_date", "usage_ccf"],
        pd.DataFrame({"c": customer_ids, "d": dates, "u": _usage_text(units)}),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {READS} (customer_id, read_date, usage_ccf) "
            "SELECT customer_id, read_date, usage_ccf FROM metering_import_stage "
            "ON CONFLICT (customer_id, read_date) DO UPDATE SET usage_ccf = EXCLUDED.usage_ccf"
        )
        cursor.execute("DROP TABLE metering_import_stage")


def corrections_insert(run_id: int, customer_ids, days, old_units, new_units) -> None:
    columns = ["import_run_id", "customer_id", "read_date", "old_usage_ccf", "new_usage_ccf"]
    for part in _batches(len(new_units)):
        dates = day_to_date(days[part])
        run = np.full(part.stop - part.start, run_id, dtype=np.int64)
        if vendor() == "postgresql":
            frame = pd.DataFrame(
                {
                    "r": run,
                    "c": customer_ids[part],
                    "d": dates,
                    "o": _usage_text(old_units[part]),
                    "n": _usage_text(new_units[part]),
                }
            )
            _copy(CORRECTIONS, columns, frame)
        else:
            _insert_many(
                CORRECTIONS,
                columns,
                [
                    run.tolist(),
                    customer_ids[part].tolist(),
                    dates,
                    _usage_values(old_units[part]),
                    _usage_values(new_units[part]),
                ],
            )
