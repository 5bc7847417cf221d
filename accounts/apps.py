from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and customers"
    role_permissions = {
        "Operations": ["accounts.view_customer", "accounts.view_auditevent"],
        "Billing": ["accounts.view_customer", "accounts.view_auditevent"],
        "Support": ["accounts.view_customer", "accounts.change_customer", "accounts.view_auditevent"],
    }
    # Links in the staff navigation: (label, url name, capability). Each app declares its own.
    staff_nav = []

    def ready(self):
        from .roles import sync_role_permissions

        # Runs after every app's post_migrate so that permissions of apps migrated later exist too.
        post_migrate.connect(sync_role_permissions, dispatch_uid="accounts.sync_role_permissions")
