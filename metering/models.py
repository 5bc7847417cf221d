from django.conf import settings
from django.db import models

from accounts.models import Customer


class MeterRead(models.Model):
    """One day's metered use for one service location (SPEC §1). Written only by the import service."""

    # No index of its own: the unique (customer, read_date) index serves every lookup by customer,
    # and one index fewer to maintain makes imports of millions of reads markedly faster.
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="reads", db_index=False)
    read_date = models.DateField()
    usage_ccf = models.DecimalField("usage (CCF)", max_digits=12, decimal_places=4)

    class Meta:
        ordering = ["customer", "read_date"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "read_date"], name="one_read_per_customer_day"),
        ]
        indexes = [models.Index(fields=["read_date"])]

    def __str__(self):
        return f"{self.customer_id} {self.read_date}: {self.usage_ccf} CCF"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    REFUSED = "refused", "Refused"  # the file could not be used: nothing changed
    FAILED = "failed", "Failed"  # an unexpected error: nothing changed, safe to run again


class ImportSource(models.TextChoices):
    UPLOAD = "upload", "Upload"
    COMMAND = "command", "Command"


def upload_path(instance, filename: str) -> str:
    return f"imports/uploads/{filename}"


def rejects_path(instance, filename: str) -> str:
    return f"imports/rejects/{filename}"


class ImportRun(models.Model):
    """One import of a meter export (SPEC §1): who, when, which file, what it did. Never edited by hand."""

    FINISHED = (ImportStatus.DONE, ImportStatus.REFUSED, ImportStatus.FAILED)

    status = models.CharField(max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    source = models.CharField(max_length=10, choices=ImportSource.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=200, help_text="The login's email, or the command that imported.")
    file_name = models.CharField(max_length=255)
    file_size = models.BigIntegerField(null=True, blank=True, help_text="bytes")
    upload = models.FileField(upload_to=upload_path, max_length=300, blank=True)
    atomic = models.BooleanField(default=False, help_text="Write nothing if any row is rejected.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Moved by the importing process between its steps (hydrospark.runs.beat); with the cache's newer beat it
    # tells a killed import from a slow one (fail_stalled_runs).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows_read = models.PositiveBigIntegerField(default=0)
    reads_created = models.PositiveBigIntegerField(default=0)
    reads_corrected = models.PositiveBigIntegerField(default=0)
    reads_unchanged = models.PositiveBigIntegerField(default=0)
    rows_rejected = models.PositiveBigIntegerField(default=0)
    customers_created = models.PositiveIntegerField(default=0)
    customers_updated = models.PositiveIntegerField(default=0)
    rejects_file = models.FileField(upload_to=rejects_path, max_length=300, blank=True)
    issued_bill_corrections = models.JSONField(
        default=list, blank=True, help_text="Corrected reads dated in an issued bill's period (bills unchanged)."
    )
    contact_differences = models.JSONField(
        default=list,
        blank=True,
        help_text="Contact details changed in HydroSpark that the file says otherwise (kept, not overwritten).",
    )
    encoding = models.CharField(max_length=60, blank=True, help_text="How the file's bytes were read as text.")
    error = models.TextField(blank=True, help_text="Why the file was refused or the import failed.")
    retry_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="retries",
        help_text="The stalled or failed import whose stored file this run imports again.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"Import #{self.pk} {self.file_name} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    @property
    def exit_code(self) -> int:
        """The command's exit code (SPEC §7): 0 all good, 1 finished with rejected rows, 2 could not run."""
        if self.status != ImportStatus.DONE:
            return 2
        return 1 if self.rows_rejected else 0

    def summary(self) -> str:
        """The one-line report the command prints and the pages show."""
        if self.status in (ImportStatus.REFUSED, ImportStatus.FAILED):
            return f"{self.get_status_display()}: {self.error} Nothing was changed."
        if not self.is_finished:
            return f"{self.get_status_display()}…"
        text = (
            f"{_count(self.rows_read, 'row')} read: {_count(self.reads_created, 'read')} created, "
            f"{self.reads_corrected:,} corrected, {self.reads_unchanged:,} unchanged, "
            f"{self.rows_rejected:,} rejected; {_count(self.customers_created, 'customer')} created"
        )
        if self.customers_updated:
            text += f", {self.customers_updated:,} updated"
        if self.duration_seconds is not None:
            text += f" ({self.duration_seconds:.1f} s)"
        text += "."
        if self.contact_differences:
            kept = _count(len(self.contact_differences), "contact detail")
            text += f" {kept} changed in HydroSpark kept (the file differs)."
        if self.encoding and self.encoding != "UTF-8":
            text += f" Read as {self.encoding}."
        return text


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


class ReadCorrection(models.Model):
    """A stored read that an import replaced with a different usage (SPEC §1: counted and reported)."""

    import_run = models.ForeignKey(ImportRun, on_delete=models.CASCADE, related_name="corrections")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="read_corrections", db_index=False)
    read_date = models.DateField()
    old_usage_ccf = models.DecimalField("old usage (CCF)", max_digits=12, decimal_places=4)
    new_usage_ccf = models.DecimalField("new usage (CCF)", max_digits=12, decimal_places=4)

    class Meta:
        ordering = ["import_run", "customer", "read_date"]
        indexes = [models.Index(fields=["customer", "read_date"])]

    def __str__(self):
        return f"{self.customer_id} {self.read_date}: {self.old_usage_ccf} → {self.new_usage_ccf} CCF"
