"""Staff pages for billing (/staff/billing/): bill runs (preview, issue, send), bills, payments.
Thin: every action calls billing.services; BillingError becomes a message."""

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from accounts.roles import capability_required, user_can
from hydrospark.query import QueryParams

from . import runs as bill_runs
from . import selectors, services, tasks
from .delivery import bills_for_paper, delivery_report
from .documents import bill_document_context, render_bill_pdf
from .exceptions import BillingError
from .forms import PaymentForm, PeriodForm
from .models import Bill, BillRun, PaymentStatus

BACKGROUND_THRESHOLD = 2_000  # customers in scope above which a run goes to the background worker
PREVIEW_ROWS = 50


def _scope_query(period, cycles) -> str:
    return urlencode({"period": f"{period:%Y-%m}", "cycles": ", ".join(map(str, cycles))})


@capability_required("manage_bills")
def runs(request):
    """The bill-run page: pick a period and cycles; the preview of that period; recent runs."""
    form = PeriodForm(request.GET or None)
    context = {"form": form, "recent": BillRun.objects.select_related("requested_by")[:15]}
    if form.is_bound and form.is_valid():
        period, cycles = form.cleaned_data["period"], form.cleaned_data["cycles"]
        context.update(_preview(period, cycles))
    return render(request, "billing/runs.html", context)


def _preview(period, cycles) -> dict:
    bills = selectors.bills_for_period(period=period, cycles=cycles)
    missing = selectors.customers_without_reads(period=period, cycles=cycles)
    return {
        "period": period,
        "cycles": cycles,
        "scope_query": _scope_query(period, cycles),
        "summary": selectors.period_summary(period=period, cycles=cycles),
        "missing_count": missing.count(),
        "missing": missing[:PREVIEW_ROWS],
        "partial": bills.filter(days_read__lt=F("days_in_period")).select_related("customer")[:PREVIEW_ROWS],
        "implausible": selectors.implausible_bills(period=period, cycles=cycles)[:PREVIEW_ROWS],
        "active": bill_runs.active_run(period),
        "preview_rows": PREVIEW_ROWS,
        "delivery": delivery_report(period=period),
    }


@require_POST
@capability_required("manage_bills")
def run_action(request):
    """Compute drafts, issue or send, for the period and cycles posted; big scopes go to the worker."""
    form = PeriodForm(request.POST)
    action = request.POST.get("action")
    if not form.is_valid() or action not in BillRun.Action.values:
        messages.error(request, "Choose a valid period, cycles and action. " + " ".join(form.errors.get("period", [])))
        return redirect("billing:runs")
    period, cycles = form.cleaned_data["period"], form.cleaned_data["cycles"]
    back = f"{reverse('billing:runs')}?{_scope_query(period, cycles)}"
    active = bill_runs.active_run(period)
    if active is not None:
        messages.warning(request, f"A run for {period:%Y-%m} is already in progress: wait for it to finish.")
        return redirect("billing:run", pk=active.pk)
    if action == BillRun.Action.ISSUE and (confirmation := _issue_confirmation(request, period, cycles)):
        return confirmation
    reprint = action == BillRun.Action.PRINT and request.POST.get("reprint") == "1"
    if reprint and request.POST.get("confirm") != "reprint":
        return _reprint_confirmation(request, period, cycles)
    scope = selectors.customers_in_scope(cycles=cycles).count()
    # Sending and printing always go to the worker: each bill is a PDF, made while nobody waits.
    if action in (BillRun.Action.SEND, BillRun.Action.PRINT) or scope > BACKGROUND_THRESHOLD:
        return _queue(request, back, period=period, cycles=cycles, action=action, reprint=reprint)
    try:
        if action == BillRun.Action.COMPUTE:
            figures = services.bill_run_compute(period=period, cycles=cycles, actor=request.user)
            messages.success(request, "Drafts ready: " + figures.summary() + ".")
        else:
            issued = services.bill_run_issue(period=period, cycles=cycles, actor=request.user)
            messages.success(request, f"{issued} bills issued for {period:%B %Y}.")
    except BillingError as error:
        messages.error(request, str(error))
    return redirect(back)


def _issue_confirmation(request, period, cycles):
    """Issuing makes bills final, so the page asks once more with what will be issued: the count and the
    total. The answer carries them back; if the drafts changed in between (a recompute), it asks again."""
    summary = selectors.period_summary(period=period, cycles=cycles)
    expected = f"{summary['drafts']}:{summary['drafts_total']}"
    if not summary["drafts"] or request.POST.get("confirm") == expected:
        return None
    today = timezone.localdate()
    context = {
        "period": period,
        "cycles": cycles,
        "summary": summary,
        "expected": expected,
        "changed": "confirm" in request.POST,
        "issue_date": today,
        "due_date": today + datetime.timedelta(days=services.DUE_DAYS),
        "scope_query": _scope_query(period, cycles),
    }
    return render(request, "billing/run_confirm.html", context)


def _reprint_confirmation(request, period, cycles):
    """A reprint sends the mail house bills it has printed before (customers may get them twice), so the page
    asks first, with how many bills the file will hold and how many of them were printed already."""
    every = bills_for_paper(period=period, reprint=True)
    context = {
        "period": period,
        "cycles": cycles,
        "bills": len(every),
        "printed_before": len(every) - len(bills_for_paper(period=period)),
        "scope_query": _scope_query(period, cycles),
    }
    return render(request, "billing/reprint_confirm.html", context)


def _queue(request, back: str, **scope):
    try:
        run = bill_runs.bill_run_queue(actor=request.user, resend=request.POST.get("resend") == "1", **scope)
    except BillingError as error:
        messages.error(request, str(error))
        return redirect(back)
    return redirect("billing:run", pk=run.pk)


@require_POST
@capability_required("manage_bills")
def run_retry(request, pk):
    """Queue a failed run again (the sweep failed it when its worker died, or it failed on its own)."""
    run = get_object_or_404(BillRun, pk=pk)
    try:
        retry = bill_runs.bill_run_retry(run=run, actor=request.user)
    except BillingError as error:
        messages.error(request, str(error))
        return redirect("billing:run", pk=pk)
    messages.success(request, f"Run #{run.pk} queued again as run #{retry.pk}.")
    return redirect("billing:run", pk=retry.pk)


@capability_required("manage_bills")
def run_status(request, pk):
    """A run's progress (the page refreshes itself while the worker runs) and its report."""
    run = get_object_or_404(BillRun.objects.select_related("requested_by"), pk=pk)
    fraction, message = tasks.run_progress(run.pk)
    finished = run.status in (BillRun.Status.DONE, BillRun.Status.FAILED)
    return render(
        request,
        "billing/run_status.html",
        {
            "run": run,
            "percent": 100 if finished else int(fraction * 100),
            "message": message,
            "finished": finished,
            "stalled_minutes": bill_runs.stalled_minutes(run),
            "scope_query": _scope_query(run.period, run.cycles),
            "delivery": delivery_report(period=run.period) if finished else None,
            "print_file": getattr(run, "print_file", None),
        },
    )


@capability_required("view_bills")
def bill_list(request):
    bills = Bill.objects.with_payment_status().select_related("customer").order_by("-period", "customer__location_id")
    filters = {key: request.GET.get(key, "").strip() for key in ("period", "status", "payment", "q")}
    params = QueryParams(request.GET)  # bounded period, plain-text search: a bad value is a message
    period, q = params.month("period"), params.text("q")
    for error in params.errors:
        messages.error(request, error)
    if period:
        bills = bills.filter(period=period)
    if filters["status"] in Bill.Status.values:
        bills = bills.filter(status=filters["status"])
    if filters["payment"] in PaymentStatus.values:
        bills = bills.filter(payment_status=filters["payment"])
    if q:
        bills = bills.filter(customer__location_id=q) if q.isdigit() else bills.filter(customer__name__icontains=q)
    page = Paginator(bills, 50).get_page(request.GET.get("page"))
    query = urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "billing/bill_list.html",
        {
            "page": page,
            "filters": filters,
            "query": query,
            "statuses": Bill.Status.choices,
            "payment_statuses": PaymentStatus.choices,
        },
    )


def _staff_bill(pk) -> Bill:
    try:
        return selectors.bill_detail(Bill.objects.filter(pk=pk))
    except Bill.DoesNotExist:
        raise Http404("No such bill.") from None


@capability_required("view_bills")
def bill_detail(request, pk):
    bill = _staff_bill(pk)
    context = bill_document_context(bill)
    can_manage = user_can(request.user, "manage_bills")
    context.update(
        {
            "can_manage": can_manage,
            # a payment is to the account; the bill page offers what is still open of this bill
            "payment_form": PaymentForm(initial={"amount": bill.open_balance()})
            if can_manage and bill.is_issued and bill.open_balance() > 0
            else None,
            **_cancel_and_rebill(bill, can_manage),
        }
    )
    return render(request, "billing/bill_detail.html", context)


def _cancel_and_rebill(bill: Bill, can_manage: bool) -> dict:
    """The bill page's cancel form (Billing, issued bills) and the bills this one replaces or is replaced by."""
    from .forms import CancelBillForm

    return {
        "cancel_form": CancelBillForm() if can_manage and bill.is_issued else None,
        "replaces": Bill.objects.filter(pk=bill.replaces_id).only("pk", "number").first() if bill.replaces_id else None,
        "replaced_by": Bill.objects.filter(replaces=bill).only("pk", "number").first() if bill.number else None,
    }


@capability_required("view_bills")
def bill_pdf(request, pk):
    bill = _staff_bill(pk)
    response = HttpResponse(render_bill_pdf(bill), content_type="application/pdf")
    name = bill.number or f"draft-{bill.period:%Y-%m}-{bill.customer.location_id}"
    response["Content-Disposition"] = content_disposition_header(False, f"{name}.pdf")  # data in a header: quoted
    return response


@require_POST
@capability_required("manage_bills")
def payment_add(request, pk):
    """Record a payment (from the bill page or the customer's staff page: `next` says where to return)."""
    bill = get_object_or_404(Bill, pk=pk)
    form = PaymentForm(request.POST)
    back = _next_url(request, reverse("billing:bill", args=[bill.pk]))
    if not form.is_valid():
        errors = "; ".join(f"{form.fields[f].label}: {' '.join(e)}" for f, e in form.errors.items() if f in form.fields)
        messages.error(request, f"Payment not recorded. {errors or 'Check the form.'}")
        return redirect(back)
    try:
        payment = services.payment_record(customer=bill.customer, actor=request.user, **form.cleaned_data)
    except BillingError as error:
        messages.error(request, str(error))
    else:
        location = bill.customer.location_id
        messages.success(request, f"Payment of ${payment.amount:,.2f} recorded on {location}'s account.")
    return redirect(back)


@require_POST
@capability_required("manage_bills")
def bill_send(request, pk):
    bill = get_object_or_404(Bill.objects.select_related("customer", "customer__user"), pk=pk)
    resend = request.POST.get("resend") == "1"
    try:
        report = services.bill_send(bill=bill, resend=resend, actor=request.user)
    except BillingError as error:
        messages.error(request, str(error))
        return redirect("billing:bill", pk=pk)
    if report.sent:
        messages.success(request, f"Bill {bill.number} emailed to {bill.customer.bill_email}.")
    elif report.already_sent:
        messages.info(request, f"Bill {bill.number} was already sent; use “Send again” to resend it.")
    elif report.without_email:
        messages.warning(request, f"{bill.customer.name} has no billing email: the bill goes on paper (print_bills).")
    elif report.opted_out:
        messages.warning(request, f"{bill.customer.name} chose paper only: the bill goes on paper (print_bills).")
    else:
        messages.error(request, f"Sending failed: {report.failed[0][1]}")
    return redirect("billing:bill", pk=pk)


def _next_url(request, default: str) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default
