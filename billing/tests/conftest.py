"""Billing test helpers: reads for a customer, the real export loaded for Location 101887055."""

import datetime
import functools
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pandas as pd
import pytest
from django.conf import settings

from conftest import make_customer
from metering.models import MeterRead

REAL_EXPORT = Path(settings.BASE_DIR) / "fixtures" / "TX_Daily_Water_Usage_101887055.xlsx"


def add_reads(customer, start: datetime.date, usages) -> None:
    """One read a day from `start`, with the given usages (CCF, as strings or Decimals)."""
    MeterRead.objects.bulk_create(
        MeterRead(customer=customer, read_date=start + datetime.timedelta(days=i), usage_ccf=Decimal(str(u)))
        for i, u in enumerate(usages)
    )


def add_month(customer, period: datetime.date, total, days: int | None = None) -> None:
    """Reads across the month (or its first `days` days) summing exactly to `total` CCF."""
    days = days or (pd.Period(period, "M").days_in_month)
    total = Decimal(str(total))
    each = (total / days).quantize(Decimal("0.0001"), rounding="ROUND_DOWN")
    usages = [each] * (days - 1) + [total - each * (days - 1)]
    add_reads(customer, period, usages)


@functools.cache
def real_export_usage() -> tuple[tuple[datetime.date, Decimal], ...]:
    frame = pd.read_excel(REAL_EXPORT, sheet_name=0, engine="calamine")
    dates = pd.to_datetime(frame[["Year", "Month", "Day"]]).dt.date
    usage = [
        Decimal(str(u)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP) for u in frame["Daily Water Usage (CCF)"]
    ]
    return tuple(zip(dates, usage, strict=True))


@pytest.fixture
def noah(db):
    """Noah Hernandez with the real export's 2,830 daily reads."""
    customer = make_customer("101887055", "Noah Hernandez", "noah@example.com", cycle_number=20)
    MeterRead.objects.bulk_create(
        MeterRead(customer=customer, read_date=day, usage_ccf=usage) for day, usage in real_export_usage()
    )
    return customer
