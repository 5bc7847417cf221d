"""Money as the bill prints it: `{{ amount|money }}` → $1,234.50 or −$12.00 (a true minus sign);
`{{ amount|money_abs }}` → the amount without its sign (for Charge/Credit columns)."""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


def _decimal(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError, ValueError):
        return None


@register.filter
def money(value) -> str:
    amount = _decimal(value)
    if amount is None:
        return ""
    return f"−${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


@register.filter
def money_abs(value) -> str:
    amount = _decimal(value)
    return "" if amount is None else f"${abs(amount):,.2f}"
