from django.apps import AppConfig


class AnomaliesConfig(AppConfig):
    name = "anomalies"
    verbose_name = "Anomalies"
    role_permissions = {
        "Operations": [
            "anomalies.view_anomaly",
            "anomalies.change_anomaly",
            "anomalies.view_detectionrun",
            "anomalies.view_incident",
            "anomalies.view_digest",
        ],
        "Billing": ["anomalies.view_anomaly", "anomalies.view_detectionrun", "anomalies.view_incident"],
        "Support": ["anomalies.view_anomaly", "anomalies.view_detectionrun", "anomalies.view_incident"],
    }
    staff_nav = [("Incidents", "anomalies:queue", "view_anomalies")]
