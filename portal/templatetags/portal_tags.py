"""Small display helpers for the portal templates."""

from django import template
from django.http import QueryDict

from hydrospark.units import usage_text
from portal.alert_rules import alert_text

register = template.Library()

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
    return usage_text(ccf, unit)


@register.filter
def notice_in(notice, unit="ccf"):
    """An unusual-use notice with its figure in the chosen unit."""
    return notice.text(unit)


@register.filter
def explained_in(forecast, unit="ccf"):
    """The anticipated bill's one-line explanation, its figures in the chosen unit."""
    return forecast.explain(unit)


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


@register.filter
def alert_in(event, unit="ccf"):
    """A chosen alert (budget or vacation) as its sentence, use in the chosen unit."""
    return alert_text(event, unit)
