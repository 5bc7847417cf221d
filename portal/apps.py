from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    # Support answers customers about their alerts; they are set on the portal only (read-only admin).
    role_permissions = {
        role: ["portal.view_alertsetting", "portal.view_alertevent"] for role in ("Support", "Operations")
    }
    staff_nav = []

    def ready(self):
        from metering.signals import reads_imported

        reads_imported.connect(_check_alerts_after_import, dispatch_uid="portal.check_alerts_after_import")


def _check_alerts_after_import(sender, run, **kwargs):
    """New reads may cross a budget step or show use while away: the alerts are checked at once, not next day.
    They may also complete (or correct) last month, so its similar-homes figures are recomputed too."""
    from django.utils import timezone

    from .selectors import comparison_month
    from .tasks import check_alerts_task, refresh_comparisons_task

    check_alerts_task.enqueue()
    refresh_comparisons_task.enqueue(period=comparison_month(timezone.localdate()).isoformat())
