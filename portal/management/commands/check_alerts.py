"""Daily: record and send the alerts customers chose (budget steps, use while away), each once."""

import datetime

from django.core.management.base import BaseCommand, CommandError

from portal.services import alerts_check


class Command(BaseCommand):
    help = "Check the budget and vacation alerts of the accounts that set one; each alert is sent once."
    requires_system_checks = []  # a daily batch: no need to import every view first

    def add_arguments(self, parser):
        parser.add_argument("--date", help="Check as of this day, YYYY-MM-DD (default: today).")

    def handle(self, *args, date=None, **options):
        try:
            today = datetime.date.fromisoformat(date) if date else None
        except ValueError:
            raise CommandError(f"--date {date!r} is not a date: use YYYY-MM-DD.") from None
        found = alerts_check(today=today)
        self.stdout.write(
            f"{found['budget']} budget and {found['vacation']} vacation alerts recorded, {found['emailed']} emailed."
        )
