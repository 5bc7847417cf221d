"""Background detection (the queue page's "Run detection now" and schedulers that use the task worker)."""

from django.tasks import task

from accounts.models import User

from .models import Method
from .services import anomalies_detect


@task()
def detect_anomalies_task(methods: list[str] | None = None, user_id: int | None = None) -> list[int]:
    """Run detection like `manage.py detect_anomalies` and email the digest. Returns the run ids."""
    actor = User.objects.filter(pk=user_id).first() if user_id else None
    runs = anomalies_detect(
        methods=methods or Method.values, actor=actor, actor_label="" if actor else "task detect_anomalies"
    )
    return [run.pk for run in runs]
