"""Background work of the portal: the alerts check (daily, and after each meter import) and the comparisons."""

import datetime

from django.tasks import task

from .services import alerts_check, comparisons_refresh


@task()
def check_alerts_task(today: str | None = None) -> dict:
    """Idempotent: every alert is recorded once (a unique constraint), so a task delivered twice sends nothing."""
    return alerts_check(today=datetime.date.fromisoformat(today) if today else None)


@task()
def refresh_comparisons_task(period: str) -> int:
    return comparisons_refresh(period=datetime.date.fromisoformat(period))
