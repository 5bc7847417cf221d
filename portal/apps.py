from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    role_permissions = {}
    staff_nav = []
