"""Live progress of imports, and the rule that tells a stalled import from a slow one.

The process that imports (the background worker, or the import_usage command) leaves its progress
in the shared cache at every step, with the time of that step; the pages read it. A running import
whose progress has not moved for `stale_after()` (setting METER_IMPORT_STALE_MINUTES, default 15)
has lost its process: a killed or restarted worker never finishes the run itself. Nothing of it
was written, because an import saves everything in one transaction.
"""

import datetime

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from hydrospark import runs

from .models import ImportRun, ImportStatus

# Imports on the shared run lifecycle: the sweep (fail_stalled_runs) fails a killed one and its task row.
IMPORT_RUN = runs.Lifecycle(
    name="meter_import", model=ImportRun, error_field="error", tasks=("metering.tasks.import_uploaded_file",)
)
PROGRESS_TTL_S = 24 * 3600
STALE_MINUTES_DEFAULT = 15


def stale_after() -> datetime.timedelta:
    return datetime.timedelta(minutes=getattr(settings, "METER_IMPORT_STALE_MINUTES", STALE_MINUTES_DEFAULT))


def progress_key(run_id: int) -> str:
    return f"metering:import:{run_id}:progress"


def progress_write(run_id: int, phase: str, rows: int, fraction: float) -> None:
    live = {"phase": phase, "rows": rows, "fraction": round(fraction, 3), "at": timezone.now().timestamp()}
    cache.set(progress_key(run_id), live, PROGRESS_TTL_S)
    runs.beat(IMPORT_RUN, run_id)


def progress_clear(run_id: int) -> None:
    cache.delete(progress_key(run_id))


def progress_read(runs) -> dict[int, dict]:
    """{run id: live progress} for the unfinished ones of these runs, in one cache round trip."""
    keys = {progress_key(run.pk): run.pk for run in runs if not run.is_finished}
    return {keys[key]: live for key, live in cache.get_many(list(keys)).items()} if keys else {}


def last_activity(run: ImportRun, live: dict | None) -> datetime.datetime | None:
    """When the run last moved: its latest progress step, its heartbeat, or its start."""
    moments = [m for m in (run.started_at, run.heartbeat_at) if m is not None]
    if live and live.get("at"):
        moments.append(datetime.datetime.fromtimestamp(live["at"], tz=datetime.UTC))
    return max(moments) if moments else None


def is_stalled(run: ImportRun, live: dict | None, now: datetime.datetime | None = None) -> bool:
    """A running import whose progress has not moved for stale_after(). A queued one is only waiting
    its turn (the worker runs one task at a time), never stalled."""
    if run.status != ImportStatus.RUNNING:
        return False
    moved = last_activity(run, live)
    return moved is not None and (now or timezone.now()) - moved >= stale_after()


def mark_stalled(runs) -> list[ImportRun]:
    """Set `stalled` and `last_activity` on each run (for the pages); returns the runs."""
    runs = list(runs)
    live = progress_read(runs)
    now = timezone.now()
    for run in runs:
        run.live = live.get(run.pk)
        run.last_activity = last_activity(run, run.live)
        run.stalled = is_stalled(run, run.live, now)
    return runs
