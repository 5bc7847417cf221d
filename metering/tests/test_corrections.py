"""A different usage for a stored read is a correction: counted, kept, and offered to billing (SPEC §1)."""

import datetime
from decimal import Decimal

import pytest

from metering.models import ImportRun, MeterRead
from metering.selectors import corrections_for_run
from metering.signals import reads_corrected

from .conftest import import_usage, row

pytestmark = pytest.mark.django_db
DAY = datetime.date(2024, 3, 1)


@pytest.fixture
def stored(export_file):
    import_usage(export_file([row(day=DAY, usage="0.5"), row(day=DAY + datetime.timedelta(days=1), usage="0.6")]))


def test_a_changed_usage_replaces_the_read_and_counts_as_a_correction(stored, export_file):
    code, out, _ = import_usage(export_file([row(day=DAY, usage="0.55")], name="fix.csv"))
    assert code == 0
    assert "1 row read: 0 reads created, 1 corrected, 0 unchanged" in out
    assert MeterRead.objects.get(read_date=DAY).usage_ccf == Decimal("0.5500")
    run = ImportRun.objects.latest("id")
    [correction] = corrections_for_run(run)
    assert (correction.customer.location_id, correction.read_date) == ("300000001", DAY)
    assert (correction.old_usage_ccf, correction.new_usage_ccf) == (Decimal("0.5000"), Decimal("0.5500"))


def test_corrections_in_an_issued_bills_period_are_listed_and_the_command_prints_them(stored, export_file):
    seen = {}

    def billing(sender, run, corrections, **kwargs):
        seen["dates"] = [c.read_date for c in corrections]
        return [(c.customer_id, c.read_date, "HS-2024-03-0001") for c in corrections if c.read_date.month == 3]

    reads_corrected.connect(billing)
    try:
        code, out, _ = import_usage(export_file([row(day=DAY, usage="0.9")], name="fix.csv"))
    finally:
        reads_corrected.disconnect(billing)
    assert code == 0
    assert seen["dates"] == [DAY]
    run = ImportRun.objects.latest("id")
    assert run.issued_bill_corrections == [
        {
            "location_id": "300000001",
            "read_date": "2024-03-01",
            "bill_number": "HS-2024-03-0001",
            "old_usage_ccf": "0.5000",
            "new_usage_ccf": "0.9000",
        }
    ]
    assert "location 300000001 on 2024-03-01 (bill HS-2024-03-0001): 0.5000 -> 0.9000 CCF" in out


def test_no_correction_sends_no_signal(stored, export_file):
    calls = []

    def billing(sender, **kwargs):
        calls.append(kwargs)
        return []

    reads_corrected.connect(billing)
    try:
        import_usage(export_file([row(day=DAY, usage="0.5")], name="same.csv"))
    finally:
        reads_corrected.disconnect(billing)
    assert calls == []


def test_a_failing_receiver_does_not_lose_the_import_and_says_so(stored, export_file):
    def broken(sender, **kwargs):
        raise RuntimeError("billing is down")

    reads_corrected.connect(broken)
    try:
        code, out, _ = import_usage(export_file([row(day=DAY, usage="0.7")], name="fix.csv"))
    finally:
        reads_corrected.disconnect(broken)
    assert code == 0
    assert MeterRead.objects.get(read_date=DAY).usage_ccf == Decimal("0.7000")
    assert "Could not check issued bills: billing is down" in out
