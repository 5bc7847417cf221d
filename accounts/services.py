"""Writes for accounts: the audit trail and customer contact changes."""

from django.db import transaction

from .models import AuditEvent, Customer, User

CONTACT_FIELDS = ("name", "mailing_address", "phone", "business_name", "facility_name")
PREFERENCE_FIELDS = ("notify_bill_emails", "notify_usage_alerts")


def audit_event(
    *,
    actor=None,
    actor_label: str = "",
    action: str,
    target=None,
    customer: Customer | None = None,
    summary: str = "",
    changes: dict | None = None,
) -> AuditEvent:
    """An unsaved audit event: who did what. `actor` is a login; commands pass
    `actor_label="command <name>"` instead. Bulk writers save many at once with bulk_create."""
    label = actor_label or (actor.email if actor is not None and actor.is_authenticated else "system")
    return AuditEvent(
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=label,
        action=action,
        target_type=target._meta.label_lower if target is not None else "",
        target_id=str(target.pk) if target is not None else "",
        target_repr=str(target)[:300] if target is not None else "",
        customer=customer,
        summary=summary[:500],
        changes=changes or {},
    )


def audit_record(**fields) -> AuditEvent:
    """Record who did what (the arguments of audit_event), saved now."""
    event = audit_event(**fields)
    event.save()
    return event


def field_changes(instance, data: dict, fields) -> dict:
    """{field: [old, new]} for the fields whose value differs (values as strings for JSON)."""
    return {
        f: [str(getattr(instance, f)), str(data[f])] for f in fields if f in data and getattr(instance, f) != data[f]
    }


@transaction.atomic
def login_create(*, email: str, password: str | None = None, **fields) -> User:
    """A login whose email the utility already knows: recorded as verified, so allauth's email page
    does not ask the customer to confirm an address they gave us in person or on the phone."""
    from allauth.account.models import EmailAddress

    user = User.objects.create_user(email=email, password=password, **fields)
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    return user


@transaction.atomic
def customer_update_contact(*, customer: Customer, actor, data: dict, fields=CONTACT_FIELDS) -> dict:
    """Change a customer's contact details or preferences and record the change. Returns the changes."""
    changes = field_changes(customer, data, fields)
    if not changes:
        return {}
    for field in changes:
        setattr(customer, field, data[field])
    customer.save(update_fields=[*changes, "updated_at"])
    audit_record(
        actor=actor,
        action="customer.update",
        target=customer,
        customer=customer,
        summary="Changed " + ", ".join(f.replace("_", " ") for f in changes),
        changes=changes,
    )
    return changes
