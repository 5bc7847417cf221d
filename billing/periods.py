"""Billing periods are calendar months, named by their first day (SPEC §2). The month arithmetic is
the project's one copy in hydrospark.periods; this module adds billing's names and its error."""

import datetime

from hydrospark.periods import InputError, add_months, days_in, month_end, parse_month

from .exceptions import BillingError

__all__ = ["add_months", "days_in", "label", "parse_period", "period_end"]


def parse_period(text: str) -> datetime.date:
    """'2026-07' -> date(2026, 7, 1); BillingError for anything else (or a year HydroSpark never bills)."""
    try:
        return parse_month(text)
    except InputError as error:
        raise BillingError(str(error)) from None


def period_end(period: datetime.date) -> datetime.date:
    return month_end(period)


def label(period: datetime.date) -> str:
    return f"{period:%B %Y}"
