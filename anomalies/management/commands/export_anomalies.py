import csv
from decimal import ROUND_HALF_UP, Decimal

from django.core.management.base import BaseCommand

from anomalies.models import Method
from anomalies.selectors import anomalies_for_export

from ._csv_output import write_export

FOUR = Decimal("0.0001")
HEADER = ["location_id", "date", "usage_ccf", "mean", "std", "method", "status"]


class Command(BaseCommand):
    help = "Write anomalies as CSV (SPEC §7): location_id, date, usage_ccf, mean, std, method, status."

    def add_arguments(self, parser):
        parser.add_argument("--method", choices=Method.values, help="only this method (default: all)")
        parser.add_argument("--output", help="file to write (default: standard output)")

    def handle(self, *args, method, output, **options):
        rows = anomalies_for_export(method=method)
        write_export(self, output=output, write=lambda stream: write_csv(stream, rows), noun="anomalies")


def _places(value) -> str:
    """Four decimals, rounded half up (SPEC §7)."""
    return f"{Decimal(value).quantize(FOUR, ROUND_HALF_UP)}"


def write_csv(stream, rows) -> int:
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(HEADER)
    count = 0
    for location_id, day, usage, mean, std, method, status in rows.iterator(chunk_size=5_000):
        writer.writerow([location_id, day.isoformat(), _places(usage), _places(mean), _places(std), method, status])
        count += 1
    return count
