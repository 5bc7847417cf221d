"""Writes of the staff workspace: notes on customer accounts (contact edits go through
accounts.services.customer_update_contact)."""

from django.db import transaction

from accounts.models import Customer
from accounts.services import audit_record

from .models import StaffNote

NOTE_MAX_LENGTH = 4000


class StaffError(Exception):
    """A staff action that cannot be done as asked; the message is shown to the person."""


@transaction.atomic
def staff_note_add(*, customer: Customer, author, body: str) -> StaffNote:
    """Add a note to a customer's account and record it in the audit trail."""
    body = body.strip()
    if not body:
        raise StaffError("A note needs some text.")
    if len(body) > NOTE_MAX_LENGTH:
        raise StaffError(f"A note holds at most {NOTE_MAX_LENGTH:,} characters; this one has {len(body):,}.")
    note = StaffNote.objects.create(customer=customer, author=author, author_label=author.email, body=body)
    audit_record(
        actor=author,
        action="customer.note",
        target=note,
        customer=customer,
        summary=f"Note: {body[:200]}",
        changes={"body": body},
    )
    return note
