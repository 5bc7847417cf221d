from django.core.management.base import BaseCommand

from billing.exceptions import BillingError
from billing.services import bills_send, send_run_record

from ._common import exit_code, listing, period_argument, progress_printer, refuse


class Command(BaseCommand):
    help = (
        "Email every issued bill of a month to its customer's billing email (HTML, text and the PDF). A bill is "
        "marked sent only once the mail server accepted it; one already sent is skipped unless --resend. "
        "Customers without a billing email or who chose paper are listed (print_bills prints theirs, and any "
        "that failed here). Exit 1 when some emails failed or were left for the next run."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="the month, YYYY-MM")
        parser.add_argument("--cycle", type=int, action="append", dest="cycles", help="a cycle number (repeatable)")
        parser.add_argument("--resend", action="store_true", help="send again the bills already sent")

    def handle(self, *args, period, cycles, resend, **options):
        period = period_argument(period)
        label = "command send_bills"
        try:
            report = bills_send(
                period=period, cycles=cycles, resend=resend, actor_label=label, progress=progress_printer(self.stdout)
            )
        except BillingError as error:
            refuse(error)
        send_run_record(period=period, cycles=cycles, report=report, actor_label=label)
        if report.without_email:
            ids = [b.customer.location_id for b in report.without_email]
            self.stdout.write(f"Without a billing email (on paper: print_bills): {listing(ids)}")
        if report.opted_out:
            ids = [b.customer.location_id for b in report.opted_out]
            self.stdout.write(f"Paper only, by choice (print_bills): {listing(ids)}")
        for bill, error in report.failed:
            self.stderr.write(f"Failed: {bill.number} to {bill.customer.bill_email}: {error}")
        if report.stopped:
            self.stderr.write(f"Stopped: {report.stopped}. Run send_bills again once the mail server answers.")
        trouble = report.failed or report.not_attempted
        style = self.style.WARNING if trouble else self.style.SUCCESS
        self.stdout.write(style(f"{period:%Y-%m}: {report.summary()}"))
        exit_code(1 if trouble else 0)
