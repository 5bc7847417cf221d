"""Detach the months of meter reads older than READS_RETENTION_MONTHS (PostgreSQL; metering/partitions.py)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from hydrospark.periods import InputError, add_months, month_start, parse_month
from metering.partitions import is_partitioned, read_partitions_detach


class Command(BaseCommand):
    help = (
        "Detach the month partitions of the meter reads before --before YYYY-MM (default: the months older than "
        "READS_RETENTION_MONTHS); each stays a table of its own to dump (pg_dump --table) and drop. "
        "Exit 0 done, 2 could not run (nothing changed)."
    )
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--before", metavar="YYYY-MM", help="the first month kept")

    def handle(self, *args, before: str | None, **options):
        oldest_kept = add_months(month_start(timezone.localdate()), -settings.READS_RETENTION_MONTHS)
        try:
            first_kept = parse_month(before) if before else oldest_kept
        except InputError as error:
            raise CommandError(str(error), returncode=2) from None
        if first_kept > oldest_kept:
            raise CommandError(
                f"{first_kept:%Y-%m} is inside the {settings.READS_RETENTION_MONTHS} months kept "
                f"(READS_RETENTION_MONTHS): the earliest --before is {oldest_kept:%Y-%m}.",
                returncode=2,
            )
        if not is_partitioned():
            raise CommandError("The meter reads are one plain table on this database: nothing to detach.", returncode=2)
        detached = read_partitions_detach(before=first_kept)
        self.stdout.write(
            f"Detached {len(detached)} month(s) before {first_kept:%Y-%m}: {', '.join(detached)}"
            if detached
            else f"No month before {first_kept:%Y-%m} to detach."
        )
