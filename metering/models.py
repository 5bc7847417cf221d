from django.db import models

from accounts.models import Customer


class MeterRead(models.Model):
    """One day's metered use for one service location (SPEC §1). Written only by the import service."""

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="reads")
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
