"""What the portal keeps of its own (issue 16): the alerts a customer chose, the alerts they were sent (one row per
event, so a second check sends nothing), and the comparison figures of similar homes, precomputed per month."""

from django.core.validators import MinValueValidator
from django.db import models

from accounts.models import Customer, CustomerType


class AlertSetting(models.Model):
    """The alerts one account chose: a monthly budget and a vacation (dates away). The high-use alert is the
    incidents' notice (anomalies), switched by Customer.notify_usage_alerts, and is not repeated here."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="alert_setting")
    budget = models.DecimalField(
        "monthly budget",
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Tell me when the anticipated bill reaches 75%, 90% and 100% of this amount.",
    )
    away_from = models.DateField("away from", null=True, blank=True)
    away_until = models.DateField("away until", null=True, blank=True)
    email = models.BooleanField("email me these alerts", default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # check_alerts reads only the accounts with something set, through these.
        indexes = [
            models.Index(fields=["budget"], name="alert_budget_set", condition=models.Q(budget__isnull=False)),
            models.Index(fields=["away_until"], name="alert_away_set", condition=models.Q(away_until__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(away_from__isnull=True, away_until__isnull=True)
                | models.Q(away_from__isnull=False, away_until__isnull=False, away_from__lte=models.F("away_until")),
                name="alert_away_dates_in_order",
            )
        ]

    def __str__(self):
        return f"Alerts of {self.customer.location_id}"


class AlertKind(models.TextChoices):
    BUDGET = "budget", "Budget"
    VACATION = "vacation", "Vacation"


class AlertEvent(models.Model):
    """One alert as it happened, recorded once: a budget threshold (75, 90, 100) of a month, or a vacation's
    first day of use (threshold 0). The unique constraint is what makes every check idempotent."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="alert_events")
    kind = models.CharField(max_length=10, choices=AlertKind.choices)
    period = models.DateField(help_text="Budget: the month's first day. Vacation: the first day away.")
    threshold = models.PositiveSmallIntegerField(help_text="Percent of the budget reached; 0 for a vacation.")
    day = models.DateField(help_text="The day it was found: the check's date, or the vacation day with use.")
    amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    budget = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    usage_ccf = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "kind", "period", "threshold"], name="alert_once_per_event")
        ]
        indexes = [models.Index(fields=["customer", "-period"], name="alert_customer_newest")]

    def __str__(self):
        return f"{self.customer.location_id} {self.kind} {self.period} {self.threshold}%"


class ComparisonGroup(models.Model):
    """Aggregates of one month's use by similar homes: a customer type and a ZIP code (or, where the ZIP has too
    few accounts, a billing cycle). Only groups of MIN_ACCOUNTS or more are stored; never any one account's use."""

    class Basis(models.TextChoices):
        ZIP = "zip", "ZIP code"
        CYCLE = "cycle", "Billing cycle"

    period = models.DateField(help_text="The month's first day.")
    customer_type = models.CharField(max_length=20, choices=CustomerType.choices)
    basis = models.CharField(max_length=5, choices=Basis.choices)
    key = models.CharField(max_length=10, help_text="The ZIP code or the cycle number.")
    accounts = models.PositiveIntegerField()
    median_ccf = models.DecimalField(max_digits=14, decimal_places=4)
    efficient_ccf = models.DecimalField(
        max_digits=14, decimal_places=4, help_text="The 20th percentile: a fifth of similar homes use this or less."
    )
    refreshed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["period", "customer_type", "basis", "key"], name="comparison_one_per_group")
        ]

    def __str__(self):
        return f"{self.period:%Y-%m} {self.customer_type} {self.basis} {self.key}"
