"""Operations' incident queue and incident pages (SPEC §3a, §5): every staff role looks; Operations resolve,
contact the customer and offer a leak allowance; Billing credits or declines the offer."""

import datetime
import hashlib

from django.contrib import messages
from django.core.cache import cache
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from accounts.roles import capability_required, user_can
from metering.charts import chart_summary, daily_usage_chart, inline_svg
from metering.selectors import daily_usage

from . import selectors
from .exceptions import AnomalyError
from .forms import (
    AllowanceDecisionForm,
    AllowanceOfferForm,
    BulkIncidentReviewForm,
    ContactForm,
    DetailReviewForm,
    IncidentFilterForm,
    RunForm,
)
from .incident_services import (
    incident_allowance_decide,
    incident_allowance_offer,
    incident_contact_record,
    incidents_review,
)
from .models import Incident, IncidentContact, Kind

PAGE_SIZE = 50
CHART_MARGIN_DAYS = 30


@capability_required("view_anomalies")
def queue(request):
    form = IncidentFilterForm(request.GET or IncidentFilterForm.DEFAULT)
    incidents = selectors.incident_queue(**form.queue_filters()) if form.is_valid() else Incident.objects.none()
    page = Paginator(incidents, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "can_review": user_can(request.user, "review_anomalies"),
        "bulk_form": BulkIncidentReviewForm(),
        "run_form": RunForm(),
        "counts": selectors.open_incident_counts(),
        "runs": selectors.recent_runs(limit=3),
    }
    return render(request, "anomalies/incident_queue.html", context)


def _incident(pk) -> Incident:
    return get_object_or_404(Incident.objects.select_related("customer__user", "reviewed_by"), pk=pk)


@capability_required("view_anomalies")
def incident(request, pk):
    incident = _incident(pk)
    days = selectors.incident_days(incident)
    back = request.GET.get("back", "")
    context = {
        "incident": incident,
        "days": days,
        "chart": _chart(incident, [day["date"] for day in days]),
        "history": selectors.customer_incident_history(incident),
        "contacts": list(incident.contacts.select_related("contacted_by")),
        "can_review": user_can(request.user, "review_anomalies"),
        "can_credit": user_can(request.user, "manage_bills"),
        "review_form": DetailReviewForm(initial={"resolution": incident.resolution, "note": incident.note}),
        "contact_form": ContactForm(),
        "channels": IncidentContact.Channel.choices,
        "offer_amount": incident.allowance_amount or incident.estimated_cost,
        "is_leak": incident.kind == Kind.LEAK,
        "back": back if back.startswith("?") else "",
    }
    return render(request, "anomalies/incident.html", context)


def _chart(incident: Incident, marks: list[datetime.date]) -> dict:
    """The customer's daily use from a month before the incident to a month after, its days marked (cached)."""
    margin = datetime.timedelta(days=CHART_MARGIN_DAYS)
    reads = daily_usage(customer=incident.customer, start=incident.start - margin, end=incident.end + margin)
    points = [(r.read_date, r.usage_ccf) for r in reads]
    key = "incident-chart:" + hashlib.sha256(repr((incident.customer_id, points, marks)).encode()).hexdigest()
    svg = cache.get(key)
    if svg is None:
        svg = daily_usage_chart(points, mark_date=marks)
        cache.set(key, svg, 24 * 3600)
    label = f"chart-summary-incident-{incident.pk}"
    return {"svg": inline_svg(svg, label_id=label), "summary": chart_summary(points), "label_id": label}


def _done(request, pk, error: AnomalyError | None, success: str):
    if error:
        messages.error(request, str(error))
    else:
        messages.success(request, success)
    return redirect("anomalies:incident", pk=pk)


def _errors(form) -> str:
    return " ".join(e for errors in form.errors.values() for e in errors)


@require_POST
@capability_required("review_anomalies")
def review(request, pk):
    incident = _incident(pk)
    form = DetailReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a resolution.")
        return redirect("anomalies:incident", pk=pk)
    try:
        incidents_review(incidents=[incident], reviewer=request.user, **_review_data(form))
    except AnomalyError as error:
        return _done(request, pk, error, "")
    messages.success(request, f"Incident resolved: {incident.get_resolution_display()}; its days are reviewed too.")
    back = request.POST.get("back", "")
    return redirect(reverse("anomalies:queue") + (back if back.startswith("?") else ""))


def _review_data(form) -> dict:
    return {"resolution": form.cleaned_data["resolution"], "note": form.cleaned_data["note"]}


@require_POST
@capability_required("review_anomalies")
def bulk_review(request):
    form = BulkIncidentReviewForm(request.POST)
    back = request.POST.get("back", "")
    target = reverse("anomalies:queue") + (back if back.startswith("?") else "")
    if not form.is_valid():
        messages.error(request, _errors(form))
        return redirect(target)
    try:
        done = incidents_review(incidents=form.cleaned_data["incidents"], reviewer=request.user, **_review_data(form))
    except AnomalyError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            f"{len(done)} incident{'' if len(done) == 1 else 's'} resolved: {done[0].get_resolution_display()}.",
        )
    return redirect(target)


@require_POST
@capability_required("review_anomalies")
def contact(request, pk):
    incident = _incident(pk)
    form = ContactForm(request.POST)
    if not form.is_valid():
        return _done(request, pk, AnomalyError("Say how you contacted the customer and what was said."), "")
    try:
        incident_contact_record(incident=incident, user=request.user, **form.cleaned_data)
    except AnomalyError as error:
        return _done(request, pk, error, "")
    return _done(request, pk, None, "Contact recorded.")


@require_POST
@capability_required("review_anomalies")
def allowance_offer(request, pk):
    incident = _incident(pk)
    form = AllowanceOfferForm(request.POST)
    if not form.is_valid():
        return _done(request, pk, AnomalyError("Give the allowance as a positive amount in dollars and cents."), "")
    try:
        incident_allowance_offer(incident=incident, user=request.user, **form.cleaned_data)
    except AnomalyError as error:
        return _done(request, pk, error, "")
    return _done(request, pk, None, "Leak allowance offered: Billing will credit it to the account or decline it.")


@require_POST
@capability_required("manage_bills")
def allowance_decide(request, pk):
    incident = _incident(pk)
    form = AllowanceDecisionForm(request.POST)
    if not form.is_valid():
        return _done(request, pk, AnomalyError("Choose to credit or decline the allowance."), "")
    post = form.cleaned_data["decision"] == "post"
    try:
        incident_allowance_decide(incident=incident, user=request.user, post=post, note=form.cleaned_data["note"])
    except AnomalyError as error:
        return _done(request, pk, error, "")
    return _done(request, pk, None, "Leak allowance credited to the account." if post else "Leak allowance declined.")
