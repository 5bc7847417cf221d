"""Monthly (and after a correction): the comparison figures of similar homes for one month."""

import datetime

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from portal.selectors import comparison_month
from portal.services import comparisons_refresh


class Command(BaseCommand):
    help = "Recompute one month's median and efficient (20th percentile) use by similar homes (default: last month)."
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--period", help="The month, YYYY-MM (default: the last complete month).")

    def handle(self, *args, period=None, **options):
        try:
            month = datetime.date.fromisoformat(f"{period}-01") if period else comparison_month(timezone.localdate())
        except ValueError:
            raise CommandError(f"--period {period!r} is not a month: use YYYY-MM.") from None
        stored = comparisons_refresh(period=month)
        self.stdout.write(f"{month:%Y-%m}: {stored} groups of similar homes stored.")
