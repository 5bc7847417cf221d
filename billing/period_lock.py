"""The period lock (ARCHITECTURE: "a period lock prevents two runs of one month from interleaving").

Every bill run, issue, rebill and every meter import that corrects reads of a month takes that month's
lock for the rest of its transaction: the BillingPeriodLock row, locked with SELECT … FOR UPDATE.

Two details keep it from deadlocking on MariaDB (issue 11.6: three `run_billing --issue` at once). A
missing row is created on a connection of its own, committed at once: inserting it inside the run's
transaction left the waiting runs each holding a shared lock on the new key and each wanting the exclusive
one. And the wait is bounded (BILLING_PERIOD_LOCK_WAIT_SECONDS, default 300): a run that still cannot
have the period after that, or that the database picked as a deadlock victim, is refused with "another
run holds this period" (BillingError: exit 2, nothing changed) instead of a traceback.
On SQLite the IMMEDIATE transaction already holds the database's write lock, so the row is only created.
"""

import datetime

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, IntegrityError, OperationalError, connection, connections, transaction

from .exceptions import BillingError
from .models import BillingPeriodLock

WAIT_SECONDS_DEFAULT = 300
PG_LOCK_CONFLICTS = {"55P03", "40P01"}  # lock_not_available, deadlock_detected
MYSQL_LOCK_CONFLICTS = {1205, 1213}  # lock wait timeout, deadlock


def lock_period(period: datetime.date) -> None:
    """Hold the period's lock until the surrounding transaction ends (BillingError if another run keeps it)."""
    _ensure_row(period)
    wait = int(getattr(settings, "BILLING_PERIOD_LOCK_WAIT_SECONDS", WAIT_SECONDS_DEFAULT))
    try:
        _select_for_update(period, wait)
    except OperationalError as error:
        if not _is_lock_conflict(error):
            raise
        raise BillingError(
            f"Another run holds {period:%Y-%m} (it kept the period for more than {wait} seconds, or ran into this "
            "one): try again when it has finished."
        ) from None


def lock_periods(periods) -> None:
    """Several months, always in date order, so two holders of overlapping sets cannot wait on each other."""
    for period in sorted(set(periods)):
        lock_period(period)


def _ensure_row(period: datetime.date) -> None:
    if BillingPeriodLock.objects.filter(period=period).exists():
        return
    if connection.vendor == "sqlite" or not connection.in_atomic_block:
        try:
            with transaction.atomic():
                BillingPeriodLock.objects.get_or_create(period=period)
        except IntegrityError:
            pass  # another run created it a moment ago: it exists now
        return
    table = BillingPeriodLock._meta.db_table
    insert = {
        "postgresql": f"INSERT INTO {table} (period) VALUES (%s) ON CONFLICT (period) DO NOTHING",
        "mysql": f"INSERT IGNORE INTO {table} (period) VALUES (%s)",
    }[connection.vendor]
    side = connections.create_connection(DEFAULT_DB_ALIAS)  # autocommit: the row is there for everyone at once
    try:
        with side.cursor() as cursor:
            cursor.execute(insert, [period])
    finally:
        side.close()


def _select_for_update(period: datetime.date, wait: int) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('lock_timeout')")
            previous = cursor.fetchone()[0]
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{wait}s"])
            BillingPeriodLock.objects.select_for_update().get(period=period)
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
    elif connection.vendor == "mysql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@innodb_lock_wait_timeout")
            previous = cursor.fetchone()[0]
            cursor.execute("SET SESSION innodb_lock_wait_timeout = %s", [wait])
            try:
                BillingPeriodLock.objects.select_for_update().get(period=period)
            finally:
                cursor.execute("SET SESSION innodb_lock_wait_timeout = %s", [previous])
    else:
        BillingPeriodLock.objects.select_for_update().get(period=period)


def _is_lock_conflict(error: OperationalError) -> bool:
    cause = error.__cause__
    if connection.vendor == "postgresql":
        return getattr(cause, "sqlstate", None) in PG_LOCK_CONFLICTS
    if connection.vendor == "mysql":
        return bool(cause and cause.args and cause.args[0] in MYSQL_LOCK_CONFLICTS)
    return False
