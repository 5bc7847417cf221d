"""Writes for billing (SPEC §2): bill runs, issuing, sending, payments (rate versions: billing.rates).

Every door (commands, staff pages, admin, background tasks) calls these. Each one is audited and
raises BillingError when it refuses. Runs, reruns and issues of one period are serialised by locking
the period's BillingPeriodLock row; the unique (customer, period) constraint backs that up.
"""

import datetime

from django.db import transaction
from django.utils import timezone

from accounts.services import audit_record

from . import engine

# Payments are to the account (SPEC §2a): billing.account_services owns them and the ledger; the names
# stay importable from here for the doors that used them.
from .account_services import ledger_post_bill, payment_check, payment_record  # noqa: F401
from .engine import RunFigures
from .exceptions import BillingError
from .models import Bill, BillRun
from .period_lock import lock_period
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
    """Hold the period's lock until the surrounding transaction ends (billing.period_lock says how)."""
    lock_period(period)


def _check_period_over(period: datetime.date, today: datetime.date) -> None:
    if period_end(period) >= today:
        raise BillingError(
            f"{label(period)} is not over yet: its bills can be issued from "
            f"{period_end(period) + datetime.timedelta(days=1):%Y-%m-%d}."
        )


def _issue_day(period: datetime.date, issue_date: datetime.date | None, today: datetime.date) -> datetime.date:
    """SPEC §2: bills are issued today unless a date is given: never before the period's last day, never
    in the future."""
    if issue_date is None:
        _check_period_over(period, today)
        return today
    if issue_date > today:
        raise BillingError(f"The issue date {issue_date:%Y-%m-%d} is in the future.")
    if issue_date < period_end(period):
        raise BillingError(
            f"The issue date {issue_date:%Y-%m-%d} is before {label(period)}'s last day "
            f"({period_end(period):%Y-%m-%d})."
        )
    return issue_date


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
    issue_date: datetime.date | None = None,
) -> RunFigures:
    """Create or recompute the period's draft bills (issued bills untouched); with issue=True issue them too.

    dry_run computes the same figures and writes nothing."""
    cycles = _clean_cycles(cycles)
    today = today or timezone.localdate()
    if issue:
        today = _issue_day(period, issue_date, today)  # the issue date from here on
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
    issue_date: datetime.date | None = None,
) -> int:
    """Issue the period's drafts: bill number, issue date today (or issue_date), due 21 days later.
    Returns how many. bill_ids limits the issue to those drafts of the period (the admin's "Issue
    selected drafts")."""
    cycles = _clean_cycles(cycles)
    today = _issue_day(period, issue_date, today or timezone.localdate())
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





# --- Sending and printing live in billing.delivery; these names stay the service API of every door. -------------

from .delivery import SendReport, bill_send, bills_print, bills_send, send_run_record  # noqa: E402, F401
