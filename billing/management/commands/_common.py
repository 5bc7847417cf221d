"""Shared by the billing commands: period parsing, a progress line, and turning BillingError into exit 2."""

import sys

from django.core.management.base import CommandError

from billing.exceptions import BillingError
from billing.periods import parse_period


def period_argument(text: str):
    try:
        return parse_period(text)
    except BillingError as error:
        raise CommandError(str(error), returncode=2) from None


def progress_printer(stream):
    """A progress callback writing one updating line to the terminal (plain lines when not a TTY)."""
    last = {"text": ""}

    def progress(fraction: float, message: str) -> None:
        text = f"{fraction:4.0%} {message}"
        if text == last["text"]:
            return
        last["text"] = text
        if getattr(stream, "isatty", lambda: False)():
            stream.write(f"\r{text:<70}", ending="")
            stream.flush()
            if fraction >= 1:
                stream.write("")
        else:
            stream.write(text)

    return progress


def listing(items, limit: int = 50) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f" … and {len(items) - limit} more" if len(items) > limit else "")


def refuse(error: BillingError):
    raise CommandError(f"{error} Nothing changed.", returncode=2)


def exit_code(code: int) -> None:
    if code:
        sys.exit(code)
