import shutil
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from metering.models import ImportStatus
from metering.services import meter_file_import


class Command(BaseCommand):
    help = (
        "Import a meter export (CSV or XLSX, SPEC §1). Exit 0 when every row was imported, 1 when some rows "
        "were rejected, 2 when the file could not be used (nothing changed)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the export, .csv or .xlsx")
        parser.add_argument("--rejects", type=Path, metavar="OUT.csv", help="write the rejected rows here")
        parser.add_argument("--atomic", action="store_true", help="write nothing if any row is rejected")

    def handle(self, *args, file, rejects, atomic, **options):
        bar = ProgressBar(self.stderr)
        try:
            run = meter_file_import(path=file, actor_label="command import_usage", atomic=atomic, progress=bar.update)
        except DatabaseError as exc:  # e.g. a read-only database: not even the run could be recorded
            raise CommandError(
                f"The database refused the write ({exc}): check that it is writable and has space, then run the "
                "import again. Nothing was imported.",
                returncode=2,
            ) from exc
        finally:
            bar.close()
        if rejects is not None and run.rejects_file:
            with run.rejects_file.open("rb") as source, rejects.open("wb") as target:
                shutil.copyfileobj(source, target)
        for hit in run.issued_bill_corrections:
            self.stdout.write(self.style.WARNING(_describe_issued(hit)))
        if run.status != ImportStatus.DONE:
            raise CommandError(f"Import #{run.pk} of {run.file_name}: {run.summary()}", returncode=2)
        line = f"Import #{run.pk} of {run.file_name}: {run.summary()}"
        if rejects is not None and run.rows_rejected:
            line += f" Rejected rows written to {rejects}."
        self.stdout.write(self.style.SUCCESS(line) if run.exit_code == 0 else self.style.WARNING(line))
        if run.exit_code:
            sys.exit(run.exit_code)


def _describe_issued(hit: dict) -> str:
    if "error" in hit:
        return hit["error"]
    return (
        f"Corrected read in an issued bill's period: location {hit['location_id']} on {hit['read_date']} "
        f"(bill {hit['bill_number']}): {hit['old_usage_ccf']} -> {hit['new_usage_ccf']} CCF. The bill is unchanged."
    )


class ProgressBar:
    """A one-line bar on a terminal; on a pipe a line every few seconds, so logs stay short."""

    WIDTH = 30

    def __init__(self, stream):
        self.stream = stream
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.started = time.monotonic()
        self.last = 0.0
        self.shown = False

    def update(self, phase: str, rows: int, fraction: float) -> None:
        now = time.monotonic()
        if now - self.started < 1.0 or now - self.last < (0.2 if self.tty else 5.0):
            return
        self.last = now
        filled = int(self.WIDTH * min(max(fraction, 0.0), 1.0))
        text = f"{phase:<8} [{'#' * filled}{'.' * (self.WIDTH - filled)}] {rows:>12,} rows  {now - self.started:6.1f} s"
        self.stream.write(("\r" + text) if self.tty else text, ending="" if self.tty else "\n")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown and self.tty:
            self.stream.write("")
