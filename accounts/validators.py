"""Validators of customer account fields, in one place for every door (portal, staff pages, admin)."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator

# SPEC §1: letters, digits and "-", at most 20. It is part of URLs, file names and headers, so nothing else.
LOCATION_ID_PATTERN = r"^[A-Za-z0-9-]{1,20}$"
validate_location_id = RegexValidator(
    LOCATION_ID_PATTERN, "A location ID holds only letters, digits and '-', at most 20 characters."
)

PHONE = re.compile(r"^\+?[\d\s().\-]{7,25}$")
PHONE_MESSAGE = "Enter a phone number with at least 7 digits, e.g. (214) 555-0100."


def normalize_phone(value: str) -> str:
    """A phone number as stored: runs of spaces made one."""
    return " ".join((value or "").split())


def validate_phone(value: str) -> None:
    """A phone number someone can dial: digits, spaces, ( ) . - and a leading +, at least 7 digits."""
    phone = normalize_phone(value)
    if phone and (not PHONE.match(phone) or sum(c.isdigit() for c in phone) < 7):
        raise ValidationError(PHONE_MESSAGE, code="phone")
