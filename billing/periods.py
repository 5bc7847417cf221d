"""Billing periods are calendar months, named by their first day (SPEC §2)."""

import calendar
import datetime
import re

from .exceptions import BillingError

_PERIOD = re.compile(r"^(\d{4})-(\d{1,2})$")


def parse_period(text: str) -> datetime.date:
    """'2026-07' -> date(2026, 7, 1); BillingError for anything else."""
    match = _PERIOD.match((text or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise BillingError(f"Period {text!r} is not a month written YYYY-MM (e.g. 2026-07).")
    return datetime.date(int(match.group(1)), int(match.group(2)), 1)


def period_end(period: datetime.date) -> datetime.date:
    return period.replace(day=days_in(period))


def days_in(period: datetime.date) -> int:
    return calendar.monthrange(period.year, period.month)[1]


def add_months(period: datetime.date, months: int) -> datetime.date:
    index = period.year * 12 + period.month - 1 + months
    return datetime.date(index // 12, index % 12 + 1, 1)


def label(period: datetime.date) -> str:
    return f"{period:%B %Y}"
