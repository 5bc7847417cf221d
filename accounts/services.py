"""Writes for accounts: the audit trail and customer contact changes."""

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from .exceptions import AccountError
from .models import AuditEvent, Customer, DeliveryChoice, User

CONTACT_FIELDS = ("name", "mailing_address", "phone", "business_name", "facility_name")
PREFERENCE_FIELDS = ("notify_usage_alerts",)
DELIVERY_FIELDS = ("billing_email", "bill_delivery")


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
    """Change a customer's contact details or preferences and record the change. Returns the changes.

    Preferences (which alerts they get) are the customer's own (SPEC §5): only their login changes them."""
    if set(fields) & set(PREFERENCE_FIELDS) and (actor is None or actor.pk != customer.user_id):
        raise AccountError("Alert preferences are the customer's own: they change them in their portal profile.")
    changes = field_changes(customer, data, fields)
    if not changes:
        return {}
    _check_lengths(data, changes)
    for field in changes:
        setattr(customer, field, data[field])
    # SPEC §1: these details are now HydroSpark's; meter imports keep them and report the file's difference.
    edited = sorted(set(customer.contact_edited or []) | (set(changes) & set(CONTACT_FIELDS)))
    tracked = ["contact_edited"] if edited != sorted(customer.contact_edited or []) else []
    customer.contact_edited = edited
    customer.save(update_fields=[*changes, *tracked, "updated_at"])
    audit_record(
        actor=actor,
        action="customer.update",
        target=customer,
        customer=customer,
        summary="Changed " + ", ".join(f.replace("_", " ") for f in changes),
        changes=changes,
    )
    return changes


def _check_lengths(data: dict, fields) -> None:
    """Every door's values fit their columns (SQLite would store a longer one; the others would fail)."""
    for name in fields:
        limit = Customer._meta.get_field(name).max_length
        if limit and isinstance(data[name], str) and len(data[name]) > limit:
            label = Customer._meta.get_field(name).verbose_name
            raise AccountError(f"The {label} is {len(data[name])} characters long; at most {limit} fit.")


def clean_billing_email(value: str) -> str:
    """A billing email as stored: trimmed, domain in lower case (mail servers ignore its case), validated."""
    value = (value or "").strip()
    if not value:
        return ""
    local, _, domain = value.rpartition("@")
    value = f"{local}@{domain.lower()}" if local else value
    try:
        validate_email(value)
    except ValidationError:
        raise AccountError(f"{value!r} is not an email address (e.g. name@example.com).") from None
    return value


@transaction.atomic
def customer_update_delivery(*, customer: Customer, actor, data: dict, request_note: str | None = None) -> dict:
    """Change how a customer's bills reach them (billing email, delivery choice). Returns the changes.

    The choice is the customer's: on the portal they make it themselves ("customer.delivery"); staff
    record it only as the customer's request, with what the customer said ("customer.delivery_request")."""
    data = {k: v for k, v in data.items() if k in DELIVERY_FIELDS}
    if "billing_email" in data:
        data["billing_email"] = clean_billing_email(data["billing_email"])
    if data.get("bill_delivery", customer.bill_delivery) not in DeliveryChoice.values:
        raise AccountError(f"Unknown delivery choice {data['bill_delivery']!r}.")
    changes = field_changes(customer, data, DELIVERY_FIELDS)
    if not changes:
        return {}
    on_request = request_note is not None
    if on_request and not request_note.strip():
        raise AccountError("Say what the customer asked for and how (e.g. 'phoned on 3 May, wants paper bills').")
    for name in changes:
        setattr(customer, name, data[name])
    customer.save(update_fields=[*changes, "updated_at"])
    what = ", ".join(f.replace("_", " ") for f in changes)
    summary = f"At the customer's request, changed {what}: {request_note.strip()}" if on_request else f"Changed {what}"
    audit_record(
        actor=actor,
        action="customer.delivery_request" if on_request else "customer.delivery",
        target=customer,
        customer=customer,
        summary=summary,
        changes={**changes, **({"request": request_note.strip()} if on_request else {})},
    )
    return changes
