"""Background work of the staff workspace (Django tasks: db_worker in development, immediate in tests)."""

import datetime

from django.tasks import task


@task
def refresh_snapshot(kind: str, today: str) -> str:
    """Recompute the analytics snapshot of `kind` ("consumption" or "billing") for the day `today`."""
    from .analytics import snapshot_refresh

    return snapshot_refresh(kind=kind, today=datetime.date.fromisoformat(today)).version
