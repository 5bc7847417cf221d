"""Argument parsing shared by the forecast commands: bad dates stop the command with exit code 2."""

import datetime

from django.core.management.base import CommandError


def parse_period(value: str) -> datetime.date:
    try:
        return datetime.datetime.strptime(value, "%Y-%m").date()
    except ValueError:
        raise CommandError(f"--period must look like 2026-07 (got {value!r}).", returncode=2) from None


def parse_day(value: str, option: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{option} must be a date like 2026-07-15 (got {value!r}).", returncode=2) from None
