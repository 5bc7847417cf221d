"""Helpers to put reads and anomalies in the database for tests."""

import datetime
from decimal import Decimal

from django.utils import timezone

from anomalies.models import Anomaly, Method
from metering.models import MeterRead


def store_reads(customer, start: datetime.date, usages) -> None:
    """One read per day from start, with the given usages (CCF)."""
    MeterRead.objects.bulk_create(
        MeterRead(customer=customer, read_date=start + datetime.timedelta(days=i), usage_ccf=Decimal(str(u)))
        for i, u in enumerate(usages)
    )


def make_anomaly(customer, date, *, method=Method.ZSCORE, usage="3.2", mean="0.8", std="0.5", **fields) -> Anomaly:
    return Anomaly.objects.create(
        customer=customer,
        date=date,
        method=method,
        usage_ccf=Decimal(usage),
        mean_ccf=Decimal(mean),
        std_ccf=Decimal(std),
        detected_at=timezone.now(),
        **fields,
    )


def make_incident(customer, start, *, end=None, kind="spike", excess="2.5", cost="7.50", notify=True, **fields):
    """An incident as detection stores it (its days are not created: pass them with make_anomaly if needed)."""
    from anomalies.models import Incident

    now = timezone.now()
    values = {
        "end": end or start,
        "days": ((end or start) - start).days + 1,
        "methods": "leak" if kind == "leak" else "zscore",
        "typical_month_ccf": Decimal("10"),
        "detected_at": now,
        "updated_at": now,
        **fields,
    }
    return Incident.objects.create(
        customer=customer,
        start=start,
        kind=kind,
        excess_ccf=Decimal(excess),
        estimated_cost=Decimal(cost),
        notify=notify,
        **values,
    )
