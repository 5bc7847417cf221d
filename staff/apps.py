from django.apps import AppConfig


class StaffConfig(AppConfig):
    """Internal pages for Operations, Billing and Support: each role's home, customers, analytics, audit."""

    name = "staff"
    verbose_name = "Staff workspace"
    role_permissions = {
        "Operations": ["staff.view_staffnote"],
        "Billing": ["staff.view_staffnote"],
        "Support": ["staff.view_staffnote"],
    }
    staff_nav = [
        ("Customers", "staff:customers", "view_customers"),
        ("Analytics", "staff:analytics", "view_analytics"),
        ("Audit trail", "staff:audit", "view_customers"),
    ]
