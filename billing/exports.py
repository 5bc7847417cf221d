"""CSV exports of bills (SPEC §7): usage with 4 decimals, money with 2, dates ISO, sorted by location_id."""

import csv
import datetime
from decimal import Decimal

from django.db.models import Q, Sum

from .models import Bill

BILL_COLUMNS = [
    "location_id",
    "period",
    "usage_ccf",
    "usage_charge",
    "base_fee",
    "infrastructure_fee",
    "total_amount",
    "status",
]


def bill_export_rows(*, period: datetime.date, include_cancelled: bool = False):
    """(location_id, period, usage, charge, base fee, infrastructure fee, total, status) per bill: one query.
    Fees come from the bill's own lines, so later rate edits never change an export of issued bills.
    Cancelled bills only with include_cancelled (SPEC §7 --all), each before the bill that replaced it."""
    bills = Bill.objects.filter(period=period)
    if not include_cancelled:
        bills = bills.exclude(status=Bill.Status.CANCELLED)
    bills = (
        bills.annotate(
            base_fee=Sum("lines__amount", filter=Q(lines__kind="fee", lines__code="base")),
            infrastructure_fee=Sum("lines__amount", filter=Q(lines__kind="fee", lines__code="infrastructure")),
        )
        .order_by("customer__location_id", "id")
        .values_list(
            "customer__location_id",
            "period",
            "usage_ccf",
            "usage_charge",
            "base_fee",
            "infrastructure_fee",
            "total_amount",
            "status",
        )
    )
    for location_id, bill_period, usage, charge, base, infrastructure, total, status in bills.iterator(chunk_size=5000):
        yield (
            location_id,
            f"{bill_period:%Y-%m}",  # the period as it is named everywhere (--period YYYY-MM)
            f"{usage:.4f}",
            _money(charge),
            _money(base),
            _money(infrastructure),
            _money(total),
            status,
        )


def write_bills_csv(handle, *, period: datetime.date, include_cancelled: bool = False) -> int:
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(BILL_COLUMNS)
    count = 0
    for row in bill_export_rows(period=period, include_cancelled=include_cancelled):
        writer.writerow(row)
        count += 1
    return count


def _money(value) -> str:
    # A single fee line per bill: the SQL "sum" is that line's value; on SQLite it arrives as a float.
    return f"{Decimal(str(value or 0)).quantize(Decimal('0.01')):.2f}"
