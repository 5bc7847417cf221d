from django.apps import AppConfig

_RATES = ["rateschedule", "ratetier", "seasonalmultiplier", "ratefee"]
_RECORDS = ["bill", "billline", "billrun", "payment", "ledgerentry", "paymentimport"]


def _perms(verbs, models):
    return [f"billing.{verb}_{model}" for model in models for verb in verbs]


class BillingConfig(AppConfig):
    """Rate schedules, bill runs, bills, payments, bill documents and sending (SPEC §2)."""

    name = "billing"
    # Billing edits rates and records payments in the admin; bills are written by bill runs only, so
    # nobody gets add/delete on them there. Everyone on staff may look.
    role_permissions = {
        "Billing": _perms(["add", "change", "delete", "view"], _RATES)
        + _perms(["view"], _RECORDS)
        + ["billing.add_payment", "billing.change_payment", "billing.change_bill"],
        "Operations": _perms(["view"], _RATES + _RECORDS),
        "Support": _perms(["view"], _RATES + _RECORDS),
    }
    staff_nav = [
        ("Bills", "billing:bills", "view_bills"),
        ("Bill runs", "billing:runs", "manage_bills"),
        ("Payment imports", "billing:payment_imports", "import_payments"),
    ]

    def ready(self):
        from . import receivers  # noqa: F401  (connects the reads_corrected receiver)
