from django.apps import AppConfig


class StaffConfig(AppConfig):
    """Internal pages for Operations, Billing and Support: each role's home, customers, analytics."""

    name = "staff"
    verbose_name = "Staff workspace"
    staff_nav = []
