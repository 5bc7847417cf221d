"""Helpers for the metering tests: write a small export, run import_usage and read its exit code."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from hydrospark.demo.generator import EXPORT_COLUMNS

HEADER = EXPORT_COLUMNS  # the meter export's columns, in its order


def row(location_id="300000001", day=datetime.date(2024, 3, 1), usage="0.50", **fields) -> dict:
    """One export row as text, by header; keyword arguments replace columns (name=..., customer_type=...)."""
    values = {
        "Customer Name": fields.get("name", "Ada Lovelace"),
        "Mailing Address": fields.get("mailing_address", "12 Elm St, Dallas, TX 75201"),
        "Location ID": location_id,
        "Customer Type": fields.get("customer_type", "Residential"),
        "Cycle Number": fields.get("cycle_number", "3"),
        "Customer Phone Number": fields.get("phone", "(214) 555-0101"),
        "Business Name": fields.get("business_name", ""),
        "Facility Name": fields.get("facility_name", ""),
        "Year": str(day.year) if day else "",
        "Month": str(day.month) if day else "",
        "Day": str(day.day) if day else "",
        "Daily Water Usage (CCF)": usage,
    }
    values.update(fields.get("raw", {}))
    return values


def _quote(value: str) -> str:
    return '"' + value.replace('"', '""') + '"' if ("," in value or '"' in value) else value


def export_text(rows, header=HEADER, newline="\n") -> str:
    lines = [",".join(header)]
    lines += [",".join(_quote(str(r.get(h, ""))) for h in header) for r in rows]
    return newline.join(lines) + newline


@pytest.fixture
def export_file(tmp_path):
    """export_file(rows, name="reads.csv", header=HEADER, newline="\\n", bom=False) -> Path"""

    def _write(rows, name="reads.csv", header=HEADER, newline="\n", bom=False):
        path = tmp_path / name
        path.write_bytes((("\ufeff" if bom else "") + export_text(rows, header, newline)).encode("utf-8"))
        return path

    return _write


def import_usage(path, *args) -> tuple[int, str, str]:
    """Run the command; returns (exit code, stdout, stderr + error message)."""
    out, err = StringIO(), StringIO()
    try:
        call_command("import_usage", str(path), *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    except CommandError as exc:
        code = exc.returncode
        err.write(str(exc))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploads and rejected-row files go to a scratch folder, never under var/."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def fresh_cache():
    """Imports leave live progress in the cache under the run's id; ids are reused across tests."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
