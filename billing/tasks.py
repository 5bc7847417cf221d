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


@task
def bill_run_task(run_id: int, issue: bool = False) -> str:
    from .services import bill_run_compute, bill_run_fail

    run = BillRun.objects.select_related("requested_by").get(pk=run_id)
    try:
        figures = bill_run_compute(
            period=run.period,
            cycles=run.cycles,
            issue=issue,
            actor=run.requested_by,
            actor_label=run.actor_label,
            run=run,
            progress=_reporter(run_id),
        )
    except Exception as error:  # the run rolled back: say so on the run page, then let the worker log it
        bill_run_fail(run=run, error=error)
        if isinstance(error, BillingError):
            return str(error)
        raise
    return figures.summary()


@task
def bill_issue_task(run_id: int) -> str:
    from .services import bill_run_fail, bill_run_issue

    run = BillRun.objects.select_related("requested_by").get(pk=run_id)
    try:
        issued = bill_run_issue(
            period=run.period, cycles=run.cycles, actor=run.requested_by, actor_label=run.actor_label, run=run
        )
    except Exception as error:
        bill_run_fail(run=run, error=error)
        if isinstance(error, BillingError):
            return str(error)
        raise
    return f"{issued} issued"


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
