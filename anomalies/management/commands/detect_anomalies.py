import time

from django.core.management.base import BaseCommand, CommandError

from anomalies.models import Method
from anomalies.notifications import detection_notify
from anomalies.services import AnomalyError, anomalies_detect


class Command(BaseCommand):
    help = (
        "Find unusual use in all stored reads (SPEC §3), keep the incidents up to date (§3a), email Operations "
        "a digest and customers their alerts. Safe to run again: one record per customer, day and method; "
        "reviews are kept. Exits 1 when the digest could not be sent (the next run sends it)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--method",
            action="append",
            choices=Method.values,
            help="zscore, rolling or leak; repeat for several (default: all three)",
        )
        parser.add_argument("--no-email", action="store_true", help="send neither the digest nor customers' alerts")

    def handle(self, *args, method, no_email, **options):
        started = time.perf_counter()
        try:
            runs = anomalies_detect(
                methods=method or Method.values,
                actor_label="command detect_anomalies",
                notify=False,
                progress=lambda line: self.stdout.write(line) if options["verbosity"] else None,
            )
        except (AnomalyError, TimeoutError) as exc:
            raise CommandError(str(exc), returncode=2) from exc
        outcome = None if no_email else detection_notify(runs=runs)
        summary = "; ".join(
            f"{run.method}: {run.found:,} anomalous days ({run.created:,} new, {run.withdrawn:,} withdrawn) "
            f"in {run.reads_assessed:,} assessed reads"
            for run in runs
        )
        counts = runs[0].incidents
        summary += f"; incidents: {counts['created']:,} new, {counts['updated']:,} updated"
        self.stdout.write(self.style.SUCCESS(f"Detection done in {time.perf_counter() - started:.1f}s. {summary}."))
        if outcome and outcome.digest_failed:
            raise CommandError(
                f"The digest to Operations could not be sent ({outcome.digest.error}); "
                f"its {outcome.digest.incidents_covered:,} incidents go in the next run's digest.",
                returncode=1,
            )
