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
from django.db.models.functions import Coalesce, Greatest, Least, Round
from django.utils import timezone

from accounts.models import Customer, CustomerType

from .exceptions import BillingError
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
    # SPEC §2a: the late fee of a bill priced by this version: this percent of what is still open after
    # the grace days past its due date.
    late_fee_percent = models.DecimalField(
        "late fee (%)",
        max_digits=5,
        decimal_places=2,
        default=Decimal("5.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Charged once on a bill still open after the grace days; 0 charges none.",
    )
    late_fee_grace_days = models.PositiveSmallIntegerField(
        "late fee grace (days)",
        default=5,
        validators=[MaxValueValidator(365)],
        help_text="Days after the due date before a late fee (payments dated up to the last day count).",
    )
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
        PRINT = "print", "Print"

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


def _cents_sum(queryset, sign: int = 1):
    """A one-value subquery: sign × the sum of the rows' amounts in integer cents (grouped by customer)."""
    return queryset.values("customer").annotate(c=Sum(_cents(F("amount") * sign))).values("c")


class BillQuerySet(models.QuerySet):
    def issued(self):
        return self.filter(status=Bill.Status.ISSUED)

    def drafts(self):
        return self.filter(status=Bill.Status.DRAFT)

    def with_payment_status(self, today: datetime.date | None = None):
        """Annotate open_cents, paid_cents (what the account's credits settled of the bill, by
        billing.ledger's rule as of `today`) and payment_status (PaymentStatus value; "" for drafts and
        cancelled bills) in one query: three correlated subqueries over the customer's ledger."""
        today = today or timezone.localdate()
        live = LedgerEntry.objects.live_on(today).filter(customer=OuterRef("customer_id")).order_by()
        bill_entry = LedgerEntry.objects.filter(bill=OuterRef("pk"), kind=LedgerEntry.Kind.BILL).values("id")[:1]
        ahead = live.charges().filter(
            Q(due_date__lt=OuterRef("due_date")) | Q(due_date=OuterRef("due_date"), id__lt=OuterRef("ledger_entry_id"))
        )
        cents = DecimalField(max_digits=14, decimal_places=0)
        zero = Value(Decimal("0"), output_field=cents)
        settled = Least(F("total_cents"), Greatest(zero, F("credit_cents") - F("ahead_cents")))
        return self.annotate(
            ledger_entry_id=Subquery(bill_entry),
            total_cents=_cents(F("total_amount")),
            ahead_cents=Coalesce(Subquery(_cents_sum(ahead), output_field=cents), zero, output_field=cents),
            credit_cents=Coalesce(Subquery(_cents_sum(live.credits(), sign=-1), output_field=cents), zero),
            paid_cents=Case(When(status=Bill.Status.ISSUED, then=settled), default=zero, output_field=cents),
            open_cents=Case(
                When(status=Bill.Status.ISSUED, then=F("total_cents") - F("paid_cents")),
                default=zero,
                output_field=cents,
            ),
            payment_status=Case(
                When(~Q(status=Bill.Status.ISSUED), then=Value("")),
                When(open_cents__lte=0, then=Value(PaymentStatus.PAID.value)),
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
        CANCELLED = "cancelled", "Cancelled"

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
    # Cancel and rebill (SPEC §2a): a cancelled bill is kept; the corrected bill names the one it replaces.
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # db_default: the bill run writes bills with a plain multi-row INSERT that names only its columns
    cancel_reason = models.TextField(blank=True, default="", db_default="")
    # The late-fee run that judged this bill once its grace period was over (a fee charged, or nothing open):
    # each run reads only the bills not judged yet, so the daily run costs the day's bills, not all history.
    late_fee_assessed_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = BillQuerySet.as_manager()

    class Meta:
        ordering = ["-period", "customer"]
        constraints = [
            # A cancelled bill stays beside the bill that replaces it: only one may be live per period.
            models.UniqueConstraint(
                fields=["customer", "period"],
                condition=~Q(status="cancelled"),
                name="one_live_bill_per_customer_period",
            )
        ]
        indexes = [
            models.Index(fields=["period", "status"]),
            models.Index(fields=["status", "due_date"]),
            models.Index(fields=["status", "late_fee_assessed_on", "due_date"], name="bill_late_fee_pending"),
        ]

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

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED

    def _settled(self, today: datetime.date | None = None) -> "Bill":
        """This bill with with_payment_status's annotations (itself when it carries them)."""
        if hasattr(self, "paid_cents") and today is None:
            return self
        return Bill.objects.with_payment_status(today).get(pk=self.pk)

    def paid_amount(self, today: datetime.date | None = None) -> Decimal:
        """What the account's credits settled of this bill (billing.ledger's rule), exact."""
        return (Decimal(int(self._settled(today).paid_cents)) / 100).quantize(CENT)

    def open_balance(self, today: datetime.date | None = None) -> Decimal:
        """What is still open of this bill (0 for drafts and cancelled bills)."""
        return (Decimal(int(self._settled(today).open_cents)) / 100).quantize(CENT)

    def payment_status_for(self, today: datetime.date | None = None) -> str:
        """PaymentStatus value for one bill ("" for a draft or a cancelled bill): with_payment_status's rule."""
        return self._settled(today).payment_status

    def get_payment_status_display(self) -> str:
        status = getattr(self, "payment_status", None)
        status = self.payment_status_for() if status is None else status
        if status:
            return PaymentStatus(status).label
        return self.get_status_display()


class PrintFile(models.Model):
    """One print file for the mail house (SPEC §2b): a US Letter PDF of the period's bills that go on paper,
    in mailing order, and its manifest CSV. The bills it holds are its PRINTED BillDelivery rows."""

    period = models.DateField()
    run = models.OneToOneField(BillRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="print_file")
    pdf_path = models.CharField(max_length=500)
    manifest_path = models.CharField(max_length=500)
    bills = models.PositiveIntegerField(default=0)
    pages = models.PositiveIntegerField(default=0)
    reprint = models.BooleanField(default=False, help_text="Printed again bills that were printed before.")
    actor_label = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Print file {self.period:%Y-%m} #{self.pk} ({self.bills} bills)"


class BillDelivery(models.Model):
    """One attempt to deliver a bill (SPEC §2b): an email handed to the mail server, or the bill put in a
    print file. An email is SENDING from just before it goes to the server until the server answers; a
    bill counts as emailed only once a row is SENT (the server accepted the message)."""

    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        PAPER = "paper", "Paper"

    class Status(models.TextChoices):
        SENDING = "sending", "Sending"
        SENT = "sent", "Emailed"
        FAILED = "failed", "Failed"
        PRINTED = "printed", "Printed"

    bill = models.ForeignKey(Bill, on_delete=models.PROTECT, related_name="deliveries")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(max_length=10, choices=Status.choices)
    address = models.CharField(max_length=300, blank=True, help_text="The email address, or the mailing address.")
    error = models.TextField(blank=True)
    print_file = models.ForeignKey(
        PrintFile, null=True, blank=True, on_delete=models.PROTECT, related_name="deliveries"
    )
    first_page = models.PositiveIntegerField(null=True, blank=True)
    pages = models.PositiveIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=200, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name_plural = "bill deliveries"
        indexes = [models.Index(fields=["bill", "channel", "status"], name="delivery_bill_channel_status")]

    def __str__(self):
        return f"{self.bill} {self.get_channel_display()} {self.get_status_display()}"


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
        """As printed: "3.01 CCF" for a tier; for the seasonal line the share it adds or takes off, of
        what it applies to ("20% of $31.06", the line being the extra 20%, not the ×1.2 total);
        "on $34.03" for a rounding line; nothing for a fee."""
        if self.kind == self.Kind.TIER:
            return f"{self.quantity.normalize():f} CCF"
        if self.kind == self.Kind.SEASONAL:
            share = (abs(self.rate - 1) * 100).normalize()
            return f"{share:f}% of ${self.quantity:,.2f}"
        if self.kind == self.Kind.ROUNDING:
            return f"on ${self.quantity:,.2f}"
        return ""

    @property
    def rate_text(self) -> str:
        if self.kind == self.Kind.TIER:
            rate = self.rate.normalize()
            return f"${rate if rate.as_tuple().exponent <= -2 else rate.quantize(CENT):f}/CCF"
        return ""  # the seasonal share is in quantity_text; rounding and fees have no rate to show

    @property
    def amount_text(self) -> str:
        return f"−${-self.amount:,.2f}" if self.amount < 0 else f"${self.amount:,.2f}"


class Payment(models.Model):
    """A payment to the customer's account (SPEC §2a): it settles open charges oldest due first through
    the ledger, never one bill. Each one has exactly one PAYMENT ledger entry."""

    class Method(models.TextChoices):
        CARD = "card", "Card"
        BANK_TRANSFER = "bank_transfer", "Bank transfer (ACH)"
        CHECK = "check", "Check"
        CASH = "cash", "Cash"
        OTHER = "other", "Other"

    class Source(models.TextChoices):
        STAFF = "staff", "Recorded by staff"
        BANK_FILE = "bank_file", "Bank file"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(**MONEY, validators=[MinValueValidator(CENT)])
    paid_on = models.DateField()
    method = models.CharField(max_length=20, choices=Method.choices)
    reference = models.CharField(max_length=100, blank=True, help_text="Check number, transaction id, …")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.STAFF)
    recorded_by = models.ForeignKey(  # never searched by: no index to write per payment
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-paid_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            # Bank files are idempotent by (location, reference): the same file twice records each once.
            models.UniqueConstraint(
                fields=["customer", "reference"], condition=~Q(reference=""), name="one_payment_per_reference"
            ),
        ]
        indexes = [models.Index(fields=["paid_on"])]

    def __str__(self):
        return f"${self.amount} on {self.paid_on:%Y-%m-%d} from {self.customer_id}"


class AdjustmentReason(models.TextChoices):
    LEAK_ALLOWANCE = "leak_allowance", "Leak allowance"
    GOODWILL = "goodwill", "Goodwill"
    CORRECTION = "correction", "Correction"
    WRITE_OFF = "write_off", "Write-off"


class LedgerEntryQuerySet(models.QuerySet):
    def live_on(self, day: datetime.date):
        """Entries dated on or before `day`, without bills cancelled by then and their cancellations
        (the pair nets to zero; the cancelled bill is no longer a charge to settle)."""
        cancelled = LedgerEntry.objects.filter(kind=LedgerEntry.Kind.CANCELLATION, entry_date__lte=day)
        return (
            self.filter(entry_date__lte=day)
            .exclude(kind=LedgerEntry.Kind.CANCELLATION)
            .exclude(kind=LedgerEntry.Kind.BILL, bill_id__in=cancelled.values("bill_id"))
        )

    def charges(self):
        return self.filter(amount__gt=0).exclude(kind=LedgerEntry.Kind.CANCELLATION)

    def credits(self):
        return self.filter(amount__lt=0).exclude(kind=LedgerEntry.Kind.CANCELLATION)

    def update(self, **kwargs):
        raise BillingError("Ledger entries are never changed: record another entry to correct one.")

    def delete(self):
        raise BillingError("Ledger entries are never deleted: record another entry to correct one.")


class LedgerEntry(models.Model):
    """One line of a customer's account (SPEC §2a), append-only: positive is owed, negative a credit.

    Charges (a bill, a late fee, a debit adjustment) carry the date they fall due in `due_date`, so the
    settlement (billing.ledger.settle) orders them in SQL as in Python; credits have none."""

    class Kind(models.TextChoices):
        BILL = "bill", "Bill"
        PAYMENT = "payment", "Payment"
        LATE_FEE = "late_fee", "Late fee"
        ADJUSTMENT = "adjustment", "Adjustment"
        CANCELLATION = "cancellation", "Cancellation"

    # No index of its own on customer or created_by: ledger_customer_date leads with the customer, and
    # who made an entry is never searched; every index less is one less write per payment a bank file
    # brings (import_payments writes an entry per row).
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="ledger_entries", db_index=False)
    entry_date = models.DateField()
    amount = models.DecimalField(**MONEY)
    kind = models.CharField(max_length=12, choices=Kind.choices)
    due_date = models.DateField(null=True, blank=True, help_text="When a charge falls due; empty for credits.")
    bill = models.ForeignKey(
        Bill, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries",
        help_text="The bill a bill, late fee or cancellation entry refers to.",
    )
    payment = models.OneToOneField(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entry"
    )
    reason = models.CharField(max_length=20, choices=AdjustmentReason.choices, blank=True)
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    actor_label = models.CharField(max_length=200, blank=True, help_text="Who or which command made it.")
    created_at = models.DateTimeField(default=timezone.now)

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        ordering = ["customer", "entry_date", "id"]
        verbose_name_plural = "ledger entries"
        indexes = [
            models.Index(fields=["customer", "entry_date", "id"], name="ledger_customer_date"),
            models.Index(fields=["kind", "entry_date"], name="ledger_kind_date"),
        ]
        constraints = [
            # At most one late fee and one cancellation per bill (SPEC §2a), whatever runs twice.
            models.UniqueConstraint(
                fields=["bill", "kind"], condition=Q(kind__in=["bill", "late_fee", "cancellation"]),
                name="one_entry_of_a_kind_per_bill",
            ),
        ]

    def __str__(self):
        return f"{self.entry_date:%Y-%m-%d} {self.get_kind_display()} {self.amount}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise BillingError("Ledger entries are never changed: record another entry to correct one.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise BillingError("Ledger entries are never deleted: record another entry to correct one.")

    @property
    def is_charge(self) -> bool:
        return self.amount > 0 and self.kind != self.Kind.CANCELLATION


def _payment_upload_path(run, filename: str) -> str:
    return f"payment_imports/{timezone.now():%Y/%m}/{filename}"


class PaymentImport(models.Model):
    """One import of a bank's payments file (SPEC §2a), from the command or the upload page: who, when,
    which file and what it did. The upload is imported by the background worker."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, blank=True)
    file_name = models.CharField(max_length=255)
    upload = models.FileField(upload_to=_payment_upload_path, max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_read = models.PositiveIntegerField(default=0)
    payments_recorded = models.PositiveIntegerField(default=0)
    already_recorded = models.PositiveIntegerField(default=0)
    rows_rejected = models.PositiveIntegerField(default=0)
    total_recorded = models.DecimalField(**MONEY, default=Decimal("0"))
    rejects = models.JSONField(default=list, blank=True, help_text="[line, reason, row] of each rejected row.")
    error = models.TextField(blank=True, help_text="Why the file could not be imported (nothing was recorded).")
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries",
        help_text="The failed or stalled import whose stored file this one imports again.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Payments import #{self.pk} {self.file_name} ({self.get_state_display()})"

    @property
    def is_finished(self) -> bool:
        return self.state in (self.State.DONE, self.State.FAILED)

    @property
    def exit_code(self) -> int:
        """SPEC §7: 0 all recorded, 1 finished with rejected rows, 2 could not run (nothing changed)."""
        if self.state != self.State.DONE:
            return 2
        return 1 if self.rows_rejected else 0
