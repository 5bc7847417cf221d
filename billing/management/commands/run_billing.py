import datetime

from django.core.management.base import BaseCommand, CommandError

from billing.exceptions import BillingError
from billing.selectors import customers_without_reads
from billing.services import bill_run_compute

from ._common import listing, period_argument, progress_printer, refuse


class Command(BaseCommand):
    help = (
        "Bill run for a month (SPEC §2): create or recompute draft bills from the period's reads; issued bills "
        "are never changed. --issue issues the drafts too; --dry-run shows the figures without saving."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="the month to bill, YYYY-MM")
        parser.add_argument("--cycle", type=int, action="append", dest="cycles", help="a cycle number (repeatable)")
        parser.add_argument("--dry-run", action="store_true", help="compute and report, save nothing")
        parser.add_argument("--issue", action="store_true", help="issue the drafts (number, issue and due dates)")
        parser.add_argument(
            "--issue-date",
            type=_date,
            help="YYYY-MM-DD: the bills' issue date (default today; not before the month's last day, not in the "
            "future); due 21 days later. Implies --issue.",
        )

    def handle(self, *args, period, cycles, dry_run, issue, issue_date, **options):
        period = period_argument(period)
        issue = issue or issue_date is not None
        if dry_run and issue:
            refuse(BillingError("--dry-run and --issue cannot be combined."))
        try:
            figures = bill_run_compute(
                period=period,
                cycles=cycles,
                dry_run=dry_run,
                issue=issue,
                issue_date=issue_date,
                actor_label="command run_billing",
                progress=progress_printer(self.stdout),
            )
        except BillingError as error:
            refuse(error)
        if figures.customers_without_reads:
            missing = list(
                customers_without_reads(period=period, cycles=figures.cycles).values_list("location_id", flat=True)
            )
            self.stdout.write(f"Customers without reads in {period:%Y-%m} (no bill): {listing(missing)}")
        prefix = "Dry run, nothing saved: " if dry_run else ""
        self.stdout.write(self.style.SUCCESS(prefix + figures.summary()))


def _date(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD). Nothing changed.", returncode=2) from None
