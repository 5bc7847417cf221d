"""Background work for the account (Django tasks; `manage.py db_worker` runs them): the payments file
uploaded on the Billing page, and the daily late-fee run. The tasks only call the services."""

import datetime

from django.tasks import task
from django.utils import timezone

LATE_FEE_HOUR = 6  # local time: after the night's bank file, before staff start


@task
def payment_import_task(run_id: int) -> str:
    from .models import PaymentImport
    from .payment_import import payment_import_run

    run = payment_import_run(run=PaymentImport.objects.select_related("requested_by").get(pk=run_id))
    return run.error or f"{run.payments_recorded} recorded, {run.rows_rejected} rejected"


@task
def late_fees_daily_task(reschedule: bool = True) -> str:
    """Charge today's late fees, then queue tomorrow's run (a fee is charged once per bill, so a second
    chain or a cron `apply_late_fees` beside this one charges nothing twice)."""
    from .late_fees import late_fees_apply

    report = late_fees_apply(actor_label="task late_fees_daily")
    if reschedule:
        late_fees_daily_task.using(run_after=next_run()).enqueue()
    return report.summary()


def next_run(now: datetime.datetime | None = None) -> datetime.datetime:
    """Tomorrow at LATE_FEE_HOUR, local time."""
    now = timezone.localtime(now)
    tomorrow = now.date() + datetime.timedelta(days=1)
    return timezone.make_aware(datetime.datetime.combine(tomorrow, datetime.time(LATE_FEE_HOUR)))
