"""One named lock for the account's batch writers (payments files, late fees), on every database.

SQLite's write transaction is exclusive already (IMMEDIATE transactions); PostgreSQL takes an
advisory lock held until the transaction ends; MariaDB a named lock around the transaction,
released whatever happens (GET_LOCK belongs to the session, not the transaction)."""

import zlib
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def exclusive(name: str, timeout: int = 300):
    """A transaction that no other holder of `name` runs beside."""
    if connection.vendor == "mysql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT GET_LOCK(%s, %s)", [name, timeout])
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(name.encode()) & 0x7FFFFFFF])
            yield
    finally:
        if connection.vendor == "mysql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT RELEASE_LOCK(%s)", [name])


def day_sql(column: str) -> str:
    """SQL for the days since 1970-01-01 of a date column, as an integer (numbers fetch faster than dates)."""
    return {
        "sqlite": f"CAST(julianday({column}) - 2440587.5 AS INTEGER)",
        "postgresql": f"({column} - DATE '1970-01-01')",
        "mysql": f"(TO_DAYS({column}) - 719528)",
    }[connection.vendor]


def cents_sql(column: str) -> str:
    """SQL for a money column in integer cents (SQLite stores decimals as REAL)."""
    integer = {"sqlite": "INTEGER", "postgresql": "BIGINT", "mysql": "SIGNED"}[connection.vendor]
    return f"CAST(ROUND({column} * 100) AS {integer})"
