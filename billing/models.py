"""Rate schedules, bill runs, bills with their lines, and payments (SPEC §2).

Bills are written by billing.services only. An issued bill is final: it keeps its lines and the
rate schedule version it used, whatever happens to the schedule later.
"""

import calendar
import datetime
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Case, DecimalField, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Round
from django.utils import timezone

from accounts.models import Customer, CustomerType

from .pricing import Fee, RatePlan, Tier

MONEY = {"max_digits": 12, "decimal_places": 2}
CENT = Decimal("0.01")


class RateSchedule(models.Model):
    """One version of the rates: in effect from `effective_from`, for one customer type or all of them.

    Which version prices a period (billing.selectors.rate_plan_for): among the versions in effect on the
    period's first day, the latest version for the customer's own type wins; only when the type has
    none does the latest all-types version apply. Once an issued bill used a version, it is read-only:
    a change of rates is a new version with a later effective date.
    """

    name = models.CharField(max_length=200)
    customer_type = models.CharField(
        max_length=20,
        choices=CustomerType.choices,
        blank=True,
        help_text="Leave empty for a schedule that applies to every customer type.",
    )
    effective_from = models.DateField(help_text="The first billing period (month) that this version prices.")
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-effective_from", "customer_type"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer_type", "effective_from"], name="one_rate_version_per_type_and_day"
            ),
        ]

    def __str__(self):
        scope = self.get_customer_type_display() if self.customer_type else "all types"
        return f"{self.name} ({scope}, from {self.effective_from:%Y-%m-%d})"

    def to_plan(self) -> RatePlan:
        """The pure pricing plan of this version (use prefetch_related for tiers, multipliers, fees)."""
        tiers = sorted(self.tiers.all(), key=lambda t: (t.up_to is None, t.up_to or 0))
        return RatePlan(
            tiers=tuple(Tier(t.up_to, t.rate) for t in tiers),
            multipliers={m.month: m.multiplier for m in self.multipliers.all()},
            fees=tuple(
                Fee(f.label, f.amount, f.code) for f in sorted(self.fees.all(), key=lambda f: (f.position, f.pk))
            ),
            version_label=str(self),
        )


class RateTier(models.Model):
    schedule = models.ForeignKey(RateSchedule, on_delete=models.CASCADE, related_name="tiers")
    up_to = models.DecimalField(
        "up to (CCF)",
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.0001"))],
        help_text="Cumulative upper bound of this tier in CCF; leave empty on the last tier (no bound).",
    )
    rate = models.DecimalField(
        "rate ($/CCF)", max_digits=10, decimal_places=4, validators=[MinValueValidator(Decimal("0"))]
    )

    class Meta:
        ordering = ["schedule", F("up_to").asc(nulls_last=True)]

    def __str__(self):
        return f"up to {self.up_to} CCF at ${self.rate}" if self.up_to is not None else f"above: ${self.rate}"


class SeasonalMultiplier(models.Model):
    schedule = models.ForeignKey(RateSchedule, on_delete=models.CASCADE, related_name="multipliers")
    month = models.PositiveSmallIntegerField(
        choices=[(m, calendar.month_name[m]) for m in range(1, 13)],
        validators=[MinValueValidator(1), MaxValueValidator(12)],
    )
    multiplier = models.DecimalField(
        max_digits=6, decimal_places=4, validators=[MinValueValidator(Decimal("0"))], help_text="e.g. 1.20 or 0.90"
    )

    class Meta:
        ordering = ["schedule", "month"]
        constraints = [models.UniqueConstraint(fields=["schedule", "month"], name="one_multiplier_per_month")]

    def __str__(self):
        return f"{calendar.month_name[self.month]} ×{self.multiplier}"


class FeeCode(models.TextChoices):
    BASE = "base", "Base service"
    INFRASTRUCTURE = "infrastructure", "Infrastructure"
    OTHER = "other", "Other"


class RateFee(models.Model):
    schedule = models.ForeignKey(RateSchedule, on_delete=models.CASCADE, related_name="fees")
    code = models.CharField(
        max_length=20, choices=FeeCode.choices, help_text="Exports put base and infrastructure fees in own columns."
    )
    label = models.CharField(max_length=100, help_text="As printed on the bill.")
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(Decimal("0"))])
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["schedule", "position", "id"]

    def __str__(self):
        return f"{self.label} ${self.amount}"


class BillingPeriodLock(models.Model):
    """One row per billing period, locked (select_for_update) by every run, issue and rerun of that
    period, so two runs of the same period never interleave (the unique bill constraint backs it up)."""

    period = models.DateField(unique=True)

    def __str__(self):
        return f"{self.period:%Y-%m}"


class BillRun(models.Model):
    """One bill run, issue or sending for a period, with its figures (the run's report)."""

    class Action(models.TextChoices):
        COMPUTE = "compute", "Compute drafts"
        ISSUE = "issue", "Issue"
        SEND = "send", "Send"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    period = models.DateField()
    cycles = models.JSONField(default=list, blank=True, help_text="Cycle numbers; empty means every cycle.")
    action = models.CharField(max_length=10, choices=Action.choices, default=Action.COMPUTE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Moved forward by the running task as it makes progress; a running run whose heartbeat stopped
    # is failed by the sweep (fail_stalled_runs) so the period can be run again.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    bills_created = models.PositiveIntegerField(default=0)
    bills_recomputed = models.PositiveIntegerField(default=0)
    issued_untouched = models.PositiveIntegerField(default=0)
    customers_without_reads = models.PositiveIntegerField(default=0)
    partial_bills = models.PositiveIntegerField(default=0)
    bills_issued = models.PositiveIntegerField(default=0)
    bills_sent = models.PositiveIntegerField(default=0)
    without_email = models.PositiveIntegerField(default=0)
    send_failures = models.PositiveIntegerField(default=0)
    total_billed = models.DecimalField(**MONEY, default=Decimal("0"))
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["period", "-created_at"])]

    def __str__(self):
        cycles = f" cycles {', '.join(map(str, self.cycles))}" if self.cycles else ""
        return f"{self.title} {self.period:%Y-%m}{cycles} ({self.get_status_display()})"

    @property
    def title(self) -> str:
        if self.action == self.Action.COMPUTE and self.bills_issued:
            return "Compute and issue"
        return self.get_action_display()


class PaymentStatus(models.TextChoices):
    UNPAID = "unpaid", "Unpaid"
    PARTIALLY_PAID = "partially_paid", "Partially paid"
    PAID = "paid", "Paid"
    OVERDUE = "overdue", "Overdue"


def _cents(expression):
    # Money compared in SQL as integer cents: SQLite stores decimals as REAL, where 33.33 + 33.33 + 33.34
    # need not equal 100.00.
    return Round(expression * 100)


class BillQuerySet(models.QuerySet):
    def issued(self):
        return self.filter(status=Bill.Status.ISSUED)

    def drafts(self):
        return self.filter(status=Bill.Status.DRAFT)

    def with_payment_status(self, today: datetime.date | None = None):
        """Annotate paid_amount (Decimal), open_balance (Decimal) and payment_status (PaymentStatus value;
        "" for drafts) in one query, with no join fan-out: payments are summed in a subquery."""
        today = today or timezone.localdate()
        paid = (
            Payment.objects.filter(bill=OuterRef("pk"))
            .order_by()
            .values("bill")
            .annotate(cents=Sum(_cents(F("amount"))))
            .values("cents")
        )
        cents = DecimalField(max_digits=14, decimal_places=0)
        return self.annotate(
            paid_cents=Coalesce(Subquery(paid, output_field=cents), Value(Decimal("0")), output_field=cents),
            total_cents=_cents(F("total_amount")),
            payment_status=Case(
                When(status=Bill.Status.DRAFT, then=Value("")),
                When(paid_cents__gte=F("total_cents"), then=Value(PaymentStatus.PAID.value)),
                When(due_date__lt=today, then=Value(PaymentStatus.OVERDUE.value)),
                When(paid_cents__gt=0, then=Value(PaymentStatus.PARTIALLY_PAID.value)),
                default=Value(PaymentStatus.UNPAID.value),
                output_field=models.CharField(),
            ),
        )

    def with_status(self, status: str, today: datetime.date | None = None):
        return self.with_payment_status(today).filter(payment_status=status)


class Bill(models.Model):
    """A customer's bill for one period (the month starting on `period`)."""

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        ISSUED = "issued", "Issued"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="bills")
    period = models.DateField(help_text="The first day of the billed month.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    number = models.CharField(max_length=20, unique=True, null=True, blank=True)
    issue_date = models.DateField(null=True, blank=True)
    due_date = models.DateField(null=True, blank=True)
    usage_ccf = models.DecimalField("usage (CCF)", max_digits=12, decimal_places=4)
    days_read = models.PositiveSmallIntegerField()
    days_in_period = models.PositiveSmallIntegerField()
    usage_charge = models.DecimalField(**MONEY)
    fees = models.DecimalField(**MONEY)
    total_amount = models.DecimalField(**MONEY)
    rate_schedule = models.ForeignKey(RateSchedule, on_delete=models.PROTECT, related_name="bills")
    run = models.ForeignKey(BillRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="bills")
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_to = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = BillQuerySet.as_manager()

    class Meta:
        ordering = ["-period", "customer"]
        constraints = [models.UniqueConstraint(fields=["customer", "period"], name="one_bill_per_customer_period")]
        indexes = [models.Index(fields=["period", "status"]), models.Index(fields=["status", "due_date"])]

    def __str__(self):
        return self.number or f"Draft {self.period:%Y-%m} for {self.customer_id}"

    @property
    def is_issued(self) -> bool:
        return self.status == self.Status.ISSUED

    @property
    def is_partial(self) -> bool:
        return self.days_read < self.days_in_period

    @property
    def period_end(self) -> datetime.date:
        return self.period.replace(day=calendar.monthrange(self.period.year, self.period.month)[1])

    @property
    def usage_gallons(self) -> int:
        return int((self.usage_ccf * 748).to_integral_value())

    def paid_amount(self) -> Decimal:
        """Sum of the payments, exact (summed in Python: SQLite sums decimals as floats)."""
        if hasattr(self, "paid_cents"):
            return (Decimal(self.paid_cents) / 100).quantize(CENT)
        return sum((p.amount for p in self.payments.all()), Decimal("0.00"))

    def open_balance(self) -> Decimal:
        return self.total_amount - self.paid_amount() if self.is_issued else Decimal("0.00")

    def payment_status_for(self, today: datetime.date | None = None) -> str:
        """PaymentStatus value for one bill ("" for a draft); the same rule as with_payment_status."""
        if not self.is_issued:
            return ""
        today = today or timezone.localdate()
        paid = self.paid_amount()
        if paid >= self.total_amount:
            return PaymentStatus.PAID
        if self.due_date and today > self.due_date:
            return PaymentStatus.OVERDUE
        return PaymentStatus.PARTIALLY_PAID if paid > 0 else PaymentStatus.UNPAID

    def get_payment_status_display(self) -> str:
        status = getattr(self, "payment_status", None)
        status = self.payment_status_for() if status is None else status
        return PaymentStatus(status).label if status else "Draft"


class BillLine(models.Model):
    """A printed line of a bill: one per tier used, the seasonal adjustment, each fee (they add up to the total)."""

    class Kind(models.TextChoices):
        TIER = "tier", "Usage tier"
        SEASONAL = "seasonal", "Seasonal adjustment"
        ROUNDING = "rounding", "Rounding"
        FEE = "fee", "Fee"

    # No index of its own: the unique (bill, position) constraint's index serves every lookup by bill,
    # and one index less makes bill runs write their lines faster.
    bill = models.ForeignKey(Bill, on_delete=models.CASCADE, related_name="lines", db_index=False)
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    code = models.CharField(max_length=20, blank=True)
    label = models.CharField(max_length=120)
    quantity = models.DecimalField(max_digits=14, decimal_places=4)
    rate = models.DecimalField(max_digits=12, decimal_places=4)
    amount = models.DecimalField(**MONEY)

    class Meta:
        ordering = ["bill", "position"]
        constraints = [models.UniqueConstraint(fields=["bill", "position"], name="one_line_per_position")]

    def __str__(self):
        return f"{self.label}: {self.amount}"

    @property
    def quantity_text(self) -> str:
        """As printed: "3.01 CCF" for a tier, "on $34.03" for an adjustment, nothing for a fee."""
        if self.kind == self.Kind.TIER:
            return f"{self.quantity.normalize():f} CCF"
        if self.kind in (self.Kind.SEASONAL, self.Kind.ROUNDING):
            return f"on ${self.quantity:,.2f}"
        return ""

    @property
    def rate_text(self) -> str:
        if self.kind == self.Kind.TIER:
            rate = self.rate.normalize()
            return f"${rate if rate.as_tuple().exponent <= -2 else rate.quantize(CENT):f}/CCF"
        if self.kind in (self.Kind.SEASONAL, self.Kind.ROUNDING):
            return f"×{self.rate.normalize():f}"
        return ""

    @property
    def amount_text(self) -> str:
        return f"−${-self.amount:,.2f}" if self.amount < 0 else f"${self.amount:,.2f}"


class Payment(models.Model):
    class Method(models.TextChoices):
        CARD = "card", "Card"
        BANK_TRANSFER = "bank_transfer", "Bank transfer (ACH)"
        CHECK = "check", "Check"
        CASH = "cash", "Cash"
        OTHER = "other", "Other"

    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(CENT)])
    paid_on = models.DateField()
    method = models.CharField(max_length=20, choices=Method.choices)
    reference = models.CharField(max_length=100, blank=True, help_text="Check number, transaction id, …")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_on", "-id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive")]

    def __str__(self):
        return f"${self.amount} on {self.paid_on:%Y-%m-%d} for {self.bill}"
