"""Staff pages for meter data: uploads and their history (Operations), a customer's reads (all staff)."""

import datetime

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Customer
from accounts.roles import capability_required, user_can

from .exceptions import MeterImportError
from .forms import LocationForm, ReadsFilterForm, UploadForm
from .models import ImportRun, ImportSource, ImportStatus
from .progress import mark_stalled, stale_after
from .selectors import corrections_for_run, customer_reads, import_progress, import_runs, usage_totals
from .services import import_retry_refusal, import_run_retry, meter_upload_create

RUNS_PER_PAGE = 25
READS_PER_PAGE = 100
CORRECTIONS_SHOWN = 200


@capability_required("import_meter_data")
def imports(request):
    """Upload a meter export (imported in the background) and the history of imports."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        run = meter_upload_create(
            uploaded_file=form.cleaned_data["file"], actor=request.user, atomic=form.cleaned_data["atomic"]
        )
        messages.info(request, f"{run.file_name} is uploaded; the import is running in the background.")
        return redirect("metering:import", pk=run.pk)
    page = Paginator(import_runs(), RUNS_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = mark_stalled(page.object_list)
    for run in page.object_list:  # the service checks again (e.g. that the file is still stored) on retry
        ended_badly = run.stalled or run.status == ImportStatus.FAILED
        run.offer_retry = ended_badly and run.source == ImportSource.UPLOAD and not run.retried
    return render(
        request,
        "metering/imports.html",
        {
            "form": form,
            "page": page,
            "max_mb": form.max_bytes() >> 20,
            "stale_minutes": _stale_minutes(),
            "any_stalled": any(run.stalled for run in page.object_list),
        },
    )


def _stale_minutes() -> int:
    return int(stale_after().total_seconds() // 60)


@capability_required("import_meter_data")
def import_detail(request, pk: int):
    run = get_object_or_404(ImportRun.objects.select_related("actor", "retry_of"), pk=pk)
    (run,) = mark_stalled([run])
    failed = run.status == ImportStatus.FAILED
    corrections = corrections_for_run(run)[: CORRECTIONS_SHOWN + 1] if run.reads_corrected else []
    retried_as = run.retries.order_by("-id").first() if failed else None
    return render(
        request,
        "metering/import_detail.html",
        {
            "run": run,
            "progress": import_progress(run),
            "retried_as": retried_as,
            "can_retry": (run.stalled or failed) and not import_retry_refusal(run, run.live),
            "stale_minutes": _stale_minutes(),
            "corrections": corrections[:CORRECTIONS_SHOWN],
            "contact_differences": _contact_differences(run)[:CORRECTIONS_SHOWN],
            "more_contact_differences": len(run.contact_differences) > CORRECTIONS_SHOWN,
            "more_corrections": len(corrections) > CORRECTIONS_SHOWN,
            # billing's rebill page is linked by URL name only: metering never imports billing
            "can_rebill": user_can(request.user, "manage_bills"),
        },
    )


def _contact_differences(run: ImportRun) -> list[dict]:
    labels = {"name": "Name", "mailing_address": "Mailing address", "phone": "Phone"}
    named = (labels.get(d["field"], d["field"].replace("_", " ").capitalize()) for d in run.contact_differences)
    return [{**d, "label": label} for d, label in zip(run.contact_differences, named, strict=True)]


@require_POST
@capability_required("import_meter_data")
def import_retry(request, pk: int):
    """Import a stalled or failed upload's stored file again, as a new import (the same service and task)."""
    run = get_object_or_404(ImportRun, pk=pk)
    try:
        retry = import_run_retry(run=run, actor=request.user)
    except MeterImportError as error:
        messages.error(request, str(error))
        return redirect("metering:import", pk=run.pk)
    messages.info(request, f"Import #{run.pk} is retried as import #{retry.pk}, from the same stored file.")
    return redirect("metering:import", pk=retry.pk)


@require_GET
@capability_required("import_meter_data")
def import_status(request, pk: int):
    """The status page polls this while the import runs."""
    return JsonResponse(import_progress(get_object_or_404(ImportRun, pk=pk)))


@capability_required("import_meter_data")
def import_rejects(request, pk: int):
    run = get_object_or_404(ImportRun, pk=pk)
    if not run.rejects_file:
        raise Http404("This import rejected no rows.")
    return FileResponse(run.rejects_file.open("rb"), as_attachment=True, filename=f"import-{run.pk}-rejected-rows.csv")


@capability_required("view_customers")
def reads_lookup(request):
    """Find a customer's reads by Location ID."""
    form = LocationForm(request.GET or None)
    if form.is_valid():
        location_id = form.cleaned_data["location_id"].strip()
        if Customer.objects.filter(location_id=location_id).exists():
            return redirect("metering:customer_reads", location_id=location_id)
        form.add_error("location_id", f"No customer has the Location ID {location_id}.")
    return render(request, "metering/reads_lookup.html", {"form": form})


@capability_required("view_customers")
def reads_for_customer(request, location_id: str):
    """A customer's daily reads, newest first, filterable by date; read-only (reads change only by import)."""
    customer = get_object_or_404(Customer, location_id=location_id)
    form = ReadsFilterForm(request.GET or None)
    start = end = None
    if form.is_valid():
        start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    reads = customer_reads(customer=customer, start=start, end=end)
    page = Paginator(reads, READS_PER_PAGE).get_page(request.GET.get("page"))
    total, days = _total(customer, start, end)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "metering/customer_reads.html",
        {
            "customer": customer,
            "form": form,
            "page": page,
            "total": total,
            "days": days,
            "query": query.urlencode(),
        },
    )


def _total(customer, start, end):
    totals = usage_totals(start=start or datetime.date.min, end=end or datetime.date.max, customer_ids=[customer.pk])
    return totals.get(customer.pk, (None, 0))
