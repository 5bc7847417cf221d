"""Reads of anomalies for pages, the portal, the digest and the export: set-based, no N+1."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone

from hydrospark.units import usage_text

from .models import Anomaly, DetectionRun, Incident, Kind, Status


@dataclass(frozen=True)
class Notice:
    """What a customer sees about an open incident on their account (portal dashboard, alert emails).

    date: the incident's latest day; since: its first; days: its anomalous days; usage_ccf: the water it
    used above usual so far (its excess); typical_ccf: the customer's typical month; cost: its estimated
    cost; message: a ready sentence. kind is "leak" or "spike"."""

    date: datetime.date
    usage_ccf: Decimal
    typical_ccf: Decimal
    ratio: Decimal | None
    message: str
    kind: str = "spike"
    since: datetime.date | None = None
    days: int = 1
    methods: tuple[str, ...] = field(default_factory=tuple)
    sentence: str = ""  # message with "{usage}" where the excess goes, so it can follow the reader's unit
    cost: Decimal | None = None
    incident_id: int | None = None

    def text(self, unit: str = "ccf") -> str:
        """The message with the use in the reader's unit ("ccf" or "gallons"), as the portal shows it."""
        if not self.sentence:
            return self.message
        return self.sentence.format(usage=usage_text(self.usage_ccf, unit, trim=True))


def open_notices_for_customer(customer, *, limit: int | None = 3) -> list[Notice]:
    """The customer's open incidents they are told of (SPEC §3a: leaks, and spikes above the threshold) as
    notices, newest first. `limit` keeps the dashboard short (None: all). One query."""
    incidents = Incident.objects.filter(customer=customer, status=Status.OPEN, notify=True).order_by("-end", "-pk")
    today = timezone.localdate()
    return [notice_from_incident(incident, today=today) for incident in incidents[:limit]]


def notice_from_incident(incident: Incident, *, today: datetime.date) -> Notice:
    """What the customer reads about an incident: how much water and money it cost so far."""
    cost = f", about ${incident.estimated_cost:,.2f} on your bill" if incident.estimated_cost else ""
    if incident.kind == Kind.LEAK:
        sentence = (
            f"Possible leak: your use has stayed high on {incident.days} days since {_day(incident.start, today)}"
            f" ({{usage}} more than usual so far{cost})"
        )
    else:
        when = _day(incident.start, today)
        if incident.end != incident.start:
            when += f" to {_day(incident.end, today)}"
        sentence = f"Unusually high use on {when}: {{usage}} more than usual{cost}"
    message = sentence.format(usage=usage_text(incident.excess_ccf, trim=True))
    return Notice(
        incident.end,
        incident.excess_ccf,
        incident.typical_month_ccf,
        None,
        message,
        kind=incident.kind,
        since=incident.start,
        days=incident.days,
        methods=tuple(incident.method_list),
        sentence=sentence,
        cost=incident.estimated_cost,
        incident_id=incident.pk,
    )


def incident_days_for_customer(customer, *, start: datetime.date, end: datetime.date) -> list[datetime.date]:
    """The days of the customer's open incidents they are told of, between start and end (the portal's chart
    marks them). One query for the incidents; the days come from their anomaly records (one more)."""
    spans = list(
        Incident.objects.filter(
            customer=customer, status=Status.OPEN, notify=True, end__gte=start, start__lte=end
        ).values_list("start", "end")
    )
    if not spans:
        return []
    query = Q()
    for first, last in spans:
        query |= Q(date__range=(max(first, start), min(last, end)))
    days = Anomaly.objects.filter(query, customer=customer).values_list("date", flat=True).distinct()
    return sorted(set(days))


def incidents_version(customer) -> str:
    """Changes whenever the customer's notified open incidents change (new, extended, resolved): one query."""
    info = Incident.objects.filter(customer=customer, status=Status.OPEN, notify=True).aggregate(
        n=Count("id"), latest=Max("updated_at")
    )
    return f"i{info['n']}-{info['latest'].timestamp() if info['latest'] else 0:.6f}"


def _day(day: datetime.date, today: datetime.date) -> str:
    return f"{day.day} {day:%B}" + ("" if day.year == today.year else f" {day.year}")


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
    queryset = _of_customers(queryset, customer_types=customer_types, cycles=cycles, customer_query=customer_query)
    if date_from:
        queryset = queryset.filter(date__gte=date_from)
    if date_to:
        queryset = queryset.filter(date__lte=date_to)
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


# --- incidents: the Operations queue, a page, the export -------------------------------------------------


def incident_queue(
    *, kinds=(), statuses=(), customer_types=(), cycles=(), customer_query: str = "", allowance: str = ""
) -> QuerySet[Incident]:
    """Incidents, costliest first (then the latest), filtered; rows carry their customer and reviewer."""
    queryset = Incident.objects.select_related("customer", "reviewed_by")
    if kinds:
        queryset = queryset.filter(kind__in=kinds)
    if statuses:
        queryset = queryset.filter(status__in=statuses)
    queryset = _of_customers(queryset, customer_types=customer_types, cycles=cycles, customer_query=customer_query)
    if allowance:
        queryset = queryset.filter(allowance=allowance)
    return queryset.order_by("-estimated_cost", "-end", "customer__location_id", "pk")


def open_incident_counts() -> dict[str, int]:
    rows = Incident.objects.filter(status=Status.OPEN).values("kind").annotate(n=Count("id"))
    counts = {row["kind"]: row["n"] for row in rows}
    counts["pending_allowances"] = Incident.objects.filter(allowance=Incident.Allowance.OFFERED).count()
    return counts


def incident_days(incident: Incident) -> list[dict]:
    """The incident's days, one line per day with each method's record (two queries at most)."""
    records = Anomaly.objects.filter(
        customer_id=incident.customer_id, date__range=(incident.start, incident.end)
    ).order_by("date", "method")
    days: dict = {}
    for record in records:
        days.setdefault(record.date, {"date": record.date, "usage_ccf": record.usage_ccf, "records": []})
        days[record.date]["records"].append(record)
    return list(days.values())


def customer_incident_history(incident: Incident, *, limit: int = 10) -> list[Incident]:
    """The customer's other incidents, newest first (what happened before and how it was resolved)."""
    return list(
        Incident.objects.filter(customer_id=incident.customer_id)
        .exclude(pk=incident.pk)
        .select_related("reviewed_by")
        .order_by("-end", "-pk")[:limit]
    )


def incidents_for_export(*, status: str | None = None):
    """SPEC §3a's columns, sorted by location_id then start."""
    queryset = Incident.objects.all()
    if status:
        queryset = queryset.filter(status=status)
    return queryset.order_by("customer__location_id", "start", "pk").values_list(
        "customer__location_id", "kind", "start", "end", "days", "methods", "excess_ccf", "estimated_cost", "status"
    )


def _of_customers(queryset, *, customer_types=None, cycles=None, customer_query=""):
    """The queues' filters on the customer: its type, its cycle, a location-id prefix or part of its name."""
    if customer_types:
        queryset = queryset.filter(customer__customer_type__in=customer_types)
    if cycles:
        queryset = queryset.filter(customer__cycle_number__in=cycles)
    if customer_query:
        queryset = queryset.filter(
            Q(customer__location_id__startswith=customer_query) | Q(customer__name__icontains=customer_query)
        )
    return queryset
