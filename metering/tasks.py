"""Background work for metering (Django's tasks API; `manage.py db_worker` runs it, tests run it at once)."""

from pathlib import Path

from django.tasks import task

from hydrospark import runs

from .models import ImportRun
from .parsing import file_chunks
from .progress import IMPORT_RUN, progress_clear
from .services import import_run_execute


@task()
def import_uploaded_file(run_id: int) -> int:
    """Import an uploaded export; import_run_execute claims the run (a task delivered twice, or a run
    given up as stalled, imports nothing) and leaves live progress in the shared cache for the status
    page. Returns the run's exit code (0 done, 1 done with rejected rows, 2 refused, failed or not ours)."""
    run = ImportRun.objects.get(pk=run_id)
    path = Path(run.upload.path)
    try:
        run = import_run_execute(run=run, chunks=lambda: file_chunks(path))
    except BaseException as error:  # a parser's panic or MemoryError is no Exception: the run must not stay running
        runs.fail(IMPORT_RUN, run_id, f"The import stopped: {type(error).__name__}: {error}")
        raise
    if run.is_finished:
        progress_clear(run_id)
    return run.exit_code
