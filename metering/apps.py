from django.apps import AppConfig


class MeteringConfig(AppConfig):
    name = "metering"
    verbose_name = "Metering"
    role_permissions = {
        "Operations": ["metering.view_meterread", "metering.view_importrun", "metering.view_readcorrection"],
        "Billing": ["metering.view_meterread", "metering.view_readcorrection"],
        "Support": ["metering.view_meterread"],
    }
    staff_nav = [
        ("Imports", "metering:imports", "import_meter_data"),
        ("Reads", "metering:reads", "view_customers"),
    ]
