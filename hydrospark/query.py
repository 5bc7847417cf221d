"""Filter values from query strings, parsed one way on every page: months, dates and whole numbers are
bounded (hydrospark.periods' FIRST_DAY..LAST_DAY; numbers to what the column can hold), so a hand-made
URL gets the page with a message instead of an overflow deep in a selector or the database.

Two doors onto the same rules: form fields for the pages whose filters are a form, and `QueryParams`
for views that read single values (it collects the messages; the view shows them).
"""

import datetime

from django import forms

from .periods import InputError, check_in_range, parse_date, parse_month

SMALL_INT_MAX = 32_767  # a PositiveSmallIntegerField (cycle numbers)
INT_MAX = 2_147_483_647  # an IntegerField: the largest id or count a filter can name
_MAX_LENGTH = 200  # a filter word longer than this matches nothing anyone typed


def parse_whole(text: str, *, name: str = "Number", minimum: int = 1, maximum: int = INT_MAX) -> int:
    """A whole number written in digits, between minimum and maximum; InputError otherwise."""
    text = (text or "").strip()
    if not text.lstrip("-").isdigit() or len(text) > 12 or not minimum <= int(text) <= maximum:
        raise InputError(f"{name} must be a whole number from {minimum:,} to {maximum:,} (got {text[:20]!r}).")
    return int(text)


def parse_wholes(text: str, *, name: str = "Numbers", minimum: int = 1, maximum: int = INT_MAX) -> list[int]:
    """'1, 2; 20' -> [1, 2, 20] (sorted, no repeats); an empty text is an empty list."""
    parts = [part for part in (text or "").replace(";", ",").split(",") if part.strip()]
    try:
        return sorted({parse_whole(part, minimum=minimum, maximum=maximum) for part in parts})
    except InputError:
        raise InputError(
            f"{name} are whole numbers from {minimum:,} to {maximum:,} separated by commas, e.g. 1, 2, 20."
        ) from None


def clean_text(text: str, *, max_length: int = _MAX_LENGTH) -> str:
    """A search or filter word: trimmed, without NUL (PostgreSQL refuses it in a string), bounded."""
    text = (text or "").strip()
    if "\x00" in text or len(text) > max_length:
        raise InputError(f"A filter value must be plain text of at most {max_length} characters.")
    return text


class QueryParams:
    """One request's query values, each parsed by the shared rules; a bad one gives the default and a
    message in `errors` (the page shows them, e.g. with `messages.warning`)."""

    def __init__(self, query):
        self.query = query
        self.errors: list[str] = []

    def _get(self, name, parse, default):
        text = self.query.get(name, "")
        if not text.strip():
            return default
        try:
            return parse(text)
        except InputError as error:
            self.errors.append(str(error))
            return default

    def month(self, name: str, default=None) -> datetime.date | None:
        return self._get(name, parse_month, default)

    def date(self, name: str, default=None) -> datetime.date | None:
        return self._get(name, parse_date, default)

    def whole(self, name: str, default=None, **bounds) -> int | None:
        return self._get(name, lambda text: parse_whole(text, name=name.capitalize(), **bounds), default)

    def text(self, name: str, default: str = "") -> str:
        return self._get(name, clean_text, default)

    def choice(self, name: str, choices, default: str) -> str:
        """One of `choices` (a value not among them is ignored quietly: it comes from our own links)."""
        value = self.query.get(name)
        return value if value in choices else default


# --- form fields: the same rules for filter forms -------------------------------------------------------


def _validation_error(error: InputError) -> forms.ValidationError:
    return forms.ValidationError(str(error))


class DateFilterField(forms.DateField):
    """A date filter (YYYY-MM-DD) between FIRST_DAY and LAST_DAY."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.DateInput(attrs={"type": "date"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        day = super().to_python(value)
        try:
            return None if day is None else check_in_range(day, what=f"Date {day.isoformat()}")
        except InputError as error:
            raise _validation_error(error) from None


class MonthField(forms.CharField):
    """A month written YYYY-MM, cleaned to its first day."""

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", forms.TextInput(attrs={"type": "month"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value)
        if text in self.empty_values:
            return None
        try:
            return parse_month(text)
        except InputError as error:
            raise _validation_error(error) from None


class WholeNumbersField(forms.CharField):
    """Whole numbers separated by commas ('1, 2, 20'), cleaned to a sorted list."""

    def __init__(self, *, minimum: int = 1, maximum: int = INT_MAX, **kwargs):
        self.minimum, self.maximum = minimum, maximum
        super().__init__(**kwargs)

    def to_python(self, value):
        try:
            text, name = super().to_python(value), str(self.label or "Numbers")
            return parse_wholes(text, name=name, minimum=self.minimum, maximum=self.maximum)
        except InputError as error:
            raise _validation_error(error) from None


class WholeNumberField(forms.IntegerField):
    """One whole number, by default at least 1 and no more than a database integer holds."""

    def __init__(self, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", INT_MAX)
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)
