import datetime

from django.core.management.base import BaseCommand, CommandError

from billing.exceptions import BillingError
from billing.late_fees import late_fees_apply


def date_argument(text: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD). Nothing changed.", returncode=2) from None


class Command(BaseCommand):
    # A batch command run from cron or by hand: the system checks (which import every view, PDF and chart
    # module through the URL configuration) cost seconds of its start and check nothing it uses;
    # `migrate`, `check --deploy` and the server run them.
    requires_system_checks = []
    help = (
        "Charge the late fees due on or before a date (default today; SPEC §2a): 5% (the rate version's "
        "percent) of what is still open of each bill after its grace days. Each bill gets at most one, "
        "however often this runs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--as-of", type=date_argument, help="YYYY-MM-DD (default: today)")

    def handle(self, *args, as_of, **options):
        self.stderr.write("Checking bills past their grace period …")
        try:
            report = late_fees_apply(as_of=as_of, actor_label="command apply_late_fees")
        except BillingError as error:
            raise CommandError(f"{error} Nothing changed.", returncode=2) from None
        self.stdout.write(self.style.SUCCESS(report.summary()))
