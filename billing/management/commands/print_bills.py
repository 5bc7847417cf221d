from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from billing.delivery import bills_print, delivery_report, print_run_record
from billing.exceptions import BillingError

from ._common import exit_code, listing, period_argument, progress_printer, refuse


class Command(BaseCommand):
    help = (
        "The month's print file for the mail house (SPEC §2b): one US Letter PDF of every issued bill that goes "
        "on paper (paper chosen, no billing email, or the email failed), in mailing order (ZIP code, then "
        "address), and its manifest CSV. Printed bills are recorded and not printed again unless --reprint. "
        "Exit 1 when some issued bills still reached nobody (not emailed, not printed), 2 when it could not run."
    )

    def add_arguments(self, parser):
        parser.add_argument("--period", required=True, help="the month, YYYY-MM")
        parser.add_argument("--output", help="directory for the PDF and the manifest (default: MEDIA_ROOT/print)")
        parser.add_argument("--reprint", action="store_true", help="print again the bills printed before")

    def handle(self, *args, period, output, reprint, **options):
        period = period_argument(period)
        label = "command print_bills"
        try:
            printed = bills_print(
                period=period,
                reprint=reprint,
                output_dir=Path(output) if output else None,
                actor_label=label,
                progress=progress_printer(self.stdout),
            )
        except BillingError as error:
            refuse(error)
        except OSError as error:
            raise CommandError(
                f"Cannot write the print file: {error}. Nothing was recorded as printed.", returncode=2
            ) from None
        print_run_record(period=period, print_file=printed, actor_label=label)
        if printed is None:
            self.stdout.write(f"{period:%Y-%m}: nothing to print (use --reprint to print again).")
        else:
            self.stdout.write(f"PDF: {printed.pdf_path}\nManifest: {printed.manifest_path}")
        self._report(period, printed)

    def _report(self, period, printed) -> None:
        report = delivery_report(period=period)
        line = (
            f"{period:%Y-%m}: {printed.bills if printed else 0} bills printed now ({printed.pages if printed else 0} "
            f"pages); of {report.issued} issued, {report.emailed} emailed, {report.printed} printed, "
            f"{report.failed} failed by email, {report.reached_nobody} reached nobody"
        )
        if report.reached_nobody:
            ids = [bill.customer.location_id for bill in report.nobody]
            self.stderr.write(f"Reached nobody yet (run send_bills): {listing(ids)}")
        self.stdout.write((self.style.WARNING if report.reached_nobody else self.style.SUCCESS)(line))
        exit_code(1 if report.reached_nobody else 0)
