"""Reads of meter data, always set-based."""

import datetime

from .models import MeterRead


def daily_usage(*, customer, start: datetime.date, end: datetime.date) -> list[MeterRead]:
    """The customer's reads dated from start to end inclusive, oldest first."""
    return list(MeterRead.objects.filter(customer=customer, read_date__range=(start, end)).order_by("read_date"))
