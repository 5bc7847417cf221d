"""One lock for the writes of a detection (its days, the incidents), so two detections at once never both
take the same days for new (SPEC §3a, issue 11.7): the second waits, then sees what the first committed.

SQLite's IMMEDIATE transactions hold the write lock already; PostgreSQL takes an advisory lock held until
the transaction ends; MariaDB a named lock around the transaction (GET_LOCK belongs to the session, so it
is released whatever happens)."""

import zlib
from contextlib import contextmanager

from django.db import connection, transaction

DETECTION_LOCK = "hydrospark.anomalies.detect"
TIMEOUT_S = 600


@contextmanager
def detection_lock():
    """A transaction that no other detection's writes run beside."""
    if connection.vendor == "mysql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT GET_LOCK(%s, %s)", [DETECTION_LOCK, TIMEOUT_S])
            if cursor.fetchone()[0] != 1:
                raise TimeoutError("Another anomaly detection is still saving; try again when it has finished.")
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT pg_advisory_xact_lock(%s)", [zlib.crc32(DETECTION_LOCK.encode()) & 0x7FFFFFFF]
                    )
            yield
    finally:
        if connection.vendor == "mysql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT RELEASE_LOCK(%s)", [DETECTION_LOCK])
