"""Reads for billing, set-based: rate plans, bills with their payment status, run reports.

Other apps build on these: the portal (a customer's own bills: `bills_for_customer`, `bill_for_customer`,
which answer 404 for anyone else's bill), the staff pages (revenue and aging use
`Bill.objects.with_payment_status()`), the forecast (`rate_plan_for`).
"""

import datetime
from decimal import Decimal

from django.db.models import Avg, Count, Exists, F, OuterRef, Prefetch, Q, Sum
from django.db.models.functions import Round
from django.http import Http404
from django.utils import timezone

from accounts.models import Customer
from metering.models import MeterRead
from metering.selectors import monthly_usage

from .exceptions import BillingError
from .models import Bill, BillLine, PaymentStatus, RateSchedule
from .periods import add_months, period_end
from .pricing import RatePlan

CENT = Decimal("0.01")


def _schedules():
    return RateSchedule.objects.prefetch_related("tiers", "multipliers", "fees")


def rate_schedules_in_effect(*, period_start: datetime.date) -> dict[str, RateSchedule]:
    """{customer_type or "": the version in effect on period_start}, in one query (plus prefetches).

    The rule: for each customer type, its own latest version with effective_from ≤ the period's first
    day; a type without one of its own uses the latest all-types version ("" key)."""
    chosen: dict[str, RateSchedule] = {}
    for schedule in _schedules().filter(effective_from__lte=period_start).order_by("-effective_from"):
        chosen.setdefault(schedule.customer_type, schedule)
    return chosen


def rate_schedule_for(*, customer_type: str, period_start: datetime.date) -> RateSchedule:
    schedules = rate_schedules_in_effect(period_start=period_start)
    schedule = schedules.get(customer_type) or schedules.get("")
    if schedule is None:
        raise BillingError(
            f"No rate schedule is in effect for {customer_type or 'any'} customers on {period_start:%Y-%m-%d}."
        )
    return schedule


def rate_plan_for(*, customer_type: str, period_start: datetime.date) -> RatePlan:
    """The RatePlan that prices a period starting on period_start for this customer type (see
    rate_schedules_in_effect for the rule). Raises BillingError when no version is in effect."""
    return rate_schedule_for(customer_type=customer_type, period_start=period_start).to_plan()


def bills_for_customer(customer: Customer, *, include_drafts: bool = False, today: datetime.date | None = None):
    """The customer's bills, newest first, annotated with payment status (issued only unless asked)."""
    bills = Bill.objects.filter(customer=customer).with_payment_status(today)
    return bills if include_drafts else bills.issued()


def bill_for_customer(user_or_customer, pk) -> Bill:
    """One issued bill of this customer (a Customer, or a login: then of any account it holds), with its
    lines. Anyone else's bill, a draft, or a login without a customer account: 404."""
    if isinstance(user_or_customer, Customer):
        bills = bills_for_customer(user_or_customer)
    elif getattr(user_or_customer, "is_authenticated", False):  # a login may hold several accounts
        bills = Bill.objects.filter(customer__user=user_or_customer).with_payment_status(None).issued()
    else:
        raise Http404("No such bill.")
    try:
        return bill_detail(bills.filter(pk=pk))
    except (Bill.DoesNotExist, ValueError, TypeError):
        raise Http404("No such bill.") from None


def bill_detail(queryset) -> Bill:
    """One bill from the queryset with everything a bill page or PDF prints, in a fixed number of queries."""
    return (
        queryset.with_payment_status()
        .select_related("customer", "customer__user", "rate_schedule")
        .prefetch_related(Prefetch("lines", queryset=BillLine.objects.order_by("position")))
        .get()
    )


def bill_open_balance(bill: Bill) -> Decimal:
    return bill.open_balance()


def customer_open_balance(customer: Customer) -> Decimal:
    """What the customer owes now: the account's balance (SPEC §2a; negative is a credit), exact."""
    from .account import balance_at

    return balance_at(customer, timezone.localdate())


def usage_history(bill: Bill, months: int = 13) -> list[tuple[datetime.date, Decimal]]:
    """Monthly usage for the chart on a bill: the billed month and the months before it."""
    start = add_months(bill.period, -(months - 1))
    rows = monthly_usage(customer=bill.customer, start=start, end=period_end(bill.period))
    return [(month, usage) for month, usage, _days in rows]


# --- Bill runs -------------------------------------------------------------------------------------


def customers_in_scope(*, cycles=None):
    customers = Customer.objects.all()
    return customers.filter(cycle_number__in=cycles) if cycles else customers


def bills_for_period(*, period: datetime.date, cycles=None):
    bills = Bill.objects.filter(period=period)
    return bills.filter(customer__cycle_number__in=cycles) if cycles else bills


def customers_without_reads(*, period: datetime.date, cycles=None):
    """Customers in scope with no read dated in the period (they get no bill; the run reports them)."""
    reads = MeterRead.objects.filter(customer=OuterRef("pk"), read_date__range=(period, period_end(period)))
    return customers_in_scope(cycles=cycles).filter(~Exists(reads)).order_by("location_id")


def period_summary(*, period: datetime.date, cycles=None) -> dict:
    """Counts and exact totals of a period's bills (drafts and issued), in one query."""
    totals = bills_for_period(period=period, cycles=cycles).aggregate(
        bills=Count("id"),
        drafts=Count("id", filter=Q(status=Bill.Status.DRAFT)),
        issued=Count("id", filter=Q(status=Bill.Status.ISSUED)),
        sent=Count("id", filter=Q(sent_at__isnull=False)),
        partial=Count("id", filter=Q(days_read__lt=F("days_in_period"))),
        total_cents=Sum(Round(F("total_amount") * 100)),
        draft_cents=Sum(Round(F("total_amount") * 100), filter=Q(status=Bill.Status.DRAFT)),
        usage_units=Sum(Round(F("usage_ccf") * 10_000)),
    )
    totals["total_billed"] = (Decimal(int(totals.pop("total_cents") or 0)) / 100).quantize(CENT)
    totals["drafts_total"] = (Decimal(int(totals.pop("draft_cents") or 0)) / 100).quantize(CENT)
    totals["usage_ccf"] = (Decimal(int(totals.pop("usage_units") or 0)) / 10_000).quantize(Decimal("0.0001"))
    return totals


def implausible_bills(*, period: datetime.date, cycles=None, factor: Decimal = Decimal("3"), months: int = 12):
    """Bills of the period worth a look before issuing: usage above `factor` × the customer's usual
    (the average of their bills in the `months` before), or nothing used where they usually use water.
    Returns [(bill, usual_ccf, reason)], biggest jump first. Two queries."""
    bills = list(bills_for_period(period=period, cycles=cycles).select_related("customer"))
    usual = dict(
        Bill.objects.filter(
            customer_id__in=[b.customer_id for b in bills], period__gte=add_months(period, -months), period__lt=period
        )
        .values("customer_id")
        .annotate(avg=Avg("usage_ccf"))
        .values_list("customer_id", "avg")
    )
    flagged = []
    for bill in bills:
        avg = usual.get(bill.customer_id)
        if avg is None or avg <= 0:
            continue
        avg = Decimal(str(avg)).quantize(Decimal("0.0001"))
        if bill.usage_ccf > factor * avg:
            flagged.append((bill, avg, f"{bill.usage_ccf / avg:.1f}× the usual {avg:.2f} CCF"))
        elif bill.usage_ccf == 0:
            flagged.append((bill, avg, f"no use, usually {avg:.2f} CCF"))
    return sorted(flagged, key=lambda f: f[0].usage_ccf / f[1], reverse=True)


def bills_by_payment_status(*, today: datetime.date | None = None) -> dict[str, int]:
    """{PaymentStatus value: number of issued bills}, one query."""
    rows = Bill.objects.issued().with_payment_status(today).values("payment_status").annotate(n=Count("id"))
    counts = {status.value: 0 for status in PaymentStatus}
    counts.update({row["payment_status"]: row["n"] for row in rows})
    return counts
