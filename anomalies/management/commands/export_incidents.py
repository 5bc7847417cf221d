import csv
import os
import sys

from django.core.management.base import BaseCommand, CommandError

from anomalies.models import Status
from anomalies.selectors import incidents_for_export

HEADER = ["location_id", "kind", "start", "end", "days", "methods", "excess_ccf", "estimated_cost", "status"]


class Command(BaseCommand):
    help = (
        "Write incidents as CSV (SPEC §3a): location_id, kind, start, end, days, methods, excess_ccf, "
        "estimated_cost, status; sorted by location_id then start."
    )

    def add_arguments(self, parser):
        parser.add_argument("--status", choices=Status.values, help="only open or only reviewed incidents")
        parser.add_argument("--output", help="file to write (default: standard output)")

    def handle(self, *args, status, output, **options):
        rows = incidents_for_export(status=status)
        try:
            stream = open(output, "w", newline="", encoding="utf-8") if output else self.stdout  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"Cannot write {output}: {exc.strerror}.", returncode=2) from exc
        try:
            count = write_csv(stream, rows)
        except BrokenPipeError:  # the reader stopped early (e.g. `| head`): not an error of ours
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
        finally:
            if output:
                stream.close()
        self.stderr.write(self.style.SUCCESS(f"{count:,} incidents written to {output or 'standard output'}."))


def write_csv(stream, rows) -> int:
    """Usage with 4 decimals, money with 2, dates ISO (SPEC §7); the stored values have those places."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(HEADER)
    count = 0
    for location_id, kind, start, end, days, methods, excess, cost, status in rows.iterator(chunk_size=5_000):
        writer.writerow(
            [
                location_id,
                kind,
                start.isoformat(),
                end.isoformat(),
                days,
                methods,
                f"{excess:.4f}",
                f"{cost:.2f}",
                status,
            ]
        )
        count += 1
    return count
