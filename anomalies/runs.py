"""Detections in the background on the shared run lifecycle (hydrospark.runs): `detection_queue` creates one
queued run per method and enqueues the task; the task claims them, beats while it works, and ends them
finished or failed; fail_stalled_runs fails those whose worker died, and the queue page can start them again."""

from django.db import transaction
from django.utils import timezone

from accounts.services import audit_record
from hydrospark import runs

from .models import DetectionRun, Method
from .services import AnomalyError

DETECTION_RUN = runs.Lifecycle(
    name="anomaly.detect_run",
    model=DetectionRun,
    field="state",
    queued=DetectionRun.State.QUEUED,
    running=DetectionRun.State.RUNNING,
    done=DetectionRun.State.FINISHED,
    failed=DetectionRun.State.FAILED,
    error_field="error",
    created_field="started_at",  # set when queued, moved to the claim's time
    tasks=("anomalies.tasks.detect_anomalies_task",),
)


def detection_queue(*, methods=None, actor=None, actor_label: str = "") -> list[DetectionRun]:
    """Queue one detection run per method (all methods by default) and their task, on commit."""
    from .tasks import detect_anomalies_task

    methods = list(dict.fromkeys(methods or Method.values))
    unknown = [m for m in methods if m not in Method.values]
    if unknown:
        raise AnomalyError(f"Unknown detection method {unknown[0]!r}; choose from {', '.join(Method.values)}.")
    user = actor if actor is not None and actor.is_authenticated else None
    label = actor_label or (user.email if user else "system")
    with transaction.atomic():
        queued = [
            DetectionRun.objects.create(
                method=method,
                state=DetectionRun.State.QUEUED,
                started_at=timezone.now(),
                triggered_by=user,
                actor_label=label,
            )
            for method in methods
        ]
        ids = [run.pk for run in queued]
        audit_record(
            actor=user,
            actor_label=label,
            action="anomaly.queue",
            target=queued[0],
            summary=f"Detection queued: {', '.join(methods)}",
            changes={"runs": ids},
        )
        transaction.on_commit(lambda: detect_anomalies_task.enqueue(run_ids=ids))
    return queued


def detection_runs_fail_stalled(*, actor_label: str) -> list[DetectionRun]:
    return runs.fail_stalled(DETECTION_RUN, actor_label=actor_label)
