"""Who is told about incidents (SPEC §3a): Operations' digest, per incident, and customers' emails, once each.

The digest takes every open incident no digest has delivered yet (never digested, or in a digest that
failed or whose sender died), so one that could not go out is sent by the next detection. Each digest row
records what it covered. A customer's email claims each incident with one conditional UPDATE, so two
detections running at once never email the same incident twice.
"""

import datetime
import logging
import smtplib
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q, Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from accounts.roles import Role

from .models import DetectionRun, Digest, Incident, Kind, Status

log = logging.getLogger(__name__)
DIGEST_TOP = 20
SENDER_LOST = datetime.timedelta(minutes=30)  # a digest "sending" this long ago died with its process
ALERT_DAYS = 7  # customers hear of incidents that went on in the last week, not of years of history


@dataclass
class NotifyResult:
    digest: Digest | None
    customers_emailed: int

    @property
    def digest_failed(self) -> bool:
        return self.digest is not None and self.digest.state == Digest.State.FAILED


def detection_notify(*, runs: list[DetectionRun]) -> NotifyResult:
    """After a detection: the digest to Operations, then customers' emails."""
    return NotifyResult(digest_send(runs=runs), customer_alerts_send())


def _operations_emails() -> list[str]:
    return list(
        User.objects.filter(is_active=True, groups__name=Role.OPERATIONS)
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
        .distinct()
    )


def _undelivered():
    """Open incidents no digest has delivered: never digested, in a failed digest, or one whose sender died."""
    lost = timezone.now() - SENDER_LOST
    return Incident.objects.filter(status=Status.OPEN).filter(
        Q(digest__isnull=True)
        | Q(digest__state=Digest.State.FAILED)
        | Q(digest__state=Digest.State.SENDING, digest__created_at__lt=lost)
    )


def digest_send(*, runs: list[DetectionRun]) -> Digest | None:
    """One email to every active Operations login: the new incidents, leaks first, then the costliest
    spikes. Returns the digest row (state sent or failed), or None when there is no one to send to."""
    recipients = _operations_emails()
    if not recipients or not runs:
        return None
    with transaction.atomic():
        digest = Digest.objects.create(created_at=timezone.now(), recipients=len(recipients))
        claimed = Incident.objects.filter(pk__in=list(_undelivered().values_list("pk", flat=True)))
        digest.incidents_covered = claimed.update(digest=digest)
        digest.save(update_fields=["incidents_covered"])
    context = _digest_context(digest, runs)
    message = EmailMultiAlternatives(
        subject=context["subject"],
        body=render_to_string("anomalies/email/digest.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=recipients,
    )
    message.attach_alternative(render_to_string("anomalies/email/digest.html", context), "text/html")
    try:
        message.send()
    except (OSError, smtplib.SMTPException) as error:  # refused, unreachable, timed out: the next run sends it
        digest.state, digest.error = Digest.State.FAILED, f"{type(error).__name__}: {error}"[:2000]
        log.warning("The anomaly digest could not be sent: %s", digest.error)
    else:
        digest.state, digest.sent_at = Digest.State.SENT, timezone.now()
    digest.save(update_fields=["state", "error", "sent_at"])
    return digest


def _digest_context(digest: Digest, runs: list[DetectionRun]) -> dict:
    covered = Incident.objects.filter(digest=digest).select_related("customer")
    site = settings.SITE_URL.rstrip("/")
    leaks = list(covered.filter(kind=Kind.LEAK).order_by("-estimated_cost", "-end", "pk")[:DIGEST_TOP])
    spikes = list(covered.filter(kind=Kind.SPIKE).order_by("-estimated_cost", "-end", "pk")[:DIGEST_TOP])
    for incident in leaks + spikes:
        incident.link = site + reverse("anomalies:incident", args=[incident.pk])
    totals = covered.aggregate(cost=Sum("estimated_cost"))
    n_leaks = covered.filter(kind=Kind.LEAK).count()
    count = digest.incidents_covered
    word = "incident" if count == 1 else "incidents"
    return {
        "subject": f"HydroSpark: {count:,} new {word} ({n_leaks:,} possible leak{'' if n_leaks == 1 else 's'})",
        "runs": runs,
        "created": count,
        "n_leaks": n_leaks,
        "n_spikes": count - n_leaks,
        "total_cost": totals["cost"] or 0,
        "leaks": leaks,
        "spikes": spikes,
        "queue_link": site + reverse("anomalies:queue"),
    }


# --- customers' emails --------------------------------------------------------------------------------


def customer_alerts_send(*, today: datetime.date | None = None) -> int:
    """Email each customer who asked for usage alerts (and has an active login) about their open incidents
    that customers are told of (SPEC §3a) and that went on in the last week, once per incident. Returns emails."""
    since = (today or timezone.localdate()) - datetime.timedelta(days=ALERT_DAYS)
    candidates = (
        Incident.objects.filter(
            status=Status.OPEN,
            notify=True,
            customer_emailed_at__isnull=True,
            end__gte=since,
            customer__notify_usage_alerts=True,
            customer__user__is_active=True,
        )
        .select_related("customer__user")
        .order_by("customer__location_id", "-end")
    )
    by_customer: dict[int, list[Incident]] = {}
    for incident in candidates:
        # The claim: whoever sets customer_emailed_at first emails it (a concurrent detection gets 0 rows).
        if Incident.objects.filter(pk=incident.pk, customer_emailed_at__isnull=True).update(
            customer_emailed_at=timezone.now()
        ):
            by_customer.setdefault(incident.customer_id, []).append(incident)
    return sum(_email_customer(incidents) for incidents in by_customer.values())


def _email_customer(incidents: list[Incident]) -> int:
    from .selectors import notice_from_incident

    customer = incidents[0].customer
    site = settings.SITE_URL.rstrip("/")
    today = timezone.localdate()
    notices = [notice_from_incident(incident, today=today) for incident in incidents]
    context = {
        "customer": customer,
        "notices": notices,
        "leak": any(incident.kind == Kind.LEAK for incident in incidents),
        "portal_link": site + reverse("portal:dashboard"),
        "profile_link": site + reverse("portal:profile"),
        "utility_phone": settings.UTILITY_PHONE,
        "utility_name": settings.UTILITY_NAME,
    }
    message = EmailMultiAlternatives(
        subject="HydroSpark: possible leak on your account"
        if context["leak"]
        else "HydroSpark: unusually high water use",
        body=render_to_string("anomalies/email/customer_alert.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[customer.user.email],
    )
    message.attach_alternative(render_to_string("anomalies/email/customer_alert.html", context), "text/html")
    try:
        message.send()
    except (OSError, smtplib.SMTPException) as error:  # this mailbox only; the portal shows the notice anyway
        log.warning("Usage alert to %s failed: %s", customer.location_id, error)
        Incident.objects.filter(pk__in=[i.pk for i in incidents]).update(customer_emailed_at=None)  # next run retries
        return 0
    return 1
