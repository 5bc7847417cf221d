"""Staff pages: thin doors onto accounts/metering/billing/anomalies selectors and services (SPEC §5)."""

import csv
import datetime

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_POST

from accounts.exceptions import AccountError
from accounts.roles import Role, capability_required, staff_required, user_can, user_roles
from accounts.selectors import SEARCH_LIMIT, audit_choices, audit_events, customer_by_location, customer_search
from accounts.services import customer_update_contact, customer_update_delivery

from . import analytics, charts, selectors
from .analytics import spreadsheet_safe
from .forms import AuditFilterForm, ContactForm, CustomerSearchForm, DeliveryRequestForm, NoteForm
from .services import StaffError, staff_note_add

AUDIT_PAGE_SIZE = 50
CUSTOMER_HISTORY = 20


@staff_required
def home(request):
    """Each role's starting page (SPEC §5): Operations' runs, Billing's period, Support's search."""
    roles = user_roles(request.user)
    context = {"search_form": CustomerSearchForm(), "today": timezone.localdate()}
    if Role.OPERATIONS in roles:
        context["operations"] = selectors.operations_summary()
    if Role.BILLING in roles:
        context["billing"] = selectors.billing_summary(today=context["today"])
    if Role.SUPPORT in roles:
        context["recent_changes"] = audit_events(action="customer.update")[:8]
    return render(request, "staff/home.html", context)


@capability_required("view_customers")
def customer_search_page(request):
    form = CustomerSearchForm(request.GET or None)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    results = customer_search(query=query) if query else []
    if len(results) == 1 and query == results[0].location_id:  # a location id leads straight to its page
        return redirect("staff:customer", location_id=query)
    context = {"form": form, "query": query, "results": results, "limit": SEARCH_LIMIT}
    return render(request, "staff/customer_search.html", context)


@capability_required("view_customers")
def customer_page(request, location_id):
    customer = customer_by_location(location_id=location_id)
    today = timezone.localdate()
    context = {
        "customer": customer,
        "today": today,
        "usage": selectors.customer_usage(customer=customer, today=today),
        "notes": customer.staff_notes.all()[:50],
        "note_form": NoteForm(),
        "history": audit_events(customer=customer)[:CUSTOMER_HISTORY],
        "history_limit": CUSTOMER_HISTORY,
        "can_edit": user_can(request.user, "edit_customer_contact"),
        **selectors.customer_billing(customer=customer, today=today),
        "can_adjust": user_can(request.user, "manage_bills"),
        **selectors.customer_anomalies(customer=customer),
    }
    return render(request, "staff/customer_detail.html", context)


@capability_required("view_customers")
def customer_usage_chart(request, location_id):
    customer = customer_by_location(location_id=location_id)
    svg = selectors.customer_usage_svg(customer=customer, today=timezone.localdate())
    return _svg(svg)


@capability_required("edit_customer_contact")
def customer_edit(request, location_id):
    customer = customer_by_location(location_id=location_id)
    form = ContactForm(request.POST or None, instance=customer)
    if request.method == "POST" and form.is_valid():
        # the form has written the new values onto `customer`: compare against a fresh copy
        before = customer_by_location(location_id=location_id)
        changes = customer_update_contact(customer=before, actor=request.user, data=form.cleaned_data)
        if changes:
            messages.success(request, f"Saved: {', '.join(f.replace('_', ' ') for f in changes)}.")
        else:
            messages.info(request, "Nothing changed.")
        return redirect("staff:customer", location_id=before.location_id)
    initial = {"billing_email": customer.bill_email, "bill_delivery": customer.bill_delivery}
    delivery = DeliveryRequestForm(initial=initial)
    return render(request, "staff/customer_edit.html", {"customer": customer, "form": form, "delivery": delivery})


@capability_required("edit_customer_contact")
def customer_delivery(request, location_id):
    """Support records the customer's request about their bills: billing email and delivery choice."""
    customer = customer_by_location(location_id=location_id)
    form = DeliveryRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        note = data.pop("request_note")
        try:
            changes = customer_update_delivery(customer=customer, actor=request.user, data=data, request_note=note)
        except AccountError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, "Saved the customer's request." if changes else "Nothing changed.")
            return redirect("staff:customer", location_id=customer.location_id)
    contact = ContactForm(instance=customer)
    return render(request, "staff/customer_edit.html", {"customer": customer, "form": contact, "delivery": form})


@require_POST
@capability_required("view_customers")
def customer_note_add(request, location_id):
    customer = customer_by_location(location_id=location_id)
    form = NoteForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
    else:
        try:
            staff_note_add(customer=customer, author=request.user, body=form.cleaned_data["body"])
            messages.success(request, "Note added.")
        except StaffError as error:
            messages.error(request, str(error))
    return redirect(f"{customer_page_url(customer)}#notes")


def customer_page_url(customer) -> str:
    return reverse("staff:customer", kwargs={"location_id": customer.location_id})


@capability_required("view_analytics")
def analytics_page(request):
    today = timezone.localdate()
    snapshots = analytics.analytics_snapshots(today=today)
    tables = [table for shot in snapshots if shot is not None for table in shot.tables.values()]
    context = {
        "tables": tables,
        "snapshots": [shot for shot in snapshots if shot is not None],
        "pending": any(shot is None for shot in snapshots),
        "today": today,
        "charts": charts.ANALYTICS,
    }
    return render(request, "staff/analytics.html", context)


@capability_required("view_analytics")
def analytics_csv(request, slug):
    found = analytics.analytics_table(slug=slug, today=timezone.localdate())
    if found is None:
        raise Http404("No such table (or its figures are still being computed).")
    table, _snapshot = found
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{slug}-{timezone.localdate()}.csv")
    writer = csv.writer(response)
    writer.writerow(table.columns)
    writer.writerows(table.csv_rows())
    return response


@capability_required("view_analytics")
def analytics_chart(request, slug):
    svg = analytics.analytics_svg(slug=slug, today=timezone.localdate()) if slug in charts.ANALYTICS else None
    if svg is None:
        raise Http404("No such chart (or its figures are still being computed).")
    return _svg(svg)


@staff_required
def audit_trail(request):
    actions, target_types = audit_choices()
    form = AuditFilterForm(request.GET or None, actions=actions, target_types=target_types)
    events = audit_events(**form.cleaned_data) if form.is_valid() else audit_events()
    if form.is_bound and not form.is_valid():
        events = events.none()
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode(), "filtered": form.is_bound}
    return render(request, "staff/audit.html", context)


@staff_required
def audit_csv(request):
    actions, target_types = audit_choices()
    form = AuditFilterForm(request.GET or None, actions=actions, target_types=target_types)
    if form.is_bound and not form.is_valid():
        return HttpResponse("Invalid filters: " + form.errors.as_text(), status=400, content_type="text/plain")
    events = audit_events(**(form.cleaned_data if form.is_bound else {}))
    rows = events.values_list(
        "at", "actor_label", "action", "target_type", "target_id", "target_repr", "customer__location_id", "summary"
    )
    header = ["at", "actor", "action", "target_type", "target_id", "target", "location_id", "summary"]
    writer = csv.writer(_Echo())
    lines = (
        writer.writerow([_local(r[0]), *(spreadsheet_safe(v) if v else "" for v in r[1:])])
        for r in rows.iterator(chunk_size=2_000)
    )
    response = StreamingHttpResponse(
        (line for chunk in ([writer.writerow(header)], lines) for line in chunk), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = content_disposition_header(True, f"audit-{timezone.localdate()}.csv")
    return response


class _Echo:
    def write(self, value):
        return value


def _local(at: datetime.datetime) -> str:
    return timezone.localtime(at).isoformat(timespec="seconds")


def _svg(svg: bytes) -> HttpResponse:
    response = HttpResponse(svg, content_type="image/svg+xml")
    response["Cache-Control"] = "private, max-age=300"
    # the SVG is ours, but an image answer should never run script even if opened directly
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
    return response
