"""Background detection (the queue page's "Run detection now" and schedulers that use the task worker)."""

from django.tasks import task

from hydrospark import runs

from .models import DetectionRun
from .runs import DETECTION_RUN, detection_queue
from .services import anomalies_detect


@task()
def detect_anomalies_task(run_ids: list[int] | None = None, methods: list[str] | None = None) -> list[int]:
    """Run the queued detection runs (claimed first: a task delivered twice runs nothing) and email the digest.
    Without run_ids (a scheduler's plain enqueue) it queues runs for `methods` itself. Returns the run ids."""
    if run_ids is None:
        run_ids = [run.pk for run in detection_queue(methods=methods, actor_label="task detect_anomalies")]
    claimed_ids = [pk for pk in run_ids if runs.claim(DETECTION_RUN, pk)]
    if not claimed_ids:
        return []
    claimed = list(DetectionRun.objects.filter(pk__in=claimed_ids).select_related("triggered_by").order_by("pk"))

    def beat(message: str) -> None:
        for pk in claimed_ids:
            runs.beat(DETECTION_RUN, pk)

    try:
        done = anomalies_detect(
            claimed=claimed, actor=claimed[0].triggered_by, actor_label=claimed[0].actor_label, progress=beat
        )
    except BaseException as error:  # the runs not finished yet must not stay running
        for pk in claimed_ids:
            runs.fail(DETECTION_RUN, pk, f"Nothing changed: {error!r}"[:2000])
        raise
    return [run.pk for run in done]
