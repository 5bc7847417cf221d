from django.apps import AppConfig


class AnomaliesConfig(AppConfig):
    name = "anomalies"
    role_permissions = {}
    staff_nav = []
