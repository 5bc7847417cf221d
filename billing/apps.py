from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    role_permissions = {}
    staff_nav = []
