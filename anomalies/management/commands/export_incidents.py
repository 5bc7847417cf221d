import csv

from django.core.management.base import BaseCommand

from anomalies.models import Status
from anomalies.selectors import incidents_for_export

from ._csv_output import write_export

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
        write_export(self, output=output, write=lambda stream: write_csv(stream, rows), noun="incidents")


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
