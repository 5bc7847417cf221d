from django.core.management.base import BaseCommand

from billing.exceptions import BillingError
from billing.services import bills_send, send_run_record

from ._common import exit_code, listing, period_argument, progress_printer, refuse


class Command(BaseCommand):
    help = (
        "Email every issued bill of a month to its customer (HTML, text and the PDF). A bill already sent is "
        "skipped unless --resend. Customers without an email address are listed. Exit 1 when some emails failed."
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
            self.stdout.write(f"Without an email address (not sent): {listing(ids)}")
        if report.opted_out:
            ids = [b.customer.location_id for b in report.opted_out]
            self.stdout.write(f"Opted out of bill emails (not sent): {listing(ids)}")
        for bill, error in report.failed:
            self.stderr.write(f"Failed: {bill.number} to {bill.customer.email}: {error}")
        style = self.style.WARNING if report.failed else self.style.SUCCESS
        self.stdout.write(style(f"{period:%Y-%m}: {report.summary()}"))
        exit_code(1 if report.failed else 0)
