from django.core.management.base import BaseCommand

from metering.progress import stale_after
from metering.services import import_runs_fail_stalled


class Command(BaseCommand):
    help = (
        "Mark imports that stalled (running, with no progress for METER_IMPORT_STALE_MINUTES, default 15: "
        "their process was stopped or restarted) as failed, so their pages stop waiting. Nothing of them was "
        "written. Kept for existing cron entries: fail_stalled_runs does this and the same for every other kind "
        "of run. Exit 0."
    )

    def handle(self, *args, **options):
        marked = import_runs_fail_stalled(actor_label="command fail_stalled_imports")
        for run in marked:
            self.stdout.write(f"Import #{run.pk} ({run.file_name}, by {run.actor_label}): {run.error}")
        minutes = int(stale_after().total_seconds() // 60)
        if marked:
            names = ", ".join(f"#{run.pk}" for run in marked)
            self.stdout.write(self.style.WARNING(f"Marked {len(marked)} stalled import(s) failed: {names}."))
        else:
            self.stdout.write(self.style.SUCCESS(f"No stalled import (none without progress for {minutes} minutes)."))
