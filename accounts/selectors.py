"""Reads for accounts: a customer's own account, customer search for staff, the audit trail."""

import datetime
import re

from django.db.models import Case, IntegerField, Q, Value, When
from django.http import Http404
from django.utils import timezone

from .models import AuditEvent, Customer

PORTAL_ACCOUNT_KEY = "portal_account"  # the session key of the account a login chose in the portal


def customers_for_login(user) -> list[Customer]:
    """The customer accounts a login holds (a household one, a landlord several), by location ID. One query."""
    if not user.is_authenticated:
        return []
    return list(Customer.objects.filter(user=user).select_related("user").order_by("location_id"))


def holds_accounts(user) -> bool:
    """Whether the login holds a customer account; free on portal pages (customer_required kept the list)."""
    known = getattr(user, "_portal_accounts", None)
    return bool(known) if known is not None else user.customers.exists()


def customer_for_login(user, pk) -> Customer:
    """One of the login's own accounts by id, or 404: any other account's id is refused by construction."""
    try:
        return Customer.objects.select_related("user").get(pk=int(pk), user=user, user__isnull=False)
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise Http404("No such account.") from None


def chosen_customer(accounts: list[Customer], chosen_pk) -> Customer:
    """The account the login chose (kept in its session), else its first: a stale choice falls back safely."""
    return next((customer for customer in accounts if customer.pk == chosen_pk), accounts[0])


SEARCH_LIMIT = 50
_PHONE_PUNCTUATION = re.compile(r"[\s().+\-]")


def customer_search(*, query: str, limit: int = SEARCH_LIMIT) -> list[Customer]:
    """Customers matching a name, location id, phone number or email, best matches first, at most `limit`.

    Lookups come in tiers, most exact first; the first tier that finds anyone answers. Exact and prefix
    lookups use an index on 100,000 accounts (equality or a prefix range on location id, phone and email,
    emails being stored in lower case); only the last tier scans (a substring of a name or phone), and
    the limit cuts that short.
    """
    query = " ".join(query.split())
    if not query:
        return []
    found: dict[int, Customer] = {}
    for tier in _search_tiers(query):
        for lookup in tier:
            room = limit - len(found)
            if room <= 0:
                break
            rows = Customer.objects.select_related("user").filter(lookup).exclude(pk__in=list(found))
            for customer in rows.order_by(_name_starts_first(query), "name", "location_id")[:room]:
                found[customer.pk] = customer
        if found:
            break
    return list(found.values())


def _search_tiers(query: str) -> list[list[Q]]:
    if "@" in query:
        email = query.lower()
        return [[Q(user__email=email)], [_prefix("user__email", email)]]
    digits = _PHONE_PUNCTUATION.sub("", query)
    if digits.isdigit():
        tiers = [[Q(location_id=digits)], [Q(phone__in=_phone_forms(query, digits)), _prefix("location_id", digits)]]
        return tiers + ([[Q(phone__contains=_dashed_tail(digits))]] if len(digits) >= 4 else [])
    contains = Q(name__icontains=query) | Q(business_name__icontains=query) | Q(facility_name__icontains=query)
    return [[Q(location_id=query)], [contains]]  # one scan; names that start with the query sort first


def _name_starts_first(query: str):
    return Case(When(name__istartswith=query, then=Value(0)), default=Value(1), output_field=IntegerField())


def _prefix(field: str, value: str) -> Q:
    """`field` starts with `value` as a range (value <= field < value with its last character bumped):
    unlike LIKE, a plain B-tree index serves it on every database."""
    upper = value[:-1] + chr(ord(value[-1]) + 1)
    return Q(**{f"{field}__gte": value, f"{field}__lt": upper})


def _phone_forms(query: str, digits: str) -> list[str]:
    """The ways the meter export writes a phone number: as typed, and US 10-digit layouts."""
    forms = {query}
    local = digits[1:] if len(digits) == 11 and digits.startswith("1") else digits
    if len(local) == 10:
        a, b, c = local[:3], local[3:6], local[6:]
        forms |= {local, f"({a}) {b}-{c}", f"{a}-{b}-{c}", f"{a}.{b}.{c}", f"({a}){b}-{c}", f"+1 {a}-{b}-{c}"}
    elif len(local) == 7:
        forms |= {local, f"{local[:3]}-{local[3:]}"}
    return sorted(forms)


def _dashed_tail(digits: str) -> str:
    """The last digits as a number is written (555-0001): matches partial numbers typed without area code."""
    return f"{digits[-7:-4]}-{digits[-4:]}" if len(digits) >= 7 else digits[-4:]


def customer_by_location(*, location_id: str) -> Customer:
    """A customer account by its location id (with its login), or 404."""
    customer = Customer.objects.select_related("user").filter(location_id=location_id).first()
    if customer is None:
        raise Http404("No customer with this location ID.")
    return customer


def audit_events(
    *,
    actor: str = "",
    action: str = "",
    target_type: str = "",
    location_id: str = "",
    customer: Customer | None = None,
    since: datetime.date | None = None,
    until: datetime.date | None = None,
):
    """The audit trail, newest first, filtered: actor (start of the login email or command label), exact
    action and target type, a customer (or its location id), and a local date range (inclusive)."""
    events = AuditEvent.objects.select_related("customer").order_by("-at", "-id")
    if actor:
        events = events.filter(actor_label__istartswith=actor.strip())
    if action:
        events = events.filter(action=action)
    if target_type:
        events = events.filter(target_type=target_type)
    if customer is not None:
        events = events.filter(customer=customer)
    elif location_id:
        events = events.filter(customer__location_id=location_id.strip())
    if since:
        events = events.filter(at__gte=_local_midnight(since))
    if until:
        events = events.filter(at__lt=_local_midnight(until + datetime.timedelta(days=1)))
    return events


def audit_choices() -> tuple[list[str], list[str]]:
    """The actions and target types that occur in the trail, for filter menus (two index-only reads)."""
    actions = AuditEvent.objects.order_by("action").values_list("action", flat=True).distinct()
    types = AuditEvent.objects.exclude(target_type="").order_by("target_type").values_list("target_type", flat=True)
    return list(actions), list(types.distinct())


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
