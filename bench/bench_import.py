"""Meter import (metering, issue 3) on a scratch SQLite database, with data from the demo generator.

- CSV end to end through `metering.services.meter_file_import` (the command's code path): about 2 million
  rows at full scale (700 customers × 2,830 days). Targets: at least 100,000 rows/s, and within 2× of
- a hand-written loader: pandas read_csv, then sqlite3.executemany into a table with a unique
  (location, day) index, in its own scratch file;
- the same CSV imported again (every read unchanged: nothing written);
- XLSX end to end (python-calamine): 200,000 rows at full scale. Target: at least 30,000 rows/s.

Peak memory is the process's peak RSS after each step (it only grows), so the CSV import's figure is its
own and the later ones include it. Target: under 1 GB for the 2-million-row CSV.
"""

import datetime
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

from bench.common import BENCH_DIR, peak_rss_mb, scratch_sqlite
from bench.common import timed as _timed


@contextmanager
def timed():
    """Wall and CPU seconds: the machine is shared, so CPU time tells how much work each loader does."""
    cpu = time.process_time()
    with _timed() as result:
        yield result
    result["cpu_seconds"] = time.process_time() - cpu


CUSTOMERS = 700
DAYS = 2_830
XLSX_ROWS = 200_000
START = datetime.date(2018, 9, 1)


def run(options) -> list[dict]:
    scratch_sqlite("import")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    customers = max(5, round(CUSTOMERS * options.scale))
    csv_path = BENCH_DIR / "import.csv"
    with timed() as writing:
        rows = write_csv(csv_path, customers)
    print(f"wrote {rows:,} rows ({csv_path.stat().st_size / 1e6:.0f} MB) in {writing['seconds']:.0f}s", flush=True)
    first = import_file(csv_path, "import csv", rows)
    reference = reference_loader(csv_path, rows)
    first["reference_seconds"] = reference["seconds"]
    first["ratio"] = round(first["seconds"] / reference["seconds"], 2)
    first["cpu_ratio"] = round(first["cpu_seconds"] / reference["cpu_seconds"], 2)
    print(f"load average: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    first["target"] = ">= 100,000 rows/s, <= 2x reference, < 1,000 MB"
    first["ok"] = first["rows_per_s"] >= 100_000 and first["ratio"] <= 2 and first["peak_mb"] < 1000
    again = import_file(csv_path, "import csv again (all unchanged)", rows)
    xlsx_rows = max(1_000, round(XLSX_ROWS * options.scale))
    xlsx_path = BENCH_DIR / "import.xlsx"
    with timed() as writing:
        write_xlsx(xlsx_path, xlsx_rows)
    print(f"wrote {xlsx_rows:,} rows of XLSX in {writing['seconds']:.0f}s", flush=True)
    scratch_reset()
    xlsx = import_file(xlsx_path, "import xlsx", xlsx_rows)
    xlsx["target"] = ">= 30,000 rows/s"
    xlsx["ok"] = xlsx["rows_per_s"] >= 30_000
    return [first, reference, again, xlsx]


def export_chunks(customers: int, days: int):
    from hydrospark.demo.generator import iter_export_chunks

    end = START + datetime.timedelta(days=days - 1)
    return iter_export_chunks(customers, START, end, chunk_customers=50)


def write_csv(path: Path, customers: int) -> int:
    rows = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        for number, chunk in enumerate(export_chunks(customers, DAYS)):
            chunk.to_csv(handle, index=False, header=number == 0)
            rows += len(chunk)
    return rows


def write_xlsx(path: Path, rows: int) -> None:
    """The first `rows` rows of the generated export as an XLSX sheet named like the real one."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("DailyUsage")
    written = 0
    for chunk in export_chunks(max(1, rows // DAYS + 1), DAYS):
        if written == 0:
            sheet.write_row(0, 0, list(chunk.columns))
        for values in chunk.head(rows - written).itertuples(index=False):
            written += 1
            sheet.write_row(written, 0, values)
        if written >= rows:
            break
    workbook.close()


def scratch_reset() -> None:
    """Empty the reads and customers so the XLSX import starts from the same state as the first CSV one."""
    from django.db import connection

    with connection.cursor() as cursor:
        for table in ("metering_readcorrection", "metering_meterread", "accounts_auditevent", "accounts_customer"):
            cursor.execute(f"DELETE FROM {table}")


def import_file(path: Path, name: str, rows: int) -> dict:
    from metering.services import meter_file_import

    with timed() as took:
        run = meter_file_import(path=path, actor_label="bench", progress=_progress)
    print(f"\n{name}: {run.summary()}", flush=True)
    assert run.rows_read == rows and not run.rows_rejected, run.summary()
    return {
        "bench": name,
        "rows": rows,
        "seconds": round(took["seconds"], 2),
        "cpu_seconds": round(took["cpu_seconds"], 2),
        "rows_per_s": round(rows / took["seconds"]),
        "peak_mb": round(peak_rss_mb()),
    }


_shown = {"at": 0.0}


def _progress(phase: str, done: int, fraction: float) -> None:
    if time.monotonic() - _shown["at"] > 2:
        _shown["at"] = time.monotonic()
        print(f"  {phase} {done:,}", end="", flush=True)


def reference_loader(csv_path: Path, rows: int) -> dict:
    """What a hand-written loader does: parse with pandas, executemany into an indexed table."""
    import pandas as pd

    path = BENCH_DIR / "import_reference.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    with timed() as took:
        frame = pd.read_csv(
            csv_path,
            usecols=["Location ID", "Year", "Month", "Day", "Daily Water Usage (CCF)"],
            dtype={"Location ID": str},
        )
        days = pd.to_datetime(frame[["Year", "Month", "Day"]]).dt.strftime("%Y-%m-%d")
        connection = sqlite3.connect(path)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("CREATE TABLE reads (id INTEGER PRIMARY KEY, location TEXT, day TEXT, usage REAL)")
        connection.execute("CREATE UNIQUE INDEX reads_location_day ON reads (location, day)")
        with connection:
            connection.executemany(
                "INSERT INTO reads (location, day, usage) VALUES (?, ?, ?)",
                zip(
                    frame["Location ID"].tolist(), days.tolist(), frame["Daily Water Usage (CCF)"].tolist(), strict=True
                ),
            )
        connection.close()
    del frame, days
    return {
        "bench": "reference loader (pandas + sqlite3.executemany)",
        "rows": rows,
        "seconds": round(took["seconds"], 2),
        "cpu_seconds": round(took["cpu_seconds"], 2),
        "rows_per_s": round(rows / took["seconds"]),
        "peak_mb": round(peak_rss_mb()),
    }
