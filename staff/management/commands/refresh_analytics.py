import time

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError
from django.utils import timezone

from staff.analytics import SNAPSHOT_KINDS, snapshot_refresh


class Command(BaseCommand):
    help = (
        "Compute the staff analytics (consumption, revenue, receivables aging) now and cache them, "
        "instead of waiting for the background refresh a page would start. For cron or after bulk loads."
    )

    def add_arguments(self, parser):
        parser.add_argument("--only", choices=sorted(SNAPSHOT_KINDS), help="refresh one kind of figures only")

    def handle(self, *args, only=None, **options):
        today = timezone.localdate()
        kinds = [only] if only else list(SNAPSHOT_KINDS)
        started = time.perf_counter()
        for kind in kinds:
            began = time.perf_counter()
            self.stdout.write(f"Computing {kind} figures for {today}…")
            try:
                shot = snapshot_refresh(kind=kind, today=today)
            except DatabaseError as error:
                raise CommandError(f"Could not compute the {kind} figures: {error}", returncode=2) from error
            self.stdout.write(f"  {len(shot.tables)} tables in {time.perf_counter() - began:.1f}s")
        self.stdout.write(
            self.style.SUCCESS(f"Refreshed {', '.join(kinds)} analytics in {time.perf_counter() - started:.1f}s.")
        )
