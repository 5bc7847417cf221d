"""`manage.py export_forecasts --period YYYY-MM --as-of YYYY-MM-DD [--output F]` (SPEC §7)."""

import csv
import io
import os

from django.core.management.base import BaseCommand, CommandError

from billing.exceptions import BillingError
from forecast.selectors import anticipated_bills

from ._dates import parse_day, parse_period

COLUMNS = ["location_id", "period", "predicted_usage_ccf", "predicted_total", "low_total", "high_total"]


class Command(BaseCommand):
    help = "Write every customer's anticipated bill for a period, from reads dated on or before --as-of, as CSV."

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="billing period, YYYY-MM")
        parser.add_argument("--as-of", required=True, help="use only reads dated on or before this day, YYYY-MM-DD")
        parser.add_argument("--output", help="CSV file to write (default: standard output)")

    def handle(self, *args, period, as_of, output, **options):
        period, as_of = parse_period(period), parse_day(as_of, "--as-of")
        buffer = io.StringIO()
        try:
            count = self._write(buffer, period, as_of)
        except BillingError as error:
            raise CommandError(str(error), returncode=2) from None
        if output:
            self._save(output, buffer.getvalue())
        else:
            self.stdout.write(buffer.getvalue(), ending="")
        where = f" to {output}" if output else ""
        self.stderr.write(f"Forecast {count} customers for {period:%Y-%m} as of {as_of:%Y-%m-%d}{where}.")

    def _write(self, target, period, as_of):
        writer = csv.writer(target, lineterminator="\n")
        writer.writerow(COLUMNS)
        count = 0
        for count, forecast in enumerate(anticipated_bills(period=period, as_of=as_of), start=1):
            writer.writerow(
                [
                    forecast.location_id,
                    f"{period:%Y-%m}",
                    f"{forecast.predicted_ccf:.4f}",
                    f"{forecast.total:.2f}",
                    f"{forecast.low_total:.2f}",
                    f"{forecast.high_total:.2f}",
                ]
            )
            if count % 2000 == 0:
                self.stderr.write(f"  {count} customers forecast…")
        return count

    def _save(self, output, text):
        """Write to a temporary file beside the target, then rename: a failure never leaves half a file."""
        partial = f"{output}.part"
        try:
            with open(partial, "w", newline="", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(partial, output)
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror}.", returncode=2) from None
