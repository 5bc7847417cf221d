"""Calendar months and day ranges: the one home of month arithmetic for every app (billing periods, the
portal's ranges, charts, filters). Pure functions of dates; a month is named by its first day.

Dates a person may type are kept between FIRST_DAY and LAST_DAY: nothing the utility holds is older
or newer, and date arithmetic near year 1 or 9999 overflows (`date.max + 1 day` raises).
"""

import calendar
import datetime
import re

FIRST_DAY = datetime.date(1900, 1, 1)
LAST_DAY = datetime.date(2100, 12, 31)
ONE_DAY = datetime.timedelta(days=1)
_YEARS = f"{FIRST_DAY.year} to {LAST_DAY.year}"

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


class InputError(ValueError):
    """A month, date or number someone typed that cannot be used, with a sentence saying why."""


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def add_months(month: datetime.date, count: int) -> datetime.date:
    """The first day of the month `count` months after (or before) the month of `month`."""
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def days_in(month: datetime.date) -> int:
    return calendar.monthrange(month.year, month.month)[1]


def month_end(month: datetime.date) -> datetime.date:
    return month.replace(day=days_in(month))


def months_back(count: int, *, through: datetime.date) -> tuple[datetime.date, datetime.date]:
    """(first month, last month) of the `count` calendar months that end with the month of `through`:
    months_back(12, through=2026-12-31) is January to December 2026, whatever the day."""
    last = month_start(through)
    return add_months(last, -(count - 1)), last


def year_before(day: datetime.date) -> datetime.date:
    """The same day a year earlier; 29 February maps to 28 February (it has no twin)."""
    if day.month == 2 and day.day == 29:
        return day.replace(year=day.year - 1, day=28)
    return day.replace(year=day.year - 1)


def parse_month(text: str) -> datetime.date:
    """'2026-07' -> date(2026, 7, 1); InputError for anything else or outside FIRST_DAY..LAST_DAY."""
    match = _MONTH.match((text or "").strip())
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InputError(f"Period {text!r} is not a valid month (write YYYY-MM, e.g. 2026-07).")
    year, month = int(match.group(1)), int(match.group(2))
    if not FIRST_DAY.year <= year <= LAST_DAY.year:  # also keeps year 0, which no date has, out
        raise InputError(f"Period {text.strip()} is outside the dates HydroSpark keeps ({_YEARS}).")
    return datetime.date(year, month, 1)


def parse_date(text: str) -> datetime.date:
    """'2026-07-14' -> date(2026, 7, 14); InputError for anything else or outside FIRST_DAY..LAST_DAY."""
    try:
        day = datetime.date.fromisoformat((text or "").strip())
    except ValueError:
        raise InputError(f"Date {text!r} is not a valid date (write YYYY-MM-DD, e.g. 2026-07-14).") from None
    check_in_range(day, what=f"Date {day.isoformat()}")
    return day


def check_in_range(day: datetime.date, *, what: str) -> datetime.date:
    if not FIRST_DAY <= day <= LAST_DAY:
        raise InputError(f"{what} is outside the dates HydroSpark keeps ({_YEARS}).")
    return day
