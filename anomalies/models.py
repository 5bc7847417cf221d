from django.conf import settings
from django.db import models

from accounts.models import Customer


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
