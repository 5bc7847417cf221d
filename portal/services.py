"""The portal's writes (issue 16): the alerts a customer sets, the daily check that records and sends each alert
once, and the monthly comparison figures of similar homes. Views, the commands and the tasks call these."""

import datetime
import logging
import smtplib
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import Count, F, Min, Sum
from django.db.models.functions import Round
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.services import audit_record, field_changes
from forecast.selectors import anticipated_bills
from hydrospark import periods
from metering.models import MeterRead

from .alert_rules import VACATION_LATE_READS_DAYS, VACATION_THRESHOLD_CCF, alert_text, budget_steps_reached
from .models import AlertEvent, AlertKind, AlertSetting, ComparisonGroup
from .selectors import zip_code

log = logging.getLogger(__name__)
MIN_SIMILAR_ACCOUNTS = 20  # fewer similar accounts and the comparison is not shown (nor stored)
SETTING_FIELDS = ("budget", "away_from", "away_until", "email")
FOUR_PLACES = Decimal("0.0001")
# A refused alert email is tried again by the checks of the next day (after imports too), then left to the dashboard.
EMAIL_RETRY = datetime.timedelta(days=1)


# --- the alerts a customer sets --------------------------------------------------------------------------


def alert_settings_save(*, customer, actor, data: dict) -> dict:
    """Save the account's alert choices (budget, dates away, email); audited. Returns {field: [old, new]}."""
    setting, _ = AlertSetting.objects.get_or_create(customer=customer)
    changes = field_changes(setting, data, SETTING_FIELDS)
    if changes:
        for name in changes:
            setattr(setting, name, data[name])
        setting.save()
        audit_record(
            actor=actor,
            action="portal.alerts_set",
            target=setting,
            customer=customer,
            summary=f"Alerts changed: {', '.join(changes)}",
            changes=changes,
        )
    return changes


# --- the daily check -------------------------------------------------------------------------------------


def alerts_check(*, today: datetime.date | None = None) -> dict:
    """Record every budget step and vacation use reached since the last check, once (the unique constraint),
    and email the new ones to the accounts that asked. Reads only the accounts with an alert set. Returns
    {"budget": new events, "vacation": new events, "emailed": emails sent}."""
    today = today or timezone.localdate()
    started = timezone.now()
    found = {"budget": _budget_events(today), "vacation": _vacation_events(today)}
    AlertEvent.objects.bulk_create(found["budget"] + found["vacation"], ignore_conflicts=True)
    return {"budget": len(found["budget"]), "vacation": len(found["vacation"]), "emailed": _email_new(started)}


def _budget_events(today: datetime.date) -> list[AlertEvent]:
    """The steps each budget's anticipated bill has reached this month and that were not recorded yet."""
    month = today.replace(day=1)
    with_budget = AlertSetting.objects.filter(budget__isnull=False)
    budgets = {
        loc: (pk, budget)
        for loc, pk, budget in with_budget.values_list("customer__location_id", "customer_id", "budget")
    }
    known = set(
        AlertEvent.objects.filter(
            kind=AlertKind.BUDGET, period=month, customer__alert_setting__budget__isnull=False
        ).values_list("customer_id", "threshold")
    )
    found = []
    for forecast in anticipated_bills(period=month, as_of=today, customer_ids=with_budget.values("customer_id")):
        customer_id, budget = budgets[forecast.location_id]
        found += [
            AlertEvent(
                customer_id=customer_id,
                kind=AlertKind.BUDGET,
                period=month,
                threshold=step,
                day=today,
                amount=forecast.total,
                budget=budget,
            )
            for step in budget_steps_reached(forecast.total, budget)
            if (customer_id, step) not in known
        ]
    return found


def _vacation_events(today: datetime.date) -> list[AlertEvent]:
    """One event per vacation with use above the threshold on a day away: its first such day and the use of all.
    One aggregate query over the reads of the accounts away (joined through their setting)."""
    late = today - datetime.timedelta(days=VACATION_LATE_READS_DAYS)
    away = "customer__alert_setting__"
    rows = (
        MeterRead.objects.filter(
            read_date__gte=F(f"{away}away_from"),
            read_date__lte=F(f"{away}away_until"),
            **{f"{away}away_from__lt": today, f"{away}away_until__gte": late},
            usage_ccf__gt=VACATION_THRESHOLD_CCF,
        )
        .values("customer_id", f"{away}away_from")
        .annotate(first=Min("read_date"), units=Sum(Round(F("usage_ccf") * 10_000)))
        .order_by()
    )
    known = set(
        AlertEvent.objects.filter(kind=AlertKind.VACATION, customer__alert_setting__away_until__gte=late).values_list(
            "customer_id", "period"
        )
    )
    return [
        AlertEvent(
            customer_id=row["customer_id"],
            kind=AlertKind.VACATION,
            period=row[f"{away}away_from"],
            threshold=0,
            day=row["first"],
            usage_ccf=(Decimal(int(row["units"])) / 10_000).quantize(FOUR_PLACES),
        )
        for row in rows
        if (row["customer_id"], row[f"{away}away_from"]) not in known
    ]


def _email_new(started: datetime.datetime) -> int:
    """Email the events this check recorded, and those of the last EMAIL_RETRY whose email was refused, to the
    accounts that asked, one email per account; each event is claimed first (emailed_at set by one UPDATE), so
    a concurrent check never sends it again."""
    fresh = (
        AlertEvent.objects.filter(
            created_at__gte=started - EMAIL_RETRY, emailed_at__isnull=True, customer__alert_setting__email=True
        )
        .select_related("customer__user", "customer__alert_setting")
        .order_by("customer_id", "kind", "-threshold")
    )
    by_customer: dict[int, list[AlertEvent]] = {}
    for event in fresh:
        if AlertEvent.objects.filter(pk=event.pk, emailed_at__isnull=True).update(emailed_at=timezone.now()):
            by_customer.setdefault(event.customer_id, []).append(event)
    return sum(_email_customer(events) for events in by_customer.values())


def _email_customer(events: list[AlertEvent]) -> int:
    customer = events[0].customer
    address = customer.email or customer.billing_email
    if not address:
        return 0
    budget = [e for e in events if e.kind == AlertKind.BUDGET][:1]  # the highest step only: one clear figure
    shown = budget + [e for e in events if e.kind == AlertKind.VACATION]
    site = settings.SITE_URL.rstrip("/")
    context = {
        "customer": customer,
        "alerts": [alert_text(e) for e in shown],
        "portal_link": site + reverse("portal:dashboard"),
        "alerts_link": site + reverse("portal:alerts"),
        "utility_name": settings.UTILITY_NAME,
        "utility_phone": settings.UTILITY_PHONE,
    }
    subject = "HydroSpark: water used while you are away" if not budget else "HydroSpark: your water budget"
    message = EmailMessage(
        subject=subject,
        body=render_to_string("portal/email/alert.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
    )
    try:
        message.send()
    except (OSError, smtplib.SMTPException) as error:  # the dashboard shows it anyway; the next check retries
        log.warning("Alert email to %s failed: %s", customer.location_id, error)
        AlertEvent.objects.filter(pk__in=[e.pk for e in events]).update(emailed_at=None)
        return 0
    return 1


# --- how I compare ---------------------------------------------------------------------------------------


@transaction.atomic
def comparisons_refresh(*, period: datetime.date) -> int:
    """Recompute one month's comparison groups from the accounts read every day of it: per customer type and
    ZIP code, and per type and cycle, the median and the 20th percentile, for groups of at least
    MIN_SIMILAR_ACCOUNTS. Replaces that month's groups; returns how many were stored."""
    period = period.replace(day=1)
    groups = _comparison_groups(period, _month_totals(period))
    ComparisonGroup.objects.filter(period=period).delete()
    ComparisonGroup.objects.bulk_create(groups)
    return len(groups)


def _month_totals(period: datetime.date) -> list[tuple[str, str, str, Decimal]]:
    """(customer type, ZIP, cycle, CCF) of every account with a read on each day of the month. One query."""
    end = periods.month_end(period)
    rows = (
        MeterRead.objects.filter(read_date__gte=period, read_date__lte=end)
        .values("customer_id", "customer__customer_type", "customer__cycle_number", "customer__mailing_address")
        .annotate(days=Count("id"), units=Sum(Round(F("usage_ccf") * 10_000)))
        .filter(days=(end - period).days + 1)
        .order_by()
    )
    return [
        (
            row["customer__customer_type"],
            zip_code(row["customer__mailing_address"]),
            str(row["customer__cycle_number"]),
            Decimal(int(row["units"])) / 10_000,
        )
        for row in rows
    ]


def _comparison_groups(period, totals) -> list[ComparisonGroup]:
    members: dict[tuple[str, str, str], list[float]] = {}
    for customer_type, zip_, cycle, ccf in totals:
        if zip_:
            members.setdefault((customer_type, ComparisonGroup.Basis.ZIP, zip_), []).append(float(ccf))
        members.setdefault((customer_type, ComparisonGroup.Basis.CYCLE, cycle), []).append(float(ccf))
    return [
        ComparisonGroup(
            period=period,
            customer_type=customer_type,
            basis=basis,
            key=key,
            accounts=len(values),
            median_ccf=_four(np.percentile(values, 50)),
            efficient_ccf=_four(np.percentile(values, 20)),
        )
        for (customer_type, basis, key), values in sorted(members.items())
        if len(values) >= MIN_SIMILAR_ACCOUNTS
    ]


def _four(value: float) -> Decimal:
    return Decimal(str(value)).quantize(FOUR_PLACES, rounding=ROUND_HALF_UP)
