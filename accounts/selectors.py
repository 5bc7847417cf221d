"""Reads for accounts."""

from django.http import Http404

from .models import Customer


def customer_for_user(user) -> Customer:
    """The signed-in login's own customer account, or 404."""
    customer = getattr(user, "customer", None) if user.is_authenticated else None
    if customer is None:
        raise Http404("No customer account for this login.")
    return customer
