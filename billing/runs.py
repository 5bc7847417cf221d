"""Bill runs in the background (compute, issue, send) on the shared run lifecycle (hydrospark.runs):
queued by `bill_run_queue`, claimed by the task, failed by the sweep when its worker died, retried from
its page as a new run of the same scope."""

import datetime

from django.db import transaction
from django.utils import timezone

from accounts.services import audit_record
from hydrospark import runs

from .exceptions import BillingError
from .models import BillRun

BILL_RUN = runs.Lifecycle(
    name="billing.run",
    model=BillRun,
    tasks=(
        "billing.tasks.bill_run_task",
        "billing.tasks.bill_issue_task",
        "billing.tasks.send_bills_task",
        "billing.tasks.print_bills_task",
    ),
)
ACTIVE = (BillRun.Status.QUEUED, BillRun.Status.RUNNING)


def active_run(period: datetime.date) -> BillRun | None:
    return BillRun.objects.filter(period=period, status__in=ACTIVE).order_by("-id").first()


def bill_run_queue(
    *, period: datetime.date, cycles, action: str, actor, resend: bool = False, reprint: bool = False
) -> BillRun:
    """Create a queued run and enqueue its task on commit. Refuses while another run of the period is queued
    or running (a dead one is failed by fail_stalled_runs, and can then be retried). `reprint` (a print run
    only) prints again the paper bills printed before, e.g. when the mail house lost a batch."""
    from . import tasks

    if action not in BillRun.Action.values:
        raise BillingError(f"Unknown bill run action {action!r}.")
    with transaction.atomic():
        active = active_run(period)
        if active is not None:
            raise BillingError(
                f"Another run holds {period:%Y-%m} ({active.title.lower()}, {active.get_status_display().lower()}): "
                "wait for it to finish."
            )
        run = BillRun.objects.create(
            period=period,
            cycles=list(cycles or []),
            action=action,
            requested_by=actor if actor is not None and actor.is_authenticated else None,
            actor_label=getattr(actor, "email", "") or "system",
        )
        task, kwargs = {
            BillRun.Action.COMPUTE: (tasks.bill_run_task, {}),
            BillRun.Action.ISSUE: (tasks.bill_issue_task, {}),
            BillRun.Action.SEND: (tasks.send_bills_task, {"resend": resend}),
            BillRun.Action.PRINT: (tasks.print_bills_task, {"reprint": reprint}),
        }[action]
        transaction.on_commit(lambda: task.enqueue(run_id=run.pk, **kwargs))
        again = " (reprint of the bills printed before)" if reprint and action == BillRun.Action.PRINT else ""
        audit_record(actor=actor, action="billing.queue", target=run, summary=f"Queued: {run}{again}")
    return run


def stalled_minutes(run: BillRun) -> int | None:
    """Minutes since a stalled run last beat (None while it is alive or over): its page says so and offers Retry."""
    if not runs.is_stalled(BILL_RUN, run):
        return None
    return int((timezone.now() - runs.last_beat(BILL_RUN, run)).total_seconds() // 60)


def bill_run_retry(*, run: BillRun, actor) -> BillRun:
    """Queue a failed run again, with the same period, cycles and action (a new run; the old one stays failed)."""
    if runs.is_stalled(BILL_RUN, run):  # its worker died and the sweep has not come by yet
        runs.fail(BILL_RUN, run.pk, runs.stalled_error(BILL_RUN, runs.last_beat(BILL_RUN, run)))
        run.refresh_from_db()
    if run.status != BillRun.Status.FAILED:
        raise BillingError(f"Only a failed run is retried; this one is {run.get_status_display().lower()}.")
    return bill_run_queue(period=run.period, cycles=run.cycles, action=run.action, actor=actor)


def bill_runs_fail_stalled(*, actor_label: str) -> list[BillRun]:
    """Fail the running bill runs whose worker stopped beating (the fail_stalled_runs sweep)."""
    return runs.fail_stalled(BILL_RUN, actor_label=actor_label)
