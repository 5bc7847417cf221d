"""Background work for big bill runs and sendings (Django tasks; `manage.py db_worker` runs them).
The tasks only call the services; progress goes to the cache, where the run page reads it."""

from django.core.cache import cache
from django.tasks import task

from .exceptions import BillingError
from .models import BillRun

PROGRESS_SECONDS = 3600


def progress_key(run_id: int) -> str:
    return f"billing:run:{run_id}:progress"


def run_progress(run_id: int) -> tuple[float, str]:
    return cache.get(progress_key(run_id), (0.0, "Waiting for the background worker"))


def _reporter(run_id: int):
    def progress(fraction: float, message: str) -> None:
        cache.set(progress_key(run_id), (fraction, message), PROGRESS_SECONDS)

    return progress


def _run_or_fail(run_id: int, work) -> str:
    """`work(run)` for a queued bill run. A failure rolled the run back: it is written on the run (its page
    says so); a BillingError is the task's answer, anything else is raised for the worker to log."""
    from .services import bill_run_fail

    run = BillRun.objects.select_related("requested_by").get(pk=run_id)
    try:
        return work(run)
    except Exception as error:
        bill_run_fail(run=run, error=error)
        if isinstance(error, BillingError):
            return str(error)
        raise


@task
def bill_run_task(run_id: int, issue: bool = False) -> str:
    from .services import bill_run_compute

    def compute(run):
        return bill_run_compute(
            period=run.period,
            cycles=run.cycles,
            issue=issue,
            actor=run.requested_by,
            actor_label=run.actor_label,
            run=run,
            progress=_reporter(run_id),
        ).summary()

    return _run_or_fail(run_id, compute)


@task
def bill_issue_task(run_id: int) -> str:
    from .services import bill_run_issue

    def issue(run):
        issued = bill_run_issue(
            period=run.period, cycles=run.cycles, actor=run.requested_by, actor_label=run.actor_label, run=run
        )
        return f"{issued} issued"

    return _run_or_fail(run_id, issue)


@task
def send_bills_task(run_id: int, resend: bool = False) -> str:
    from .services import bills_send, send_run_record

    run = BillRun.objects.select_related("requested_by").get(pk=run_id)
    report = bills_send(
        period=run.period,
        cycles=run.cycles,
        resend=resend,
        actor=run.requested_by,
        actor_label=run.actor_label,
        progress=_reporter(run_id),
    )
    send_run_record(
        period=run.period,
        cycles=run.cycles,
        report=report,
        actor=run.requested_by,
        actor_label=run.actor_label,
        run=run,
    )
    return report.summary()
