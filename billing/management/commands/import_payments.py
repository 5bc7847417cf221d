import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing.models import PaymentImport
from billing.payment_import import payment_import_file, rejects_csv


class Command(BaseCommand):
    # A batch command run from cron or by hand: the system checks (which import every view, PDF and chart
    # module through the URL configuration) cost seconds of its start and check nothing it uses;
    # `migrate`, `check --deploy` and the server run them.
    requires_system_checks = []
    help = (
        "Import the bank's payments file (CSV: location_id, amount, paid_on, method, reference; SPEC §2a). "
        "A (location, reference) already recorded is left as it is. Exit 0 all recorded, 1 some rows "
        "rejected, 2 the file could not be used (nothing recorded)."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="the payments CSV")
        parser.add_argument("--rejects", type=Path, metavar="OUT.csv", help="write the rejected rows here")

    def handle(self, *args, file, rejects, **options):
        self.stderr.write(f"Importing {file} …")
        run = payment_import_file(path=file, actor_label="command import_payments")
        if run.state != PaymentImport.State.DONE:
            raise CommandError(
                f"Payments import #{run.pk} of {run.file_name}: {run.error} Nothing recorded.", returncode=2
            )
        if rejects is not None and run.rows_rejected:
            try:
                rejects.write_text(rejects_csv(run.rejects), encoding="utf-8")
            except OSError as error:
                self.stderr.write(f"Cannot write {rejects}: {error.strerror}.")
        for line, reason, _row in run.rejects[:20]:
            self.stderr.write(f"line {line}: {reason}")
        line = (
            f"Payments import #{run.pk} of {run.file_name}: {run.rows_read:,} rows read, "
            f"{run.payments_recorded:,} payments recorded (${run.total_recorded:,.2f}), "
            f"{run.already_recorded:,} already recorded, {run.rows_rejected:,} rejected"
        )
        self.stdout.write(self.style.SUCCESS(line) if run.exit_code == 0 else self.style.WARNING(line))
        if run.exit_code:
            sys.exit(run.exit_code)
