"""Background work for big bill runs and sendings (Django tasks; `manage.py db_worker` runs them).

Each task runs its queued BillRun through the shared lifecycle (hydrospark.runs.execute: claim, beat,
done or failed) and only calls the services. Progress text goes to the cache, where the run page reads it;
every progress step is also the run's heartbeat."""

from django.core.cache import cache
from django.tasks import task

from hydrospark import runs

from .exceptions import BillingError
from .runs import BILL_RUN

PROGRESS_SECONDS = 3600


def progress_key(run_id: int) -> str:
    return f"billing:run:{run_id}:progress"


def run_progress(run_id: int) -> tuple[float, str]:
    return cache.get(progress_key(run_id), (0.0, "Waiting for the background worker"))


def _reporter(run_id: int):
    def progress(fraction: float, message: str) -> None:
        cache.set(progress_key(run_id), (fraction, message), PROGRESS_SECONDS)
        runs.beat(BILL_RUN, run_id)

    return progress


def _run_or_fail(run_id: int, work) -> str | None:
    """`work(run)` for a queued bill run, through the shared lifecycle. A failure rolled the work back: it is
    written on the run (its page says so and offers a retry); a BillingError is the task's answer, anything
    else is raised for the worker to log. None when the run was not queued any more (delivered twice)."""

    def guarded(run):
        try:
            return work(run)
        except BillingError as error:
            runs.fail(BILL_RUN, run.pk, f"Nothing changed: {error}")
            return str(error)

    return runs.execute(BILL_RUN, run_id, guarded)


@task
def bill_run_task(run_id: int, issue: bool = False) -> str | None:
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
def bill_issue_task(run_id: int) -> str | None:
    from .services import bill_run_issue

    def issue(run):
        issued = bill_run_issue(
            period=run.period, cycles=run.cycles, actor=run.requested_by, actor_label=run.actor_label, run=run
        )
        return f"{issued} issued"

    return _run_or_fail(run_id, issue)


@task
def send_bills_task(run_id: int, resend: bool = False) -> str | None:
    from .services import bills_send, send_run_record

    def send(run):
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

    return _run_or_fail(run_id, send)


@task
def print_bills_task(run_id: int, reprint: bool = False) -> str | None:
    from .delivery import bills_print, print_run_record

    def print_file(run):
        printed = bills_print(
            period=run.period,
            reprint=reprint,
            actor=run.requested_by,
            actor_label=run.actor_label,
            run=run,
            progress=_reporter(run_id),
        )
        return print_run_record(
            period=run.period, print_file=printed, actor=run.requested_by, actor_label=run.actor_label, run=run
        ).message

    return _run_or_fail(run_id, print_file)
