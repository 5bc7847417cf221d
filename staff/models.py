from django.conf import settings
from django.db import models

from accounts.models import Customer


class StaffNote(models.Model):
    """A note staff keep on a customer account (a call, a promise, a visit). Never edited: a correction
    is a new note, so the account's story stays as it was told."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="staff_notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    author_label = models.CharField(max_length=200, help_text="The author's email when the note was written.")
    body = models.TextField(max_length=4000)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"])]

    def __str__(self):
        return f"Note on {self.customer_id} by {self.author_label} at {self.created_at:%Y-%m-%d %H:%M}"
