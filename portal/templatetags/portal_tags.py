"""Small display helpers for the portal templates."""

from decimal import ROUND_HALF_UP, Decimal

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma
from django.http import QueryDict

register = template.Library()

GALLONS_PER_CCF = 748
STATUS_CLASSES = {
    "paid": "text-bg-success",
    "overdue": "text-bg-danger",
    "partially_paid": "text-bg-warning",
    "unpaid": "text-bg-primary",
}


@register.filter
def in_unit(ccf, unit="ccf"):
    """A CCF amount shown in the chosen unit: '12.43 CCF' or '9,298 gallons'."""
    if ccf is None or ccf == "":
        return "–"
    value = Decimal(ccf)
    if unit == "gallons":
        return f"{intcomma(int((value * GALLONS_PER_CCF).to_integral_value(ROUND_HALF_UP)))} gallons"
    return f"{intcomma(value.quantize(Decimal('0.01'), ROUND_HALF_UP))} CCF"


@register.filter
def status_class(status):
    return STATUS_CLASSES.get(status, "text-bg-secondary")


@register.simple_tag(takes_context=True)
def query(context, **changes):
    """The current query string with some parameters replaced (for range and unit links)."""
    params = QueryDict(mutable=True)
    params.update(context["request"].GET)
    for key, value in changes.items():
        params[key] = value
    return "?" + params.urlencode()
