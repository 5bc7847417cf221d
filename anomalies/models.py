from django.conf import settings
from django.db import models

from accounts.models import Customer
from hydrospark.units import gallons


class Method(models.TextChoices):
    """Detection rules (SPEC §3 plus the leak rule documented in anomalies/methods.py)."""

    ZSCORE = "zscore", "Z-score (whole history)"
    ROLLING = "rolling", "Rolling 90 days"
    LEAK = "leak", "Sustained high use (leak)"


class Status(models.TextChoices):
    OPEN = "open", "Open"
    REVIEWED = "reviewed", "Reviewed"


class Resolution(models.TextChoices):
    LEAK_CONFIRMED = "leak_confirmed", "Leak confirmed"
    METER_FAULT = "meter_fault", "Meter fault"
    EXPECTED_USE = "expected_use", "Expected use"
    FALSE_ALARM = "false_alarm", "False alarm"


class DetectionRun(models.Model):
    """One pass of one detection method over all stored reads: who started it and what it found."""

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"  # created by detection_queue, waiting for the task worker
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        FAILED = "failed", "Failed"

    method = models.CharField(max_length=20, choices=Method.choices)
    state = models.CharField(max_length=20, choices=State.choices, default=State.RUNNING)
    started_at = models.DateTimeField()
    # The shared run lifecycle (hydrospark.runs): a running run whose heartbeat stopped is failed by the sweep.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, help_text="The login's email or the command that ran it.")
    customers_assessed = models.PositiveIntegerField(default=0)
    reads_assessed = models.PositiveIntegerField(default=0)
    found = models.PositiveIntegerField(default=0, help_text="Anomalous days this run's rule finds in all reads.")
    created = models.PositiveIntegerField(default=0, help_text="Of those, days not recorded before.")
    withdrawn = models.PositiveIntegerField(
        default=0, help_text="Open anomalies the rule no longer finds (after new or corrected reads): removed."
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]

    def __str__(self):
        return f"{self.get_method_display()} run {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def seconds(self) -> float | None:
        return (self.finished_at - self.started_at).total_seconds() if self.finished_at else None


class Anomaly(models.Model):
    """A day of unusual use found by a method (SPEC §3). One record per (customer, date, method), so a
    detection run can be repeated safely; usage, mean and std follow the latest run, the review never
    changes once made except by another review."""

    # No index of its own: the unique (customer, date, method) constraint serves lookups by customer,
    # and every index slows the tens of thousands of inserts of a first detection run.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="anomalies", db_index=False)
    date = models.DateField()
    method = models.CharField(max_length=20, choices=Method.choices)
    usage_ccf = models.DecimalField("usage (CCF)", max_digits=12, decimal_places=4)
    mean_ccf = models.DecimalField(
        "mean (CCF)", max_digits=16, decimal_places=6, help_text="μ of the method (the baseline for leaks)."
    )
    std_ccf = models.DecimalField(
        "std (CCF)", max_digits=16, decimal_places=6, help_text="Population σ (the robust spread for leaks)."
    )
    detected_at = models.DateTimeField(help_text="When a run first found it.")
    run = models.ForeignKey(
        DetectionRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="anomalies_created"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    note = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "anomalies"
        ordering = ["-date", "customer_id", "method"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "date", "method"], name="one_anomaly_per_customer_day_method"),
        ]
        # Few indexes on purpose: a first run inserts tens of thousands of rows and each index slows
        # every insert. The queue's default view (open, newest first) has its index; "any status"
        # sorts by date without one, which SQLite does in a fraction of a second at 200,000 rows.
        indexes = [models.Index(fields=["status", "-date"])]

    def __str__(self):
        return f"{self.customer.location_id} {self.date} {self.method}"

    @property
    def ratio(self) -> float | None:
        """Usage as a multiple of the method's mean (None when the mean is zero)."""
        return float(self.usage_ccf / self.mean_ccf) if self.mean_ccf else None

    @property
    def z(self) -> float | None:
        """How many standard deviations above the mean."""
        return float((self.usage_ccf - self.mean_ccf) / self.std_ccf) if self.std_ccf else None


class Kind(models.TextChoices):
    """SPEC §3a: a leak (the leak rule found it, or it has at least 3 anomalous days), else a spike."""

    LEAK = "leak", "Leak"
    SPIKE = "spike", "Spike"


class Digest(models.Model):
    """One digest email to Operations and the incidents it covered (Incident.digest). A digest that could not
    go out keeps its error; the next detection's digest takes its incidents over and sends them."""

    class State(models.TextChoices):
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    created_at = models.DateTimeField()
    state = models.CharField(max_length=20, choices=State.choices, default=State.SENDING)
    sent_at = models.DateTimeField(null=True, blank=True)
    recipients = models.PositiveIntegerField(default=0)
    incidents_covered = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Digest {self.created_at:%Y-%m-%d %H:%M} ({self.get_state_display().lower()})"


class Incident(models.Model):
    """A run of a customer's anomalous days (SPEC §3a), kept up to date by every detection: its extent and
    figures follow the days, its review, contacts, notice and allowance offer never change except by people."""

    class Allowance(models.TextChoices):
        NONE = "", "None"
        OFFERED = "offered", "Offered by Operations"
        POSTED = "posted", "Credited by Billing"
        DECLINED = "declined", "Declined by Billing"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="incidents")
    start = models.DateField()
    end = models.DateField()
    days = models.PositiveIntegerField(help_text="Anomalous days in the run (a one-day gap joins, uncounted).")
    methods = models.CharField(max_length=60, help_text="The methods that found its days, joined by '+'.")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    excess_ccf = models.DecimalField("excess (CCF)", max_digits=14, decimal_places=4)
    estimated_cost = models.DecimalField(max_digits=12, decimal_places=2)
    typical_month_ccf = models.DecimalField("typical month (CCF)", max_digits=14, decimal_places=4)
    notify = models.BooleanField(
        default=False, help_text="A leak, or a spike of at least max(1 CCF, 25% of a typical month): customers see it."
    )
    detected_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.OPEN)
    resolution = models.CharField(max_length=20, choices=Resolution.choices, blank=True)
    note = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    customer_emailed_at = models.DateTimeField(null=True, blank=True, help_text="When the customer was emailed (once).")
    digest = models.ForeignKey(Digest, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents")
    allowance = models.CharField(max_length=20, choices=Allowance.choices, blank=True, default="")
    allowance_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    allowance_note = models.TextField(blank=True)
    allowance_offered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    allowance_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    allowance_entry = models.ForeignKey(
        "billing.LedgerEntry", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-estimated_cost", "-end", "id"]
        indexes = [
            models.Index(fields=["status", "-estimated_cost"]),
            models.Index(fields=["customer", "start"]),
        ]

    def __str__(self):
        return f"{self.customer.location_id} {self.get_kind_display().lower()} {self.start}–{self.end}"

    @property
    def excess_gallons(self) -> int:
        return gallons(self.excess_ccf)

    @property
    def method_list(self) -> list[str]:
        return self.methods.split("+") if self.methods else []


class IncidentContact(models.Model):
    """Operations contacted the customer about an incident: how, when, who, what was said."""

    class Channel(models.TextChoices):
        PHONE = "phone", "Phone call"
        EMAIL = "email", "Email"
        VISIT = "visit", "Site visit"
        LETTER = "letter", "Letter"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="contacts")
    channel = models.CharField(max_length=20, choices=Channel.choices)
    note = models.TextField()
    contacted_at = models.DateTimeField()
    contacted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-contacted_at", "-id"]

    def __str__(self):
        return f"{self.get_channel_display()} {self.contacted_at:%Y-%m-%d %H:%M}"
