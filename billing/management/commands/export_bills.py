import sys

from django.core.management.base import BaseCommand, CommandError

from billing.exports import write_bills_csv

from ._common import period_argument


class Command(BaseCommand):
    help = (
        "CSV of every bill of a month, drafts too, cancelled ones with --all (SPEC §7): location_id, period, "
        "usage_ccf, usage_charge, base_fee, infrastructure_fee, total_amount, status; sorted by location_id."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="the month, YYYY-MM")
        parser.add_argument("--output", help="file to write (default: standard output)")
        parser.add_argument("--all", action="store_true", dest="everything", help="cancelled bills too")

    def handle(self, *args, period, output, everything, **options):
        period = period_argument(period)
        if not output or output == "-":
            count = write_bills_csv(sys.stdout, period=period, include_cancelled=everything)
            self.stderr.write(f"{count} bills exported for {period:%Y-%m}")
            return
        try:
            with open(output, "w", newline="", encoding="utf-8") as handle:
                count = write_bills_csv(handle, period=period, include_cancelled=everything)
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror}. Nothing exported.", returncode=2) from None
        self.stdout.write(self.style.SUCCESS(f"{count} bills for {period:%Y-%m} written to {output}"))
