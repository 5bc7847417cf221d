"""One lifecycle for every background run (imports, bill runs, sendings, detections).

A `<thing>_queue` service creates the run row (queued) and enqueues its task on commit. The task claims the
row with one conditional UPDATE (queued -> running), so a task delivered twice, or a run given up meanwhile,
does nothing. While it works it beats: the time of each step goes to the shared cache at once and to the
row's `heartbeat_at` at most every HEARTBEAT_SECONDS (only between transactions: a write inside a long
transaction would be invisible to the sweep until commit, and on SQLite would wait for its own lock). It ends
done through its service, or failed here. `fail_stalled_runs` fails every running run whose last beat is older
than RUN_STALE_MINUTES: its process was killed, nothing of it was committed, and it can be retried.
"""

import datetime
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError, connection
from django.utils import timezone

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 5  # at most one heartbeat UPDATE per run per this many seconds
BEAT_TTL_S = 24 * 3600
STALE_MINUTES_DEFAULT = 15
WORKER_LOST = "hydrospark.runs.WorkerLost"


def stale_after() -> datetime.timedelta:
    return datetime.timedelta(minutes=getattr(settings, "RUN_STALE_MINUTES", STALE_MINUTES_DEFAULT))


@dataclass(frozen=True)
class Lifecycle:
    """How one run model spells the shared lifecycle (its state field, values and error field)."""

    name: str  # e.g. "billing.run": cache keys and audit actions
    model: type
    field: str = "status"
    queued: str = "queued"
    running: str = "running"
    done: str = "done"
    failed: str = "failed"
    error_field: str = "message"
    created_field: str = "created_at"  # when it was queued
    tasks: tuple[str, ...] = ()  # dotted paths of the tasks whose `run_id` (or first argument) is such a run

    @property
    def objects(self):
        return self.model.objects

    def state(self, pk) -> str | None:
        return self.objects.filter(pk=pk).values_list(self.field, flat=True).first()


# --- Claim, beat, end -------------------------------------------------------------------------------------


def when_busy(write, attempts: int = 5):
    """write(), again after a pause while SQLite says the database is locked (another process held the write
    lock past the busy timeout, e.g. a big import's save). Inside a transaction the caller must start over."""
    for attempt in range(attempts):
        try:
            return write()
        except OperationalError as error:
            if "locked" not in str(error).lower() or connection.in_atomic_block or attempt == attempts - 1:
                raise
            logger.warning("Database busy (%s); trying again", error)
            time.sleep(0.5 * 2**attempt)


def claim(lifecycle: Lifecycle, pk: int) -> bool:
    """queued -> running in one UPDATE; False when another worker (or the sweep) got there first."""
    now = timezone.now()
    claimed = when_busy(
        lambda: lifecycle.objects.filter(pk=pk, **{lifecycle.field: lifecycle.queued}).update(
            **{lifecycle.field: lifecycle.running, "started_at": now, "heartbeat_at": now}
        )
    )
    if claimed:
        _last_write[(lifecycle.name, pk)] = time.monotonic()
        _depth[(lifecycle.name, pk)] = len(connection.atomic_blocks)
        cache.set(_beat_key(lifecycle, pk), now.timestamp(), BEAT_TTL_S)
    return bool(claimed)


_last_write: dict[tuple[str, int], float] = {}  # per process: when each run's row was last beaten
_depth: dict[tuple[str, int], int] = {}  # the transaction depth the run was claimed at (its work's own is deeper)


def _beat_key(lifecycle: Lifecycle, pk: int) -> str:
    return f"runs:{lifecycle.name}:{pk}:beat"


def beat(lifecycle: Lifecycle, pk: int) -> None:
    """The run is alive: note it in the cache now, and on its row when the last heartbeat is a few seconds old."""
    now = timezone.now()
    cache.set(_beat_key(lifecycle, pk), now.timestamp(), BEAT_TTL_S)
    key = (lifecycle.name, pk)
    inside_work_transaction = len(connection.atomic_blocks) > _depth.get(key, 0)
    if inside_work_transaction or time.monotonic() - _last_write.get(key, float("-inf")) < HEARTBEAT_SECONDS:
        return
    _last_write[key] = time.monotonic()
    try:
        lifecycle.objects.filter(pk=pk, **{lifecycle.field: lifecycle.running}).update(heartbeat_at=now)
    except OperationalError as error:  # a busy database must not stop the run: the cache has the beat
        logger.warning("%s #%s: heartbeat not written (%s)", lifecycle.name, pk, error)


def last_beat(lifecycle: Lifecycle, run) -> datetime.datetime | None:
    """When the run last showed life: its row's heartbeat or start, or the cache's newer beat."""
    moments = [m for m in (getattr(run, "heartbeat_at", None), run.started_at) if m is not None]
    cached = cache.get(_beat_key(lifecycle, run.pk))
    if cached:
        moments.append(datetime.datetime.fromtimestamp(cached, tz=datetime.UTC))
    return max(moments) if moments else None


def _forget(lifecycle: Lifecycle, pk: int) -> None:
    _last_write.pop((lifecycle.name, pk), None)
    _depth.pop((lifecycle.name, pk), None)


def fail(lifecycle: Lifecycle, pk: int, error: str) -> bool:
    """running (or queued) -> failed with the reason; a run that ended meanwhile stays as it is."""
    _forget(lifecycle, pk)
    unfinished = lifecycle.objects.filter(pk=pk, **{f"{lifecycle.field}__in": [lifecycle.queued, lifecycle.running]})
    return bool(
        when_busy(
            lambda: unfinished.update(
                **{lifecycle.field: lifecycle.failed, "finished_at": timezone.now(), lifecycle.error_field: error}
            )
        )
    )


def execute(lifecycle: Lifecycle, pk: int, work):
    """The one path of every task: claim the run, `work(run)`, and end it failed if work raised (the work's
    transaction was rolled back: nothing changed). Returns work's answer, or None when the run was not ours."""
    if not claim(lifecycle, pk):
        logger.info("%s #%s was not queued any more: nothing to do", lifecycle.name, pk)
        return None
    run = lifecycle.objects.get(pk=pk)
    try:
        answer = work(run)
    except BaseException as error:  # a panic or MemoryError too: the run must not stay running
        fail(lifecycle, pk, f"Nothing changed: {error}")
        raise
    # Work that ended without saying so (its service records figures and `done` itself) is done.
    lifecycle.objects.filter(pk=pk, **{lifecycle.field: lifecycle.running}).update(
        **{lifecycle.field: lifecycle.done, "finished_at": timezone.now()}
    )
    _forget(lifecycle, pk)
    return answer


# --- The sweep --------------------------------------------------------------------------------------------


def is_stalled(lifecycle: Lifecycle, run, now=None) -> bool:
    """Running, with no beat for stale_after(): its process is gone."""
    moved = last_beat(lifecycle, run)
    state = getattr(run, lifecycle.field)
    return state == lifecycle.running and moved is not None and (now or timezone.now()) - moved >= stale_after()


def stalled_error(lifecycle: Lifecycle, moved: datetime.datetime | None) -> str:
    minutes = int(stale_after().total_seconds() // 60)
    since = ""
    if moved is not None:
        moved = timezone.localtime(moved)
        since = f" (last at {moved:%b} {moved.day}, {moved:%H:%M})"
    return (
        f"Nothing changed: the run stalled, with no progress for {minutes} minutes{since}, so the process running "
        "it was stopped or restarted. It wrote everything in one transaction or nothing at all: run it again."
    )


def fail_stalled(lifecycle: Lifecycle, *, actor_label: str, now=None) -> list:
    """Fail every running run of this kind whose last beat is older than stale_after(), and the queued ones no
    task will run (fail_orphaned); audited. Returns them."""
    now = now or timezone.now()
    running = list(lifecycle.objects.filter(**{lifecycle.field: lifecycle.running}).order_by("pk"))
    failed = []
    for run in running:
        if not is_stalled(lifecycle, run, now):
            continue
        if fail(lifecycle, run.pk, stalled_error(lifecycle, last_beat(lifecycle, run))):
            run.refresh_from_db()
            audit_record_stalled(lifecycle, run, actor_label)
            failed.append(run)
    fail_lost_tasks(lifecycle, [run.pk for run in failed])
    return failed + fail_orphaned(lifecycle, actor_label=actor_label, now=now)


def audit_record_stalled(lifecycle: Lifecycle, run, actor_label: str) -> None:
    from accounts.services import audit_record

    audit_record(
        actor=None,
        actor_label=actor_label,
        action=f"{lifecycle.name}.stalled",
        target=run,
        summary=f"{run}: {getattr(run, lifecycle.error_field)}",
    )


def _tasks_in_database() -> bool:
    return settings.TASKS.get("default", {}).get("BACKEND") == "django_tasks_db.DatabaseBackend"


def fail_lost_tasks(lifecycle: Lifecycle, run_ids: list[int]) -> int:
    """django-tasks-db leaves the task row of a killed worker RUNNING for ever: fail the rows of these runs'
    tasks (and of any of its tasks whose runs are all over). Returns how many."""
    if not lifecycle.tasks or "django_tasks_db" not in settings.INSTALLED_APPS:
        return 0
    from django_tasks_db.models import DBTaskResult

    rows = list(DBTaskResult.objects.filter(status="RUNNING", task_path__in=lifecycle.tasks))
    by_row = {row.pk: _run_ids(row.args_kwargs) for row in rows}
    unfinished = [lifecycle.queued, lifecycle.running]
    mentioned = {pk for ids in by_row.values() for pk in ids}
    live = set(
        lifecycle.objects.filter(pk__in=mentioned, **{f"{lifecycle.field}__in": unfinished}).values_list(
            "pk", flat=True
        )
    )
    failed = set(run_ids)
    lost = [row for row, ids in by_row.items() if ids and (failed & set(ids) or not live & set(ids))]
    return DBTaskResult.objects.filter(pk__in=lost, status="RUNNING").update(
        status="FAILED",
        finished_at=timezone.now(),
        exception_class_path=WORKER_LOST,
        traceback=f"The worker running this task stopped; fail_stalled_runs failed its {lifecycle.name}.",
    )


def fail_orphaned(lifecycle: Lifecycle, *, actor_label: str, now=None) -> list:
    """Fail the queued runs that no task will ever run: queued for longer than stale_after() while no READY
    task row names them (its row failed before the claim, its worker died between taking the row and
    claiming the run, or the row is gone). Only with the database task backend, whose rows we can read."""
    if not lifecycle.tasks or not _tasks_in_database():
        return []
    from django_tasks_db.models import DBTaskResult

    now = now or timezone.now()
    old = now - stale_after()
    queued = list(
        lifecycle.objects.filter(**{lifecycle.field: lifecycle.queued, f"{lifecycle.created_field}__lt": old})
    )
    if not queued:
        return []
    since = min(getattr(run, lifecycle.created_field) for run in queued) - datetime.timedelta(minutes=1)
    rows = DBTaskResult.objects.filter(task_path__in=lifecycle.tasks, enqueued_at__gte=since)
    waiting = {
        pk
        for status, started, args_kwargs in rows.values_list("status", "started_at", "args_kwargs")
        if status == "READY" or (status == "RUNNING" and started and started >= old)
        for pk in _run_ids(args_kwargs)
    }
    error = (
        "Nothing changed: the background task of this run was lost before it started (its worker stopped or the "
        "task failed). Run it again."
    )
    orphaned = [run for run in queued if run.pk not in waiting and fail(lifecycle, run.pk, error)]
    for run in orphaned:
        run.refresh_from_db()
        audit_record_stalled(lifecycle, run, actor_label)
    fail_lost_tasks(lifecycle, [run.pk for run in orphaned])
    return orphaned


def _run_ids(args_kwargs) -> list[int]:
    """The runs a task row is for: its `run_id` or `run_ids` argument (or its first positional one)."""
    kwargs, args = (args_kwargs or {}).get("kwargs") or {}, (args_kwargs or {}).get("args") or []
    value = kwargs.get("run_id", kwargs.get("run_ids", args[0] if args else None))
    values = value if isinstance(value, list) else [value]
    return [v for v in values if isinstance(v, int)]
