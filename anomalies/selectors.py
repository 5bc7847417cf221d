"""Reads of anomalies for pages, the portal, the digest and the export: set-based, no N+1."""

import datetime
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from hydrospark.units import usage_text

from .models import Anomaly, DetectionRun, Method, Status

# When one day is flagged by several methods, the customer sees the figure of the most local baseline.
METHOD_PREFERENCE = {Method.ROLLING: 0, Method.ZSCORE: 1, Method.LEAK: 2}


@dataclass(frozen=True)
class Notice:
    """What a customer sees about an open anomaly on their account (portal dashboard).

    date: the day of unusual use (for a leak, its latest day); usage_ccf: that day's use;
    typical_ccf: the customer's usual daily use the rule compared with; ratio: usage / typical;
    message: a ready sentence. kind is "high_use" or "leak"; since and days describe a leak's run."""

    date: datetime.date
    usage_ccf: Decimal
    typical_ccf: Decimal
    ratio: Decimal | None
    message: str
    kind: str = "high_use"
    since: datetime.date | None = None
    days: int = 1
    methods: tuple[str, ...] = field(default_factory=tuple)
    sentence: str = ""  # message with "{usage}" where the day's use goes, so it can follow the unit

    def text(self, unit: str = "ccf") -> str:
        """The message with the use in the reader's unit ("ccf" or "gallons"), as the portal shows it."""
        if not self.sentence:
            return self.message
        return self.sentence.format(usage=usage_text(self.usage_ccf, unit, trim=True))


def open_notices_for_customer(customer, *, limit: int | None = 3) -> list[Notice]:
    """The customer's open anomalies as notices, newest first: one per day of unusually high use, and one
    per run of consecutive leak days. `limit` keeps the dashboard short (None: all). One query."""
    rows = Anomaly.objects.filter(customer=customer, status=Status.OPEN).values_list(
        "date", "method", "usage_ccf", "mean_ccf"
    )
    notices = notices_from_rows(list(rows), today=timezone.localdate())
    return notices if limit is None else notices[:limit]


def new_alerts(*, runs, since: datetime.date) -> list[tuple]:
    """[(customer, [Notice])] for customers who asked for usage alerts by email and have a login, from
    the open anomalies these runs created dated on or after `since`: one query."""
    rows = (
        Anomaly.objects.filter(
            run__in=runs,
            date__gte=since,
            status=Status.OPEN,
            customer__notify_usage_alerts=True,
            customer__user__is_active=True,
        )
        .select_related("customer__user")
        .order_by("customer__location_id", "-date")
    )
    by_customer: dict[int, tuple] = {}
    for anomaly in rows:
        entry = by_customer.setdefault(anomaly.customer_id, (anomaly.customer, []))
        entry[1].append((anomaly.date, anomaly.method, anomaly.usage_ccf, anomaly.mean_ccf))
    today = timezone.localdate()
    return [(customer, notices_from_rows(found, today=today)) for customer, found in by_customer.values()]


def notices_from_rows(rows, *, today: datetime.date) -> list[Notice]:
    """Notices, newest first, from (date, method, usage_ccf, mean_ccf) rows of one customer."""
    rows = sorted(rows, key=lambda r: r[0], reverse=True)
    notices = _leak_notices([r for r in rows if r[1] == Method.LEAK], today)
    notices += _high_use_notices([r for r in rows if r[1] != Method.LEAK], today)
    notices.sort(key=lambda n: n.date, reverse=True)
    return notices


def _high_use_notices(rows, today) -> list[Notice]:
    by_day: dict[datetime.date, list] = {}
    for row in rows:
        by_day.setdefault(row[0], []).append(row)
    notices = []
    for day, found in by_day.items():
        _, method, usage, mean = min(found, key=lambda r: METHOD_PREFERENCE[r[1]])
        ratio = _ratio(usage, mean)
        sentence = f"Unusually high use on {_day(day, today)}: {{usage}}" + (
            f", about {_times(ratio)} your usual" if ratio else ""
        )
        message = sentence.format(usage=usage_text(usage, trim=True))
        methods = tuple(sorted(r[1] for r in found))
        notices.append(Notice(day, usage, _typical(mean), ratio, message, methods=methods, sentence=sentence))
    return notices


def _leak_notices(rows, today) -> list[Notice]:
    """Group consecutive leak days (rows come newest first) into one notice per run."""
    runs: list[list] = []
    for row in rows:
        if runs and runs[-1][-1][0] - row[0] == datetime.timedelta(days=1):
            runs[-1].append(row)
        else:
            runs.append([row])
    notices = []
    for run in runs:
        last, first = run[0], run[-1]
        ratio = _ratio(last[2], last[3])
        sentence = (
            f"Possible leak: your use has stayed high for {len(run)} days since {_day(first[0], today)}"
            f" ({{usage}} on {_day(last[0], today)}" + (f", about {_times(ratio)} your usual)" if ratio else ")")
        )
        message = sentence.format(usage=usage_text(last[2], trim=True))
        notices.append(
            Notice(
                last[0],
                last[2],
                _typical(last[3]),
                ratio,
                message,
                kind="leak",
                since=first[0],
                days=len(run),
                methods=(Method.LEAK.value,),
                sentence=sentence,
            )
        )
    return notices


def _ratio(usage: Decimal, mean: Decimal) -> Decimal | None:
    if not mean or mean <= 0:
        return None
    return (Decimal(usage) / Decimal(mean)).quantize(Decimal("0.1"), ROUND_HALF_UP)


def _typical(mean) -> Decimal:
    return Decimal(mean).quantize(Decimal("0.0001"), ROUND_HALF_UP)


def _day(day: datetime.date, today: datetime.date) -> str:
    return f"{day.day} {day:%B}" + ("" if day.year == today.year else f" {day.year}")


def _times(ratio: Decimal) -> str:
    """4.0 -> '4×', 2.5 -> '2.5×', 12.3 -> '12×'."""
    if ratio >= 10 or ratio == ratio.to_integral_value():
        return f"{ratio.to_integral_value(ROUND_HALF_UP)}×"
    return f"{ratio}×"


def open_anomaly_count() -> int:
    return Anomaly.objects.filter(status=Status.OPEN).count()


def open_counts_by_method() -> dict[str, int]:
    rows = Anomaly.objects.filter(status=Status.OPEN).values("method").annotate(n=Count("id"))
    return {row["method"]: row["n"] for row in rows}


def recent_runs(*, limit: int = 5) -> list[DetectionRun]:
    """The latest detection runs, newest first (for the Operations home and the queue)."""
    return list(DetectionRun.objects.select_related("triggered_by").order_by("-started_at", "-id")[:limit])


def anomaly_queue(
    *,
    methods=(),
    statuses=(),
    customer_types=(),
    cycles=(),
    date_from: datetime.date | None = None,
    date_to: datetime.date | None = None,
    customer_query: str = "",
) -> QuerySet[Anomaly]:
    """The review queue, newest first, filtered; rows carry their customer and reviewer (no N+1)."""
    queryset = Anomaly.objects.select_related("customer", "reviewed_by")
    if methods:
        queryset = queryset.filter(method__in=methods)
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    if customer_types:
        queryset = queryset.filter(customer__customer_type__in=customer_types)
    if cycles:
        queryset = queryset.filter(customer__cycle_number__in=cycles)
    if date_from:
        queryset = queryset.filter(date__gte=date_from)
    if date_to:
        queryset = queryset.filter(date__lte=date_to)
    if customer_query:
        queryset = queryset.filter(
            Q(customer__location_id__startswith=customer_query) | Q(customer__name__icontains=customer_query)
        )
    return queryset.order_by("-date", "-detected_at", "customer__location_id", "method")


def anomalies_for_export(*, method: str | None = None):
    """(location_id, date, usage, mean, std, method, status) sorted by location_id, date, method."""
    queryset = Anomaly.objects.all()
    if method:
        queryset = queryset.filter(method=method)
    return queryset.order_by("customer__location_id", "date", "method").values_list(
        "customer__location_id", "date", "usage_ccf", "mean_ccf", "std_ccf", "method", "status"
    )


def other_anomalies_near(anomaly: Anomaly, *, days: int = 45) -> list[Anomaly]:
    """The same customer's anomalies within `days` of this one (for the review page and its chart)."""
    window = datetime.timedelta(days=days)
    return list(
        Anomaly.objects.filter(
            customer_id=anomaly.customer_id, date__range=(anomaly.date - window, anomaly.date + window)
        )
        .exclude(pk=anomaly.pk)
        .order_by("date", "method")
    )
