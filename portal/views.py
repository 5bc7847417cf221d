"""The customer portal: thin views over selectors scoped to the signed-in customer.

Every view takes its customer from `customer_required` (request.customer, the login's own account)
and fetches anything else through helpers that take that customer, so another customer's bill id is
a 404 by construction.
"""

import csv
from urllib.parse import urlencode

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_http_methods

from accounts.roles import customer_required
from accounts.services import customer_update_contact, customer_update_delivery
from anomalies.selectors import open_notices_for_customer
from billing.customer_account import amount_due, payment_link
from billing.documents import bill_document_context, render_bill_pdf
from billing.selectors import bill_for_customer, bills_for_customer

from . import selectors
from .forms import ContactForm, DeliveryForm, PreferencesForm


def _unit(request) -> str:
    """CCF or gallons: a choice in the query string is remembered for the session."""
    chosen = request.GET.get("unit")
    if chosen in selectors.UNITS:
        request.session["portal_unit"] = chosen
        return chosen
    return request.session.get("portal_unit", "ccf")


@customer_required
def dashboard(request):
    customer, today, unit = request.customer, timezone.localdate(), _unit(request)
    version = selectors.data_version(customer)
    series = selectors.dashboard_series(customer=customer, today=today)
    this_month = today.replace(day=1)
    current = series.rows[-1] if series.rows and series.rows[-1].start == this_month else None
    context = {
        "today": today,
        "unit": unit,
        "current": current,
        "current_gallons": selectors.to_gallons(current.usage_ccf) if current else None,
        "forecast": selectors.cached_anticipated_bill(customer=customer, today=today, version=version),
        "last_bill": bills_for_customer(customer).first(),
        **_account(customer, today),
        "notices": open_notices_for_customer(customer),
        "alerts": selectors.alerts_for_dashboard(customer, today),
        "comparison": selectors.comparison_for(customer, series, today),
        "series": series,
        "chart_url": _chart_url("dashboard", unit, selectors.chart_version(series, version)),
        "chart_summary": selectors.chart_text(series, unit),
    }
    return render(request, "portal/dashboard.html", context)


def _account(customer, today) -> dict:
    """The dashboard's lead: what is due now, by when, the last payment and the payment link."""
    due = amount_due(customer, today=today)
    return {"due": due, "payment_url": payment_link(customer, due.due_now) if due.due_now else ""}


@customer_required
def usage(request):
    customer, today, unit = request.customer, timezone.localdate(), _unit(request)
    range_key = request.GET.get("range") if request.GET.get("range") in selectors.RANGES else "12m"
    series = selectors.usage_series(customer=customer, range_key=range_key, today=today)
    version = selectors.data_version(customer)
    context = {
        "unit": unit,
        "range_key": range_key,
        "ranges": selectors.RANGES,
        "series": series,
        "rows": list(reversed(series.rows)),  # the table reads newest first
        "chart_url": _chart_url(range_key, unit, selectors.chart_version(series, version, customer)),
        "chart_summary": selectors.chart_text(series, unit),
    }
    return render(request, "portal/usage.html", context)


@customer_required
def chart(request, chart):
    """A chart as an SVG image, for <picture> (the page's size picks "wide" or "narrow"). The URL
    carries the data version, so the browser may keep it for good; the server draws it once."""
    customer, today = request.customer, timezone.localdate()
    series = selectors.chart_series(customer=customer, chart=chart, today=today)
    size, unit = request.GET.get("size"), request.GET.get("unit")
    if series is None or size not in selectors.SIZES or unit not in selectors.UNITS:
        raise Http404("No such chart.")
    version = selectors.chart_version(series, selectors.data_version(customer), customer)
    highlight = series.highlighted if chart == "dashboard" else None
    svg = selectors.usage_chart(
        customer=customer, series=series, unit=unit, version=version, highlight=highlight, size=size
    )
    response = HttpResponse(svg, content_type="image/svg+xml")
    fresh = request.GET.get("v") == version
    response["Cache-Control"] = "private, max-age=31536000, immutable" if fresh else "private, no-cache"
    return response


def _chart_url(chart: str, unit: str, version: str) -> str:
    return reverse("portal:chart", args=[chart]) + "?" + urlencode({"unit": unit, "v": version})


@customer_required
def usage_csv(request):
    customer, today = request.customer, timezone.localdate()
    range_key = request.GET.get("range") if request.GET.get("range") in selectors.RANGES else "all"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    filename = f"hydrospark-usage-{customer.location_id}-{range_key}.csv"
    response["Content-Disposition"] = content_disposition_header(True, filename)  # quoted, never raw
    writer = csv.writer(response, lineterminator="\n")
    writer.writerow(["date", "usage_ccf", "usage_gallons"])
    for day, ccf, gallons in selectors.reads_for_download(customer=customer, range_key=range_key, today=today):
        writer.writerow([day.isoformat(), f"{ccf:.4f}", f"{gallons:.2f}"])
    return response


@customer_required
def bills(request):
    return render(request, "portal/bills.html", {"bills": list(bills_for_customer(request.customer))})


@customer_required
def bill_detail(request, pk):
    bill = bill_for_customer(request.customer, pk)
    return render(request, "portal/bill.html", bill_document_context(bill))


@customer_required
def bill_pdf(request, pk):
    bill = bill_for_customer(request.customer, pk)
    response = HttpResponse(render_bill_pdf(bill), content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, f"HydroSpark-bill-{bill.number}.pdf")
    return response


@customer_required
@require_http_methods(["GET", "POST"])
def profile(request):
    customer = request.customer
    contact = ContactForm(initial={"phone": customer.phone, "mailing_address": customer.mailing_address})
    forms = {
        "contact": contact,
        "delivery": DeliveryForm(
            initial={"bill_delivery": customer.bill_delivery, "billing_email": customer.bill_email}
        ),
        "preferences": PreferencesForm(initial={"notify_usage_alerts": customer.notify_usage_alerts}),
    }
    if request.method == "POST":
        name = request.POST.get("form") if request.POST.get("form") in forms else "contact"
        form = type(forms[name])(request.POST)
        if form.is_valid():
            messages.success(request, _saved_message(name, _profile_save(name, customer, request.user, form)))
            return redirect("portal:profile")
        forms[name] = form
    return render(request, "portal/profile.html", forms)


def _profile_save(name: str, customer, user, form) -> dict:
    if name == "delivery":
        return customer_update_delivery(customer=customer, actor=user, data=form.cleaned_data)
    return customer_update_contact(customer=customer, actor=user, data=form.cleaned_data, fields=tuple(form.fields))


SAVED = {
    "contact": "Contact details saved.",
    "delivery": "Your bill delivery choice is saved.",
    "preferences": "Your notification choices are saved.",
}


def _saved_message(name: str, changes) -> str:
    return SAVED[name] if changes else "Nothing to change: your details were already up to date."
