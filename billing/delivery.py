"""Delivering bills (SPEC §2, §2b): email to the customer's billing email, paper through the print file.

A bill counts as emailed only once the mail server accepted the message. The claim (a SENDING delivery) is
committed before the message goes out; the answer (SENT with the bill's sent_at, or FAILED) is written in
its own short transaction after the server answered. A worker killed in between leaves a SENDING row and
no sent_at: nobody is told the bill went, and a later run sends it (the customer may get it twice, which is
the lesser harm). Every SMTP connection has a timeout (settings.MAIL_TIMEOUT, from EMAIL_TIMEOUT), so a
server that never answers fails the bill instead of hanging the run; after a few such failures in a row
the run stops and leaves the rest for the next one.

Paper (`bills_print`): every issued bill whose customer chose paper (alone or with email), has no address
to email, or whose email failed and was never accepted since, in mailing order (ZIP code, then address),
drawn into one PDF by billing.documents.bills_print_file with its manifest CSV; each bill printed is
recorded (a PRINTED delivery) and not printed again unless asked.
"""

import contextlib
import csv
import datetime
import io
import re
import smtplib
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.models import DeliveryChoice
from accounts.services import audit_record

from .exceptions import BillingError
from .models import Bill, BillDelivery, BillRun, PrintFile
from .selectors import bills_for_period

# A SENDING claim older than this belongs to a sender that died: the bill is offered to the next run.
STALE_SENDING = datetime.timedelta(minutes=10)
# Connection failures (refused, timed out, dropped) in a row after which a run stops trying this server.
CONNECTION_FAILURES_TO_STOP = 3
MANIFEST_COLUMNS = ["location_id", "bill_number", "name", "mailing_address", "first_page", "pages"]
ZIP = re.compile(r"(\d{5})(?:-\d{4})?\s*$")


@dataclass
class SendReport:
    sent: list[Bill] = field(default_factory=list)
    already_sent: int = 0
    without_email: list[Bill] = field(default_factory=list)  # no address: they go on paper
    opted_out: list[Bill] = field(default_factory=list)  # paper only, the customer's choice
    failed: list[tuple[Bill, str]] = field(default_factory=list)
    not_attempted: int = 0  # left for the next run once the mail server stopped answering
    stopped: str = ""

    def summary(self) -> str:
        text = (
            f"{len(self.sent)} sent, {self.already_sent} already sent before, {len(self.without_email)} without "
            f"an email address, {len(self.opted_out)} paper only, {len(self.failed)} failed"
        )
        if self.stopped:
            text += f"; stopped with {self.not_attempted} not tried: {self.stopped}"
        return text


def bills_send(
    *, period: datetime.date, cycles=None, resend: bool = False, actor=None, actor_label: str = "", progress=None
) -> SendReport:
    """Email every issued bill of the period not emailed yet (all of them with resend) to its billing email."""
    from .services import _clean_cycles

    bills = (
        bills_for_period(period=period, cycles=_clean_cycles(cycles))
        .issued()
        .select_related("customer", "customer__user")
        .order_by("customer__location_id")
    )
    report, sender = SendReport(), _Sender(actor=actor, actor_label=actor_label, resend=resend)
    total = bills.count() or 1
    with sender:
        for index, bill in enumerate(bills.iterator(chunk_size=500)):
            if sender.stopped:
                report.not_attempted += 1
                continue
            sender.send(bill, report)
            if progress and index % 50 == 0:
                progress(index / total, f"Sent {len(report.sent)} of {total}")
    report.stopped = sender.stopped
    return report


def bill_send(*, bill: Bill, resend: bool = False, actor=None, actor_label: str = "") -> SendReport:
    """Email one issued bill (the bill page's button and the admin's action)."""
    if not bill.is_issued:
        raise BillingError("Only issued bills can be sent.")
    bill = Bill.objects.select_related("customer", "customer__user").get(pk=bill.pk)
    report = SendReport()
    with _Sender(actor=actor, actor_label=actor_label, resend=resend) as sender:
        sender.send(bill, report)
    return report


class _Sender:
    """One SMTP connection for a run (opened on the first message, reopened after a failure)."""

    def __init__(self, *, actor, actor_label: str, resend: bool):
        self.actor, self.resend = actor, resend
        self.label = actor_label or (actor.email if actor is not None and actor.is_authenticated else "system")
        self.connection = _connection()
        self.failures_in_a_row = 0
        self.stopped = ""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _close(self.connection)

    def send(self, bill: Bill, report: SendReport) -> None:
        customer = bill.customer
        if customer.bill_delivery == DeliveryChoice.PAPER:
            report.opted_out.append(bill)
            return
        if not customer.bill_email:
            report.without_email.append(bill)
            return
        delivery = _claim(bill, customer.bill_email, resend=self.resend, label=self.label)
        if delivery is None:
            report.already_sent += 1
            return
        try:
            accepted = self.connection.send_messages([bill_email_message(bill, to=customer.bill_email)])
            if not accepted:
                raise smtplib.SMTPException("the mail server did not accept the message")
        except Exception as error:  # whatever went wrong, the bill is not sent: record it, go on with the next
            self._failed(bill, delivery, error, report)
            return
        self.failures_in_a_row = 0
        _record_sent(bill, delivery, actor=self.actor, label=self.label)
        report.sent.append(bill)

    def _failed(self, bill: Bill, delivery: BillDelivery, error: Exception, report: SendReport) -> None:
        reason = describe_failure(error)
        _record_failed(bill, delivery, reason, actor=self.actor, label=self.label)
        report.failed.append((bill, reason))
        _close(self.connection)  # a half-answered connection is not reused
        self.connection = _connection()
        if isinstance(error, smtplib.SMTPRecipientsRefused | smtplib.SMTPDataError | smtplib.SMTPSenderRefused):
            self.failures_in_a_row = 0  # the server answered: this address, not the server, is the problem
            return
        self.failures_in_a_row += 1
        if self.failures_in_a_row >= CONNECTION_FAILURES_TO_STOP:
            self.stopped = f"the mail server failed {self.failures_in_a_row} times in a row ({reason})"


def _connection():
    """The default mailer, with the SMTP timeout even where MAILERS was configured without one."""
    connection = mail.mailers.default
    if hasattr(connection, "timeout") and connection.timeout is None:
        connection.timeout = getattr(settings, "MAIL_TIMEOUT", 20)
    return connection


def _close(connection) -> None:
    with contextlib.suppress(Exception):  # closing a dead connection may fail too; nothing is left to do with it
        connection.close()


def describe_failure(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()))
        return f"address refused by the mail server ({code} {text.decode(errors='replace')})"
    if isinstance(error, TimeoutError) or "timed out" in str(error):  # smtplib wraps some timeouts
        return "the mail server did not answer in time"
    if isinstance(error, ConnectionRefusedError):
        return "the mail server refused the connection"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


def _claim(bill: Bill, address: str, *, resend: bool, label: str) -> BillDelivery | None:
    """A SENDING delivery for this bill, committed; None when it was sent (and not resend) or another sender
    holds a fresh claim. The bill's row lock serialises two senders of one bill."""
    now = timezone.now()
    with transaction.atomic():
        sent_at = Bill.objects.select_for_update().filter(pk=bill.pk).values_list("sent_at", flat=True).first()
        if sent_at is not None and not resend:
            return None
        sending = BillDelivery.objects.filter(
            bill=bill, channel=BillDelivery.Channel.EMAIL, status=BillDelivery.Status.SENDING
        )
        sending.filter(started_at__lt=now - STALE_SENDING).update(
            status=BillDelivery.Status.FAILED, finished_at=now, error="interrupted: the sender stopped before an answer"
        )
        if sending.exists():
            return None
        return BillDelivery.objects.create(
            bill=bill,
            channel=BillDelivery.Channel.EMAIL,
            status=BillDelivery.Status.SENDING,
            address=address,
            actor_label=label,
            started_at=now,
        )


def _record_sent(bill: Bill, delivery: BillDelivery, *, actor, label: str) -> None:
    now = timezone.now()
    resent = bill.sent_at is not None
    with transaction.atomic():
        BillDelivery.objects.filter(pk=delivery.pk).update(status=BillDelivery.Status.SENT, finished_at=now)
        Bill.objects.filter(pk=bill.pk).update(sent_at=now, sent_to=delivery.address)
        audit_record(
            actor=actor,
            actor_label=label,
            action="bill.send",
            target=bill,
            customer=bill.customer,
            summary=f"Emailed bill {bill.number} to {delivery.address}" + (" (resent)" if resent else ""),
        )
    bill.sent_at, bill.sent_to = now, delivery.address


def _record_failed(bill: Bill, delivery: BillDelivery, reason: str, *, actor, label: str) -> None:
    with transaction.atomic():
        BillDelivery.objects.filter(pk=delivery.pk).update(
            status=BillDelivery.Status.FAILED, finished_at=timezone.now(), error=reason[:2000]
        )
        audit_record(
            actor=actor,
            actor_label=label,
            action="bill.send_failed",
            target=bill,
            customer=bill.customer,
            summary=f"Bill {bill.number} to {delivery.address} not sent: {reason}",
        )


def bill_email_message(bill: Bill, *, to: str) -> EmailMultiAlternatives:
    """The bill email: plain text, an HTML alternative and the PDF attached."""
    from .documents import bill_document_context, render_bill_pdf  # matplotlib and fpdf: only when sending
    from .selectors import bill_detail

    bill = bill_detail(Bill.objects.filter(pk=bill.pk))
    context = bill_document_context(bill, chart=False)
    context["site_url"] = settings.SITE_URL.rstrip("/")
    context["sent_on"] = timezone.localdate()
    subject = render_to_string("billing/email/bill_subject.txt", context).strip()
    message = EmailMultiAlternatives(subject=subject, body=render_to_string("billing/email/bill.txt", context), to=[to])
    message.attach_alternative(render_to_string("billing/email/bill.html", context), "text/html")
    message.attach(f"{bill.number}.pdf", render_bill_pdf(bill), "application/pdf")
    return message


def send_run_record(*, period, cycles, report: SendReport, actor=None, actor_label: str = "", run=None) -> BillRun:
    """The send's own BillRun row and audit event, with its figures."""
    from .services import _clean_cycles, _finish_run, _start_run

    run = _start_run(
        run, period=period, cycles=_clean_cycles(cycles), action=BillRun.Action.SEND, actor=actor, label=actor_label
    )
    run.bills_sent = len(report.sent)
    run.without_email = len(report.without_email) + len(report.opted_out)
    run.send_failures = len(report.failed)
    run.message = report.summary()
    _finish_run(run, None)
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="billing.send",
        target=run,
        summary=f"Bills for {period:%Y-%m}: {report.summary()}",
    )
    return run


# --- Paper -------------------------------------------------------------------------------------------------


def _deliveries(channel: str, status: str):
    return BillDelivery.objects.filter(bill=OuterRef("pk"), channel=channel, status=status)


def paper_condition() -> Q:
    """Bills that go on paper (SPEC §2b): chosen, nothing to email, or an email that failed and never went."""
    no_email = Q(customer__billing_email="") & (Q(customer__user__isnull=True) | Q(customer__user__email=""))
    chosen = Q(customer__bill_delivery__in=[DeliveryChoice.PAPER, DeliveryChoice.PAPER_AND_EMAIL])
    email_failed = Exists(_deliveries("email", "failed")) & ~Exists(_deliveries("email", "sent"))
    return chosen | no_email | email_failed


def bills_for_paper(*, period: datetime.date, reprint: bool = False) -> list[Bill]:
    """The period's issued bills that go on paper, in mailing order: ZIP code, then address (bills without a
    ZIP last). Bills printed before only with reprint."""
    bills = Bill.objects.filter(period=period).issued().filter(paper_condition())
    if not reprint:
        bills = bills.exclude(Exists(_deliveries("paper", "printed")))
    rows = bills.values_list("pk", "customer__mailing_address", "customer__location_id")
    order = sorted(rows, key=lambda row: mailing_order(row[1], row[2]))
    return [pk for pk, _address, _location in order]


def mailing_order(address: str, location_id: str) -> tuple:
    found = ZIP.search(address or "")
    return (found is None, found.group(1) if found else "", " ".join((address or "").upper().split()), location_id)


def bills_print(
    *,
    period: datetime.date,
    reprint: bool = False,
    output_dir: Path | None = None,
    actor=None,
    actor_label: str = "",
    run: BillRun | None = None,
    progress=None,
) -> PrintFile | None:
    """The period's print file and manifest, written under output_dir (MEDIA_ROOT/print by default), each
    bill in it recorded as printed. None when no bill is left to print."""
    from .documents import bills_print_file, documents_queryset

    ids = bills_for_paper(period=period, reprint=reprint)
    if not ids:
        return None
    if progress:
        progress(0.05, f"Drawing {len(ids)} bills")
    by_id = {bill.pk: bill for bill in documents_queryset(Bill.objects.filter(pk__in=ids))}
    pdf, manifest = bills_print_file([by_id[pk] for pk in ids])
    if progress:
        progress(0.9, "Writing the print file")
    label = actor_label or (actor.email if actor is not None and actor.is_authenticated else "system")
    return _record_print(
        period, ids, pdf, manifest, output_dir=output_dir, reprint=reprint, label=label, run=run, actor=actor
    )


def _record_print(
    period, ids, pdf: bytes, manifest: list[dict], *, output_dir, reprint, label, run, actor
) -> PrintFile:
    directory = Path(output_dir or Path(settings.MEDIA_ROOT) / "print")
    directory.mkdir(parents=True, exist_ok=True)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    pdf_path, manifest_path = (
        directory / f"bills-{period:%Y-%m}-{stamp}.pdf",
        directory / f"bills-{period:%Y-%m}-{stamp}.csv",
    )
    pdf_path.write_bytes(pdf)
    manifest_path.write_text(manifest_csv(manifest), encoding="utf-8")
    pages = sum(row["pages"] for row in manifest)
    with transaction.atomic():
        printed = PrintFile.objects.create(
            period=period,
            run=run,
            pdf_path=str(pdf_path),
            manifest_path=str(manifest_path),
            bills=len(ids),
            pages=pages,
            reprint=reprint,
            actor_label=label,
        )
        now = timezone.now()
        BillDelivery.objects.bulk_create(
            BillDelivery(
                bill_id=pk,
                channel=BillDelivery.Channel.PAPER,
                status=BillDelivery.Status.PRINTED,
                print_file=printed,
                address=row["mailing_address"],
                first_page=row["first_page"],
                pages=row["pages"],
                actor_label=label,
                started_at=now,
                finished_at=now,
            )
            for pk, row in zip(ids, manifest, strict=True)
        )
        audit_record(
            actor=actor,
            actor_label=label,
            action="billing.print",
            target=printed,
            summary=f"Print file for {period:%Y-%m}: {len(ids)} bills, {pages} pages"
            + (" (reprint)" if reprint else ""),
        )
    return printed


def manifest_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=MANIFEST_COLUMNS, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def print_run_record(*, period, print_file: PrintFile | None, actor=None, actor_label: str = "", run=None) -> BillRun:
    """The print's own BillRun row (the run page shows it and links the file), done."""
    from .services import _finish_run, _start_run

    run = _start_run(run, period=period, cycles=[], action=BillRun.Action.PRINT, actor=actor, label=actor_label)
    if print_file is None:
        run.message = f"Nothing to print for {period:%Y-%m}: every bill on paper was printed before."
    else:
        run.message = f"Printed {print_file.bills} bills, {print_file.pages} pages: {print_file.pdf_path}"
        PrintFile.objects.filter(pk=print_file.pk).update(run=run)
    _finish_run(run, None)
    return run


# --- The run's delivery report ----------------------------------------------------------------------------


@dataclass
class DeliveryReport:
    period: datetime.date
    issued: int
    emailed: int
    printed: int
    failed: int  # an email failed and none went since (on paper once printed)
    reached_nobody: int
    nobody: list  # the first bills that reached nobody (customer loaded)


def delivery_report(*, period: datetime.date, limit: int = 50) -> DeliveryReport:
    """How the period's issued bills reached their customers (SPEC §2b), counted in one query; the bills that
    reached nobody (neither accepted by the mail server nor printed) listed, at most `limit`."""
    bills = Bill.objects.filter(period=period).issued().annotate(
        emailed=Exists(_deliveries("email", "sent")),
        printed=Exists(_deliveries("paper", "printed")),
        email_failed=Exists(_deliveries("email", "failed")),
    )
    counts = bills.aggregate(
        issued=Count("pk"),
        emailed_n=Count("pk", filter=Q(emailed=True)),
        printed_n=Count("pk", filter=Q(printed=True)),
        failed_n=Count("pk", filter=Q(email_failed=True, emailed=False)),
        nobody_n=Count("pk", filter=Q(emailed=False, printed=False)),
    )
    nobody = []
    if counts["nobody_n"]:
        unreached = bills.filter(emailed=False, printed=False).select_related("customer")
        nobody = list(unreached.order_by("customer__location_id")[:limit])
    return DeliveryReport(
        period=period,
        issued=counts["issued"],
        emailed=counts["emailed_n"],
        printed=counts["printed_n"],
        failed=counts["failed_n"],
        reached_nobody=counts["nobody_n"],
        nobody=nobody,
    )
