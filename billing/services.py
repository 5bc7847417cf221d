"""Writes for billing (SPEC §2): bill runs, issuing, sending, payments (rate versions: billing.rates).

Every door (commands, staff pages, admin, background tasks) calls these. Each one is audited and
raises BillingError when it refuses. Runs, reruns and issues of one period are serialised by locking
the period's BillingPeriodLock row; the unique (customer, period) constraint backs that up.
"""

import datetime
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.services import audit_record

from . import engine

# Payments are to the account (SPEC §2a): billing.account_services owns them and the ledger; the names
# stay importable from here for the doors that used them.
from .account_services import ledger_post_bill, payment_check, payment_record  # noqa: F401
from .engine import RunFigures
from .exceptions import BillingError
from .models import Bill, BillingPeriodLock, BillRun
from .periods import label, period_end
from .selectors import bills_for_period

DUE_DAYS = 21  # SPEC §2: due date = issue date + 21 days
NUMBER_PREFIX = "HS"
SELECTION_SLICE = 2000  # bill ids per IN list when issuing a selection


def _actor_fields(actor, actor_label: str) -> dict:
    return {"actor": actor, "actor_label": actor_label}


def _clean_cycles(cycles) -> list[int]:
    try:
        cleaned = sorted({int(c) for c in cycles or []})
    except (TypeError, ValueError):
        raise BillingError(f"Cycle numbers must be whole numbers (got {cycles!r}).") from None
    if any(c < 1 for c in cleaned):
        raise BillingError("Cycle numbers start at 1.")
    return cleaned


def _lock_period(period: datetime.date) -> None:
    """Hold the period's lock row until the surrounding transaction ends (creating it if needed)."""
    try:
        with transaction.atomic():
            BillingPeriodLock.objects.get_or_create(period=period)
    except IntegrityError:
        pass  # another run created it a moment ago: it exists now
    BillingPeriodLock.objects.select_for_update().get(period=period)


def _check_period_over(period: datetime.date, today: datetime.date) -> None:
    if period_end(period) >= today:
        raise BillingError(
            f"{label(period)} is not over yet: its bills can be issued from "
            f"{period_end(period) + datetime.timedelta(days=1):%Y-%m-%d}."
        )


def bill_run_compute(
    *,
    period: datetime.date,
    cycles=None,
    dry_run: bool = False,
    issue: bool = False,
    actor=None,
    actor_label: str = "",
    run: BillRun | None = None,
    progress=engine._no_progress,
    today: datetime.date | None = None,
) -> RunFigures:
    """Create or recompute the period's draft bills (issued bills untouched); with issue=True issue them too.

    dry_run computes the same figures and writes nothing."""
    cycles = _clean_cycles(cycles)
    today = today or timezone.localdate()
    if issue:
        _check_period_over(period, today)
    if dry_run:
        figures, _groups = engine.price_period(period=period, cycles=cycles, progress=progress)
        figures.dry_run = True
        return figures
    with transaction.atomic():
        _lock_period(period)
        run = _start_run(
            run, period=period, cycles=cycles, action=BillRun.Action.COMPUTE, actor=actor, label=actor_label
        )
        figures, groups = engine.price_period(period=period, cycles=cycles, progress=progress)
        engine.write_period(figures=figures, groups=groups, run_id=run.pk, progress=progress)
        if issue:
            figures.bills_issued = _issue(period=period, cycles=cycles, today=today)
        _finish_run(run, figures)
        audit_record(
            **_actor_fields(actor, actor_label),
            action="billing.run",
            target=run,
            summary=figures.summary(),
            changes={"period": f"{period:%Y-%m}", "cycles": cycles, "issue": issue},
        )
    figures.run_id = run.pk
    progress(1.0, "Done")
    return figures


def bill_run_issue(
    *,
    period: datetime.date,
    cycles=None,
    bill_ids=None,
    actor=None,
    actor_label: str = "",
    today=None,
    run: BillRun | None = None,
) -> int:
    """Issue the period's drafts: bill number, issue date today, due in 21 days. Returns how many.

    bill_ids limits the issue to those drafts of the period (the admin's "Issue selected drafts")."""
    cycles = _clean_cycles(cycles)
    today = today or timezone.localdate()
    _check_period_over(period, today)
    scope = f" (cycles {cycles})" if cycles else ""
    if bill_ids is not None:
        bill_ids = sorted(set(bill_ids))
        scope += f" ({len(bill_ids)} selected)"
    with transaction.atomic():
        _lock_period(period)
        run = _start_run(run, period=period, cycles=cycles, action=BillRun.Action.ISSUE, actor=actor, label=actor_label)
        issued = _issue(period=period, cycles=cycles, today=today, bill_ids=bill_ids)
        run.bills_issued = issued
        run.message = f"Issued {issued} bills for {period:%Y-%m}{scope}"
        _finish_run(run, None)
        audit_record(
            **_actor_fields(actor, actor_label),
            action="billing.issue",
            target=run,
            summary=run.message,
            changes={
                "period": f"{period:%Y-%m}",
                "cycles": cycles,
                "issued": issued,
                **({"bill_ids": bill_ids[:1000]} if bill_ids is not None else {}),
            },
        )
    return issued


def _issue(*, period: datetime.date, cycles: list[int], today: datetime.date, bill_ids=None) -> int:
    """Number the drafts (all of the scope, or those of bill_ids) in location order, continuing the
    period's sequence (numbers are never reused: issued bills are never deleted)."""
    scope = bills_for_period(period=period, cycles=cycles).drafts()
    if bill_ids is None:
        drafts = list(scope.order_by("customer__location_id").values_list("id", flat=True))
    else:  # in slices: IN lists stay under every database's parameter limit
        found = []
        for start in range(0, len(bill_ids), SELECTION_SLICE):
            part = scope.filter(pk__in=bill_ids[start : start + SELECTION_SLICE])
            found += part.values_list("customer__location_id", "id")
        drafts = [bill_id for _location, bill_id in sorted(found)]
    # Originals only, cancelled ones included: a corrected bill takes its original's number plus "-R1".
    start = Bill.objects.filter(period=period, number__isnull=False, replaces__isnull=True).count() + 1
    due = today + datetime.timedelta(days=DUE_DAYS)
    now = timezone.now()
    rows = [(bill_number(period, start + i), bill_id) for i, bill_id in enumerate(drafts)]
    engine.issue_rows(rows, issue_date=today, due_date=due, now=now)
    ledger_post_bill(period=period)  # each bill's total on the account, dated its issue date
    return len(rows)


def bill_number(period: datetime.date, sequence: int) -> str:
    return f"{NUMBER_PREFIX}-{period:%Y%m}-{sequence:06d}"


def _start_run(run, *, period, cycles, action, actor, label) -> BillRun:
    if run is None:
        run = BillRun.objects.create(
            period=period,
            cycles=cycles,
            action=action,
            requested_by=actor if actor is not None and actor.is_authenticated else None,
            actor_label=label or getattr(actor, "email", ""),
        )
    BillRun.objects.filter(pk=run.pk).update(status=BillRun.Status.RUNNING)
    run.status = BillRun.Status.RUNNING
    return run


def _finish_run(run: BillRun, figures: RunFigures | None) -> None:
    if figures is not None:
        for name in (
            "bills_created",
            "bills_recomputed",
            "issued_untouched",
            "customers_without_reads",
            "partial_bills",
            "bills_issued",
        ):
            setattr(run, name, getattr(figures, name))
        run.total_billed = figures.total_billed
        run.message = figures.summary()
    run.status = BillRun.Status.DONE
    run.finished_at = timezone.now()
    run.save()


def bill_run_fail(*, run: BillRun, error: Exception) -> None:
    """Mark a background run failed (its own transaction was rolled back: nothing changed)."""
    BillRun.objects.filter(pk=run.pk).update(
        status=BillRun.Status.FAILED, finished_at=timezone.now(), message=f"Nothing changed: {error}"
    )





# --- Sending -----------------------------------------------------------------------------------------------


@dataclass
class SendReport:
    sent: list[Bill] = field(default_factory=list)
    already_sent: int = 0
    without_email: list[Bill] = field(default_factory=list)
    opted_out: list[Bill] = field(default_factory=list)
    failed: list[tuple[Bill, str]] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.sent)} sent, {self.already_sent} already sent before, {len(self.without_email)} without "
            f"an email address, {len(self.opted_out)} opted out of bill emails, {len(self.failed)} failed"
        )


def bills_send(
    *, period: datetime.date, cycles=None, resend: bool = False, actor=None, actor_label: str = "", progress=None
) -> SendReport:
    """Email every issued bill of the period that was not sent yet (all of them with resend)."""
    from .documents import send_bill_email  # documents imports matplotlib and fpdf: only when sending

    cycles = _clean_cycles(cycles)
    bills = (
        bills_for_period(period=period, cycles=cycles)
        .issued()
        .select_related("customer", "customer__user", "rate_schedule")
        .order_by("customer__location_id")
    )
    report = SendReport()
    total = bills.count() or 1
    for index, bill in enumerate(bills.iterator(chunk_size=500)):
        _send_one(bill, report, resend=resend, actor=actor, actor_label=actor_label, send=send_bill_email)
        if progress and index % 50 == 0:
            progress(index / total, f"Sent {len(report.sent)} of {total}")
    return report


def bill_send(*, bill: Bill, resend: bool = False, actor=None, actor_label: str = "") -> SendReport:
    from .documents import send_bill_email

    if not bill.is_issued:
        raise BillingError("Only issued bills can be sent.")
    report = SendReport()
    _send_one(bill, report, resend=resend, actor=actor, actor_label=actor_label, send=send_bill_email)
    return report


def _send_one(bill: Bill, report: SendReport, *, resend, actor, actor_label, send) -> None:
    customer = bill.customer
    email = customer.bill_email
    if not email:
        report.without_email.append(bill)
        return
    if not customer.gets_bill_email:
        report.opted_out.append(bill)
        return
    claimed_at = timezone.now()
    claim = Bill.objects.filter(pk=bill.pk, status=Bill.Status.ISSUED)
    if not resend:
        claim = claim.filter(sent_at__isnull=True)
    previous = (bill.sent_at, bill.sent_to)
    # The claim is one atomic UPDATE: a second click or a parallel command finds the row taken.
    if not claim.update(sent_at=claimed_at, sent_to=email):
        report.already_sent += 1
        return
    try:
        send(bill, to=email)
    except Exception as error:  # the mail server refused: give the bill back so a later run retries it
        Bill.objects.filter(pk=bill.pk, sent_at=claimed_at).update(sent_at=previous[0], sent_to=previous[1])
        report.failed.append((bill, str(error)))
        return
    bill.sent_at, bill.sent_to = claimed_at, email
    report.sent.append(bill)
    audit_record(
        **_actor_fields(actor, actor_label),
        action="bill.send",
        target=bill,
        customer=customer,
        summary=f"Emailed bill {bill.number} to {email}" + (" (resent)" if previous[0] else ""),
    )


def send_run_record(*, period, cycles, report: SendReport, actor=None, actor_label: str = "", run=None) -> BillRun:
    """The send's own BillRun row and audit event, with its figures."""
    run = _start_run(
        run, period=period, cycles=_clean_cycles(cycles), action=BillRun.Action.SEND, actor=actor, label=actor_label
    )
    run.bills_sent = len(report.sent)
    run.without_email = len(report.without_email) + len(report.opted_out)
    run.send_failures = len(report.failed)
    run.message = report.summary()
    _finish_run(run, None)
    audit_record(
        **_actor_fields(actor, actor_label),
        action="billing.send",
        target=run,
        summary=f"Bills for {period:%Y-%m}: {report.summary()}",
    )
    return run
