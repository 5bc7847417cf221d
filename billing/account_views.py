"""Billing's staff pages for the account (SPEC §2a): adjustments, cancelling a bill, rebilling a period's
corrected bills. Thin: each calls billing.adjustments or billing.rebilling; BillingError becomes a message.
Only Billing reaches them (403 for other staff)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.models import Customer
from accounts.roles import capability_required

from . import rebilling
from .adjustments import adjustment_record
from .exceptions import BillingError
from .forms import AdjustmentForm, CancelBillForm, RebillForm
from .models import Bill


def _customer_url(customer: Customer) -> str:
    return reverse("staff:customer", kwargs={"location_id": customer.location_id})


@capability_required("manage_bills")
def adjustment_add(request, location_id):
    customer = get_object_or_404(Customer, location_id=location_id)
    form = AdjustmentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            entry = adjustment_record(
                customer=customer,
                amount=form.signed_amount(),
                reason=data["reason"],
                note=data["note"],
                entry_date=data["entry_date"],
                actor=request.user,
            )
        except BillingError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, f"{entry.get_reason_display()} of ${abs(entry.amount):,.2f} recorded.")
            return redirect(_customer_url(customer) + "#ledger")
    return render(request, "billing/adjustment_form.html", {"customer": customer, "form": form})


@require_POST
@capability_required("manage_bills")
def bill_cancel(request, pk):
    """Cancel a bill from its page; with "rebill" ticked the corrected bill is issued at once."""
    bill = get_object_or_404(Bill, pk=pk)
    form = CancelBillForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Bill not cancelled: say why (the reason is kept with the bill).")
        return redirect("billing:bill", pk=pk)
    reason = form.cleaned_data["reason"]
    try:
        if form.cleaned_data["rebill"]:
            new = rebilling.bill_rebill(bill=bill, reason=reason, actor=request.user)
        else:
            rebilling.bill_cancel(bill=bill, reason=reason, actor=request.user)
    except BillingError as error:
        messages.error(request, str(error))
        return redirect("billing:bill", pk=pk)
    if form.cleaned_data["rebill"]:
        messages.success(request, f"Bill {bill.number} cancelled; corrected bill {new.number} issued.")
        return redirect("billing:bill", pk=new.pk)
    messages.success(request, f"Bill {bill.number} cancelled: its total is reversed on the account.")
    return redirect("billing:bill", pk=pk)


@capability_required("manage_bills")
def rebill(request):
    """GET: the period's corrected bills and their differences (a dry run); POST: rebill them."""
    data = request.POST if request.method == "POST" else request.GET
    form = RebillForm(data if "period" in data else None)
    context = {"form": form, "pending": rebilling.periods_with_corrections()}
    if form.is_bound and form.is_valid():
        period, locations = form.cleaned_data["period"], form.cleaned_data["locations"]
        if request.method == "POST":
            return _rebill_period(request, period, locations)
        context["report"] = rebilling.period_rebill(period=period, location_ids=locations, dry_run=True)
    return render(request, "billing/rebill.html", context)


def _rebill_period(request, period, locations):
    try:
        report = rebilling.period_rebill(period=period, location_ids=locations, actor=request.user)
    except BillingError as error:
        messages.error(request, str(error))
    else:
        level = messages.success if report.rebilled else messages.info
        level(request, report.summary() + ".")
    query = f"?period={period:%Y-%m}" + (f"&locations={' '.join(locations)}" if locations else "")
    return redirect(reverse("billing:rebill") + query)
