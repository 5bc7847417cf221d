"""Billing's admin actions on the account (SPEC §2a), for billing/admin.py: cancel (and reissue) selected
bills, and reverse selected adjustments. Each calls the same service as the staff pages, so the same
refusals and audit apply; only Billing sees them (permissions=["manage_bills"])."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from accounts.roles import user_can

from .adjustments import adjustment_record
from .exceptions import BillingError
from .forms import CancelBillForm
from .models import AdjustmentReason, LedgerEntry
from .rebilling import bill_cancel, bill_rebill

SHOWN = 200  # bills listed on the confirmation page


def _check(request) -> None:
    if not user_can(request.user, "manage_bills"):  # the action list hides it; this guards a forged request
        raise PermissionDenied("Only Billing cancels bills and reverses adjustments.")


@admin.action(description="Cancel selected bills…", permissions=["manage_bills"])
def cancel_bills(modeladmin, request, queryset):
    """A confirmation page asks the reason (and whether to reissue); then each bill is cancelled in turn."""
    _check(request)
    form = CancelBillForm(request.POST if "reason" in request.POST else None)
    bills = list(queryset.select_related("customer").order_by("period", "customer__location_id"))
    if not form.is_bound or not form.is_valid():
        context = {
            **modeladmin.admin_site.each_context(request),
            "opts": modeladmin.model._meta,
            "form": form,
            "bills": bills[:SHOWN],
            "count": len(bills),
            "pks": [bill.pk for bill in bills],
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "billing/admin_cancel.html", context)
    reason, rebill = form.cleaned_data["reason"], form.cleaned_data["rebill"]
    for bill in bills:
        try:
            if rebill:
                new = bill_rebill(bill=bill, reason=reason, actor=request.user)
                modeladmin.message_user(request, f"{bill} cancelled; {new} issued in its place.", messages.SUCCESS)
            else:
                bill_cancel(bill=bill, reason=reason, actor=request.user)
                modeladmin.message_user(request, f"{bill} cancelled.", messages.SUCCESS)
        except BillingError as error:
            modeladmin.message_user(request, f"{bill}: {error}", messages.ERROR)
    return None


@admin.action(description="Reverse selected adjustments", permissions=["manage_bills"])
def reverse_adjustments(modeladmin, request, queryset):
    """An entry is never edited: a mistaken adjustment is put right by its opposite (a correction)."""
    _check(request)
    for entry in queryset.select_related("customer").order_by("id"):
        try:
            reversal = adjustment_reverse(entry=entry, actor=request.user)
        except BillingError as error:
            modeladmin.message_user(request, f"Entry #{entry.pk}: {error}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"Entry #{entry.pk} reversed by entry #{reversal.pk}.", messages.SUCCESS)


def adjustment_reverse(*, entry: LedgerEntry, actor=None, actor_label: str = "") -> LedgerEntry:
    """Record the opposite of an adjustment, dated today, with a note naming it; once per adjustment."""
    if entry.kind != LedgerEntry.Kind.ADJUSTMENT:
        raise BillingError("Only adjustments are reversed here: a bill is cancelled, a payment refunded.")
    marker = f"Reverses adjustment #{entry.pk}"
    if LedgerEntry.objects.filter(customer_id=entry.customer_id, note__startswith=marker).exists():
        raise BillingError("it was reversed already.")
    if entry.note.startswith("Reverses adjustment #"):
        raise BillingError("it is itself a reversal: record a new adjustment instead.")
    return adjustment_record(
        customer=entry.customer,
        amount=-entry.amount,
        reason=AdjustmentReason.CORRECTION,
        note=f"{marker} ({entry.get_reason_display()}, {entry.entry_date:%Y-%m-%d}): {entry.note}"[:2000],
        actor=actor,
        actor_label=actor_label,
    )
