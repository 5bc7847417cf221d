"""What the site knows about its own processes: each background worker's heartbeat (for /healthz)."""

from django.db import models


class WorkerHeartbeat(models.Model):
    """One row per running `db_worker` process, touched every WORKER_HEARTBEAT_SECONDS (hydrospark/health.py).

    django-tasks-db records tasks, not workers: an idle worker leaves no trace, so without this row a health
    check could not tell an idle pool from a dead one."""

    worker_id = models.CharField(max_length=64, unique=True)
    host = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-beat_at"]

    def __str__(self) -> str:
        return f"{self.host}:{self.pid} ({self.worker_id})"
