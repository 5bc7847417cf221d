from django.apps import AppConfig


class AnomaliesConfig(AppConfig):
    name = "anomalies"
    verbose_name = "Anomalies"
    role_permissions = {
        "Operations": [
            "anomalies.view_anomaly",
            "anomalies.change_anomaly",
            "anomalies.view_detectionrun",
        ],
        "Billing": ["anomalies.view_anomaly", "anomalies.view_detectionrun"],
        "Support": ["anomalies.view_anomaly", "anomalies.view_detectionrun"],
    }
    staff_nav = [("Anomalies", "anomalies:queue", "view_anomalies")]
