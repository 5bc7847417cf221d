import csv
import sys

from django.core.management.base import BaseCommand, CommandError

from billing.account import balances_as_of

from .apply_late_fees import date_argument


def write_balances_csv(handle, *, as_of) -> int:
    """SPEC §7: location_id, balance, overdue_amount of every customer with a ledger entry dated by then."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(["location_id", "balance", "overdue_amount"])
    rows = balances_as_of(as_of)
    writer.writerows((row.location_id, f"{row.balance:.2f}", f"{row.overdue:.2f}") for row in rows)
    return len(rows)


class Command(BaseCommand):
    # A batch command run from cron or by hand: the system checks (which import every view, PDF and chart
    # module through the URL configuration) cost seconds of its start and check nothing it uses;
    # `migrate`, `check --deploy` and the server run them.
    requires_system_checks = []
    help = (
        "CSV of every customer's account on a date (SPEC §7): location_id, balance, overdue_amount; every "
        "customer with a ledger entry dated on or before it, sorted by location_id."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", required=True, type=date_argument, help="YYYY-MM-DD")
        parser.add_argument("--output", help="file to write (default: standard output)")

    def handle(self, *args, as_of, output, **options):
        if not output or output == "-":
            count = write_balances_csv(sys.stdout, as_of=as_of)
            self.stderr.write(f"{count} accounts exported as of {as_of:%Y-%m-%d}")
            return
        try:
            with open(output, "w", newline="", encoding="utf-8") as handle:
                count = write_balances_csv(handle, as_of=as_of)
        except OSError as error:
            raise CommandError(f"Cannot write {output}: {error.strerror}. Nothing exported.", returncode=2) from None
        self.stdout.write(self.style.SUCCESS(f"{count} accounts as of {as_of:%Y-%m-%d} written to {output}"))
