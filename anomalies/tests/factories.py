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
