import time

from django.core.management.base import BaseCommand, CommandError

from anomalies.models import Method
from anomalies.services import AnomalyError, anomalies_detect


class Command(BaseCommand):
    help = (
        "Find unusual use in all stored reads (SPEC §3) and email Operations a digest. "
        "Safe to run again: one record per customer, day and method; reviews are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--method",
            action="append",
            choices=Method.values,
            help="zscore, rolling or leak; repeat for several (default: all three)",
        )
        parser.add_argument("--no-email", action="store_true", help="do not send the Operations digest")

    def handle(self, *args, method, no_email, **options):
        started = time.perf_counter()
        try:
            runs = anomalies_detect(
                methods=method or Method.values,
                actor_label="command detect_anomalies",
                notify=not no_email,
                progress=lambda line: self.stdout.write(line) if options["verbosity"] else None,
            )
        except AnomalyError as exc:
            raise CommandError(str(exc), returncode=2) from exc
        summary = "; ".join(
            f"{run.method}: {run.found:,} anomalous days ({run.created:,} new, {run.withdrawn:,} withdrawn) "
            f"in {run.reads_assessed:,} assessed reads"
            for run in runs
        )
        self.stdout.write(self.style.SUCCESS(f"Detection done in {time.perf_counter() - started:.1f}s. {summary}."))
