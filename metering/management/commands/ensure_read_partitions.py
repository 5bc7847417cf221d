"""Create the month partitions of the meter reads ahead of time (PostgreSQL; metering/partitions.py)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from hydrospark.periods import add_months, month_start
from metering.partitions import is_partitioned, read_partitions_ensure


class Command(BaseCommand):
    help = (
        "Create the missing month partitions of the meter reads, this month to --months-ahead months ahead "
        "(PostgreSQL; a month without one is kept in the default partition until then). Exit 0."
    )
    requires_system_checks = []  # a cron job: the checks cost seconds and guard nothing here

    def add_arguments(self, parser):
        parser.add_argument("--months-ahead", type=int, default=settings.READ_PARTITIONS_AHEAD, metavar="N")

    def handle(self, *args, months_ahead: int, **options):
        if not 0 <= months_ahead <= 120:
            raise CommandError("--months-ahead must be a whole number from 0 to 120.", returncode=2)
        if not is_partitioned():
            self.stdout.write("The meter reads are one plain table on this database: no partitions to make.")
            return
        this_month = month_start(timezone.localdate())
        created = read_partitions_ensure(first=this_month, last=add_months(this_month, months_ahead))
        self.stdout.write(f"Created {len(created)} partition(s): {', '.join(created)}" if created else "Nothing to do.")
