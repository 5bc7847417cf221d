"""Support answers "why did I get this alert?": the alerts an account chose and those it was sent, read-only
(customers set theirs on the portal, through the audited service; the check records the rest)."""

from django.contrib import admin

from accounts.admin import ReadOnlyAdmin

from .models import AlertEvent, AlertSetting


@admin.register(AlertSetting)
class AlertSettingAdmin(ReadOnlyAdmin):
    list_display = ["customer", "budget", "away_from", "away_until", "email", "updated_at"]
    search_fields = ["customer__location_id", "customer__name"]
    list_select_related = ["customer"]


@admin.register(AlertEvent)
class AlertEventAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "customer",
        "kind",
        "period",
        "threshold",
        "amount",
        "budget",
        "usage_ccf",
        "emailed_at",
    ]
    list_filter = ["kind"]
    search_fields = ["customer__location_id", "customer__name"]
    list_select_related = ["customer"]
