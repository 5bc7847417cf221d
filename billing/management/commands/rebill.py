import datetime

from django.core.management.base import BaseCommand, CommandError

from billing.exceptions import BillingError
from billing.rebilling import period_rebill

from ._common import exit_code, period_argument, refuse


class Command(BaseCommand):
    help = (
        "Cancel and reissue the issued bills of a month whose meter reads were corrected after they were priced "
        "(SPEC §2a), and no other: each corrected bill is priced with its original's rate version and numbered "
        "after it. --dry-run shows each difference and saves nothing. Exit 0 done, 1 some location IDs were "
        "unknown (the others were rebilled), 2 could not run (nothing changed)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="the billed month, YYYY-MM")
        parser.add_argument("--location", action="append", dest="locations", help="a location ID (repeatable)")
        parser.add_argument("--issue-date", help="issue date of the corrected bills, YYYY-MM-DD (default today)")
        parser.add_argument("--dry-run", action="store_true", help="show the differences, save nothing")

    def handle(self, *args, period, locations, issue_date, dry_run, **options):
        period = period_argument(period)
        try:
            report = period_rebill(
                period=period,
                location_ids=locations,
                issue_date=_date(issue_date),
                dry_run=dry_run,
                actor_label="command rebill",
            )
        except BillingError as error:
            refuse(error)
        for change in report.changes:
            self.stdout.write(change.describe())
        for old, new in report.rebilled:
            self.stdout.write(f"Cancelled {old.number}, issued {new.number}")
        for location in report.unchanged_locations:
            self.stdout.write(f"{location}: no issued bill of {period:%Y-%m} with corrected reads")
        prefix = "Dry run, nothing saved: " if dry_run else ""
        style = self.style.WARNING if report.unknown_locations else self.style.SUCCESS
        self.stdout.write(style(prefix + report.summary()))
        exit_code(1 if report.unknown_locations else 0)


def _date(text: str | None) -> datetime.date | None:
    if text is None:
        return None
    try:
        return datetime.date.fromisoformat(text.strip())
    except ValueError:
        raise CommandError(
            f"--issue-date {text!r} is not a date written YYYY-MM-DD. Nothing changed.", returncode=2
        ) from None
