from django.apps import AppConfig


class MeteringConfig(AppConfig):
    name = "metering"
    verbose_name = "Metering"
    role_permissions = {
        "Operations": ["metering.view_meterread"],
        "Billing": ["metering.view_meterread"],
        "Support": ["metering.view_meterread"],
    }
    staff_nav = []
