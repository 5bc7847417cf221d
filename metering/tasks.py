"""Background work for metering (Django's tasks API; `manage.py db_worker` runs it, tests run it at once)."""

from pathlib import Path

from django.core.cache import cache
from django.tasks import task

from .models import ImportRun
from .parsing import file_chunks
from .services import import_run_execute

PROGRESS_TTL_S = 24 * 3600


def progress_key(run_id: int) -> str:
    return f"metering:import:{run_id}:progress"


@task()
def import_uploaded_file(run_id: int) -> int:
    """Import an uploaded export; live progress goes to the shared cache for the status page.
    Returns the run's exit code (0 done, 1 done with rejected rows, 2 refused or failed)."""
    run = ImportRun.objects.get(pk=run_id)
    if run.is_finished:  # a task delivered twice must not import twice
        return run.exit_code

    def progress(phase: str, rows: int, fraction: float) -> None:
        cache.set(progress_key(run_id), {"phase": phase, "rows": rows, "fraction": round(fraction, 3)}, PROGRESS_TTL_S)

    path = Path(run.upload.path)
    run = import_run_execute(run=run, chunks=lambda: file_chunks(path), progress=progress)
    cache.delete(progress_key(run_id))
    return run.exit_code
