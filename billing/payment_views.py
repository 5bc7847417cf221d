"""Staff pages for the bank's payments file (issue 12; Operations and Billing): upload it (imported in the
background on the shared run lifecycle), follow its progress, see its counts and download its rejected rows,
retry a failed or stalled one, and the history of every payments import. Thin: billing.payment_import does it."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import capability_required

from .exceptions import BillingError
from .forms import PaymentUploadForm
from .models import PaymentImport
from .payment_import import (
    payment_import_progress,
    payment_import_queue,
    payment_import_retry,
    payment_import_retry_refusal,
    payment_import_stalled,
    rejects_csv,
)

RUNS_PER_PAGE = 25
REJECTS_SHOWN = 50


@capability_required("import_payments")
def payment_imports(request):
    """Upload a payments file and the history of payments imports (command and uploads)."""
    form = PaymentUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        run = payment_import_queue(upload=form.cleaned_data["file"], actor=request.user)
        messages.info(request, f"{run.file_name} is uploaded; its payments are being imported in the background.")
        return redirect("billing:payment_import", pk=run.pk)
    runs = PaymentImport.objects.defer("rejects").order_by("-created_at", "-id")
    page = Paginator(runs, RUNS_PER_PAGE).get_page(request.GET.get("page"))
    shown = [run.pk for run in page.object_list]  # ids, not the sliced queryset: MariaDB refuses LIMIT in IN (…)
    retried = set(PaymentImport.objects.filter(retry_of__in=shown).values_list("retry_of_id", flat=True))
    for run in page.object_list:
        run.stalled = payment_import_stalled(run)
        run.offer_retry = (run.stalled or run.state == PaymentImport.State.FAILED) and bool(run.upload)
        run.offer_retry = run.offer_retry and run.pk not in retried
    context = {"form": form, "page": page, "max_mb": form.max_mb()}
    return render(request, "billing/payment_imports.html", context)


@capability_required("import_payments")
def payment_import_detail(request, pk: int):
    run = get_object_or_404(PaymentImport.objects.select_related("retry_of"), pk=pk)
    stalled = payment_import_stalled(run)
    context = {
        "run": run,
        "stalled": stalled,
        "progress": payment_import_progress(run),
        "retried_as": run.retries.order_by("-id").first(),
        "can_retry": (stalled or run.state == PaymentImport.State.FAILED) and not payment_import_retry_refusal(run),
        "rejects": run.rejects[:REJECTS_SHOWN],
    }
    return render(request, "billing/payment_import_detail.html", context)


@require_GET
@capability_required("import_payments")
def payment_import_status(request, pk: int):
    """The import's page polls this while the worker imports."""
    return JsonResponse(payment_import_progress(get_object_or_404(PaymentImport, pk=pk)))


@capability_required("import_payments")
def payment_import_rejects(request, pk: int):
    run = get_object_or_404(PaymentImport, pk=pk)
    if not run.rows_rejected:
        raise Http404("This payments import rejected no rows.")
    response = HttpResponse(rejects_csv(run.rejects), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="payments-import-{run.pk}-rejected-rows.csv"'
    return response


@require_POST
@capability_required("import_payments")
def payment_import_retry_view(request, pk: int):
    """Import a failed or stalled upload's stored file again, as a new import."""
    run = get_object_or_404(PaymentImport, pk=pk)
    try:
        retry = payment_import_retry(run=run, actor=request.user)
    except BillingError as error:
        messages.error(request, str(error))
        return redirect("billing:payment_import", pk=run.pk)
    messages.info(request, f"Payments import #{run.pk} is retried as #{retry.pk}, from the same stored file.")
    return redirect("billing:payment_import", pk=retry.pk)
