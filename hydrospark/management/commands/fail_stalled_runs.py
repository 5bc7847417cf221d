from django.core.management.base import BaseCommand

from anomalies.runs import detection_runs_fail_stalled
from billing.payment_import import payment_imports_fail_stalled
from billing.runs import bill_runs_fail_stalled
from hydrospark.runs import stale_after
from metering.services import import_runs_fail_stalled

LABEL = "command fail_stalled_runs"


class Command(BaseCommand):
    help = (
        "Fail every background run (meter import, bill run, issue, sending, detection, payments import) that is "
        "running but whose heartbeat stopped for RUN_STALE_MINUTES (imports: METER_IMPORT_STALE_MINUTES), "
        "default 15, or that is queued while no task will run it: its process "
        "was killed or restarted and nothing of it was committed. Their task rows in the worker's table are failed "
        "too, and the period or file can be run again (Retry on the run's page). Safe at any time: `make run` "
        "runs it before the worker starts; run it from cron every few minutes in production. Exit 0."
    )

    def handle(self, *args, **options):
        failed = [
            *(("Import", run, run.error) for run in import_runs_fail_stalled(actor_label=LABEL)),
            *(("Bill run", run, run.message) for run in bill_runs_fail_stalled(actor_label=LABEL)),
            *(("Detection", run, run.error) for run in detection_runs_fail_stalled(actor_label=LABEL)),
            *(("Payments import", run, run.error) for run in payment_imports_fail_stalled(actor_label=LABEL)),
        ]
        for kind, run, reason in failed:
            self.stdout.write(f"{kind} #{run.pk} ({run}): {reason}")
        if failed:
            self.stdout.write(self.style.WARNING(f"Failed {len(failed)} stalled run(s); they can be retried."))
        else:
            minutes = int(stale_after().total_seconds() // 60)
            self.stdout.write(self.style.SUCCESS(f"No stalled run (none without a heartbeat for {minutes} minutes)."))
