"""Reads for the staff pages: each role's home and the customer page (analytics live in analytics.py)."""

import datetime
from decimal import Decimal

from django.core.cache import cache
from django.db.models import Count, F, Max, Sum
from django.db.models.functions import Round

from accounts.models import Customer
from metering.models import MeterRead

from .analytics import add_months, money_from_cents, snapshot, usage_data_version

CACHE_SECONDS = 24 * 3600


def cached(name: str, version: str, compute):
    """compute() once per (name, version): the cache holds small, ready-to-show results only."""
    key = f"staff:{name}:{version}"
    value = cache.get(key)
    if value is None:
        value = compute()
        cache.set(key, value, CACHE_SECONDS)
    return value


# --- Customer page ----------------------------------------------------------------------------------

USAGE_MONTHS = 25  # the customer page: this month and the two years before it


def customer_usage(*, customer: Customer, today: datetime.date) -> dict:
    """Monthly use for the customer page: [(month, ccf, days)] oldest first, the read span, a summary."""
    from metering.charts import chart_summary
    from metering.selectors import monthly_usage, read_span

    months = monthly_usage(customer=customer, start=add_months(today, -(USAGE_MONTHS - 1)), end=today)
    first, last = read_span(customer=customer)
    last_year = [(m, ccf) for m, ccf, _ in months if add_months(today, -12) <= m < today.replace(day=1)]
    return {
        "months": months,
        "first_read": first,
        "last_read": last,
        "last_12_ccf": sum((ccf for _, ccf in last_year), start=0),
        "summary": chart_summary([(m, ccf) for m, ccf, _ in months], period="month"),
    }


def customer_usage_svg(*, customer: Customer, today: datetime.date) -> bytes:
    """The customer's monthly use chart (the current month highlighted), cached per usage data version."""
    from metering.charts import monthly_usage_chart
    from metering.selectors import monthly_usage

    def draw() -> bytes:
        months = monthly_usage(customer=customer, start=add_months(today, -(USAGE_MONTHS - 1)), end=today)
        return monthly_usage_chart([(m, ccf) for m, ccf, _ in months], highlight_month=today.replace(day=1))

    return cached(f"usage-chart:{customer.pk}:{today}", usage_data_version(), draw)


# --- Billing home and a customer's bills


def billing_period(today: datetime.date) -> datetime.date:
    """The period being billed now: the last complete month (its bills go out early in this one)."""
    return add_months(today, -1)


def billing_summary(*, today: datetime.date) -> dict:
    """The Billing home: the current period's runs and figures, what came in this month, and what is
    overdue and how old, from the ledger (the analytics snapshot's aging table)."""
    from billing.delivery import delivery_report
    from billing.models import BillRun, Payment
    from billing.selectors import period_summary

    period = billing_period(today)
    this_month = Payment.objects.filter(paid_on__range=(today.replace(day=1), today)).aggregate(
        cents=Sum(Round(F("amount") * 100)), n=Count("id")
    )
    figures = snapshot("billing", today=today)
    table = figures.tables["receivables-aging"] if figures else None
    aging = table.rows if table else None
    overdue = aging[1:-1] if aging else []  # every bucket but "current" and the total
    return {
        "period": period,
        "summary": period_summary(period=period),
        "runs": list(BillRun.objects.filter(period=period).select_related("requested_by")[:5]),
        "collected_this_month": money_from_cents(this_month["cents"]),
        "payments_this_month": this_month["n"],
        "overdue_accounts": table.figures.get("overdue_accounts", 0) if table else 0,
        "overdue_amount": sum((a for _, _, a in overdue), Decimal("0.00")),
        "aging": aging,
        "aging_snapshot": figures,
        "delivery": delivery_report(period=period),  # last month's bills: who got them, who nobody reached
    }


CUSTOMER_BILLS = 24
CUSTOMER_LEDGER = 60  # entries shown on the customer page, newest first (about two years of a household)


def customer_billing(*, customer: Customer, today: datetime.date) -> dict:
    """The customer page's account: the ledger newest first with the balance after each entry (one query
    over every entry, so the running balance is exact), what is overdue today, and the bills with their
    payment status. A fixed number of queries however long the account."""
    from billing.account import ledger_with_running_balance, overdue_at
    from billing.selectors import bills_for_customer

    ledger = ledger_with_running_balance(customer)
    bills = list(bills_for_customer(customer, include_drafts=True).select_related("rate_schedule")[:CUSTOMER_BILLS])
    return {
        "bills": bills,
        "bills_limit": CUSTOMER_BILLS,
        "ledger": ledger[::-1][:CUSTOMER_LEDGER],
        "ledger_count": len(ledger),
        "ledger_limit": CUSTOMER_LEDGER,
        "balance": ledger[-1][1] if ledger else Decimal("0.00"),
        "overdue": overdue_at(customer, today) if ledger else Decimal("0.00"),
    }


# --- Anomalies: the Operations home and a customer's anomalies ---------------------------------------

CUSTOMER_ANOMALIES = 12


def customer_anomalies(*, customer: Customer) -> dict:
    """The customer's latest anomalies with their reviews, and how many there are (two queries)."""
    from django.db.models import Q

    from anomalies.models import Anomaly, Status

    found = Anomaly.objects.filter(customer=customer)
    counts = found.aggregate(total=Count("id"), open=Count("id", filter=Q(status=Status.OPEN)))
    latest = found.select_related("reviewed_by").order_by("-date", "method")[:CUSTOMER_ANOMALIES]
    return {"anomalies": list(latest), "anomaly_counts": counts, "anomalies_limit": CUSTOMER_ANOMALIES}


RECENT_RUNS = 5


def operations_summary() -> dict:
    """The Operations home: the newest stored read, the last imports and detection runs, open incidents and days."""
    from anomalies.models import Method
    from anomalies.selectors import open_anomaly_count, open_counts_by_method, open_incident_counts, recent_runs
    from metering.models import ImportRun
    from metering.progress import mark_stalled, stale_after

    by_method = open_counts_by_method()
    incidents = open_incident_counts()

    return {
        "last_read_date": MeterRead.objects.aggregate(v=Max("read_date"))["v"],
        "import_runs": mark_stalled(ImportRun.objects.order_by("-created_at", "-id")[:RECENT_RUNS]),
        "stale_minutes": int(stale_after().total_seconds() // 60),
        "detection_runs": recent_runs(limit=RECENT_RUNS),
        "open_incidents": incidents.get("leak", 0) + incidents.get("spike", 0),
        "open_leaks": incidents.get("leak", 0),
        "open_anomalies": open_anomaly_count(),
        "open_by_method": [(label, by_method[value]) for value, label in Method.choices if by_method.get(value)],
    }
