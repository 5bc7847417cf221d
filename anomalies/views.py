"""The anomaly days (SPEC §3, §5) behind the incidents: everyone on staff can look, only Operations can review
or run a detection."""

import datetime
import hashlib
from decimal import Decimal

from django.conf import settings
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
from .forms import BulkReviewForm, DetailReviewForm, QueueFilterForm, RunForm
from .methods import LeakRule
from .models import Anomaly, Method, Status
from .runs import detection_queue
from .services import AnomalyError, anomalies_review

PAGE_SIZE = 50
CHART_DAYS = 45


@capability_required("view_anomalies")
def queue(request):
    form = QueueFilterForm(request.GET or QueueFilterForm.DEFAULT)
    anomalies = selectors.anomaly_queue(**form.queue_filters()) if form.is_valid() else Anomaly.objects.none()
    page = Paginator(anomalies, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "form": form,
        "page": page,
        "query": query.urlencode(),
        "can_review": user_can(request.user, "review_anomalies"),
        "bulk_form": BulkReviewForm(),
        "run_form": RunForm(),
        "open_summary": _open_summary(),
        "runs": selectors.recent_runs(limit=3),
    }
    return render(request, "anomalies/queue.html", context)


@capability_required("view_anomalies")
def detail(request, pk):
    anomaly = get_object_or_404(Anomaly.objects.select_related("customer", "reviewed_by", "run"), pk=pk)
    nearby = selectors.other_anomalies_near(anomaly, days=CHART_DAYS)
    context = {
        "anomaly": anomaly,
        "nearby": _by_day(nearby),
        "nearby_open": sum(1 for other in nearby if other.status == Status.OPEN),
        "chart": _chart(anomaly, nearby),
        "threshold": _threshold(anomaly),
        "can_review": user_can(request.user, "review_anomalies"),
        "form": DetailReviewForm(initial={"resolution": anomaly.resolution, "note": anomaly.note}),
        "back": request.GET.get("back", "") if request.GET.get("back", "").startswith("?") else "",
    }
    return render(request, "anomalies/detail.html", context)


@require_POST
@capability_required("review_anomalies")
def review(request, pk):
    anomaly = get_object_or_404(Anomaly.objects.select_related("customer"), pk=pk)
    form = DetailReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a resolution.")
        return redirect("anomalies:detail", pk=pk)
    data = form.cleaned_data
    targets = [anomaly]
    if data["with_nearby"]:
        nearby = selectors.other_anomalies_near(anomaly, days=CHART_DAYS)
        targets += [other for other in nearby if other.status == Status.OPEN]
    try:
        anomalies_review(anomalies=targets, reviewer=request.user, resolution=data["resolution"], note=data["note"])
    except AnomalyError as error:
        messages.error(request, str(error))
        return redirect("anomalies:detail", pk=pk)
    label = anomaly.get_resolution_display()
    extra = f" with {len(targets) - 1} other open anomalies nearby" if len(targets) > 1 else ""
    messages.success(request, f"Marked reviewed{extra}: {label}.")
    return redirect(reverse("anomalies:days") + _safe_query(request.POST.get("back", "")))


@require_POST
@capability_required("review_anomalies")
def bulk_review(request):
    form = BulkReviewForm(request.POST)
    back = reverse("anomalies:days") + _safe_query(request.POST.get("back", ""))
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        return redirect(back)
    data = form.cleaned_data
    try:
        done = anomalies_review(
            anomalies=data["anomalies"], reviewer=request.user, resolution=data["resolution"], note=data["note"]
        )
    except AnomalyError as error:
        messages.error(request, str(error))
    else:
        label = done[0].get_resolution_display()
        messages.success(request, f"{len(done)} anomal{'y' if len(done) == 1 else 'ies'} marked reviewed: {label}.")
    return redirect(back)


@require_POST
@capability_required("review_anomalies")
def run_detection(request):
    form = RunForm(request.POST)
    method = form.cleaned_data["method"] if form.is_valid() else ""
    detection_queue(methods=[method] if method else None, actor=request.user)
    messages.success(
        request,
        "Detection started"
        + (f" ({Method(method).label})" if method else " (all methods)")
        + ". Operations will get the digest email when it finishes; refresh this page to see the new incidents.",
    )
    return redirect("anomalies:queue")


def _by_day(anomalies: list[Anomaly]) -> list[dict]:
    """Group a customer's anomalies by day: one line per day with each method's record."""
    days: dict = {}
    for other in anomalies:
        days.setdefault(other.date, {"date": other.date, "usage_ccf": other.usage_ccf, "records": []})
        days[other.date]["records"].append(other)
    return list(days.values())


def _open_summary() -> list[tuple[str, str, int]]:
    counts = selectors.open_counts_by_method()
    return [(value, label, counts.get(value, 0)) for value, label in Method.choices]


def _safe_query(value: str) -> str:
    return value if value.startswith("?") else ""


def _threshold(anomaly: Anomaly):
    """The level the rule compared with: μ + kσ, or the leak rule's ratio × baseline."""
    if anomaly.method == Method.LEAK:
        return anomaly.mean_ccf * Decimal(str(LeakRule().ratio))
    return anomaly.mean_ccf + Decimal(str(settings.ANOMALY_ZSCORE_FACTOR)) * anomaly.std_ccf


def _chart(anomaly: Anomaly, nearby: list[Anomaly]) -> dict:
    """The customer's daily use 45 days either side, this anomaly and its neighbours marked (cached)."""
    window = datetime.timedelta(days=CHART_DAYS)
    reads = daily_usage(customer=anomaly.customer, start=anomaly.date - window, end=anomaly.date + window)
    points = [(r.read_date, r.usage_ccf) for r in reads]
    marks = sorted({anomaly.date, *(a.date for a in nearby)})
    threshold = _threshold(anomaly)
    key = "anomaly-chart:" + hashlib.sha256(repr((points, marks, threshold)).encode()).hexdigest()
    svg = cache.get(key)
    if svg is None:
        svg = daily_usage_chart(points, mark_date=marks, threshold=threshold)
        cache.set(key, svg, 24 * 3600)
    label = f"chart-summary-{anomaly.pk}"
    return {"svg": inline_svg(svg, label_id=label), "summary": chart_summary(points), "label_id": label}
