"""Billing's answer to metering's reads_corrected signal: which corrections fall in an issued bill's
period (SPEC §1: the import report lists them; the bills are not changed)."""

from django.db.models import OuterRef, Subquery
from django.db.models.functions import TruncMonth
from django.dispatch import receiver

from metering.signals import reads_corrected, reads_importing

from .models import Bill
from .period_lock import lock_periods


@receiver(reads_corrected, dispatch_uid="billing.corrections_in_issued_bills")
def corrections_in_issued_bills(sender, *, corrections, **kwargs) -> list[tuple]:
    """[(customer_id, read_date, bill_number)] for corrections dated in an issued bill's period: one query."""
    issued = Bill.objects.issued().filter(customer_id=OuterRef("customer_id"), period=OuterRef("month"))
    rows = (
        corrections.annotate(month=TruncMonth("read_date"))
        .annotate(bill_number=Subquery(issued.values("number")[:1]))
        .filter(bill_number__isnull=False)
        .order_by("customer_id", "read_date")
        .values_list("customer_id", "read_date", "bill_number")
    )
    return list(rows)


@receiver(reads_importing, dispatch_uid="billing.lock_imported_periods")
def lock_imported_periods(sender, *, periods, **kwargs) -> None:
    """An import about to write reads of these months holds their period locks until it commits (issue 11.2)."""
    lock_periods(periods)
