"""Corrected reads inside an issued bill's period are reported back to the import (SPEC §1)."""

import datetime
from decimal import Decimal as D

from billing.receivers import corrections_in_issued_bills
from billing.services import bill_run_compute
from metering.models import ImportRun, ReadCorrection

from .conftest import add_month


def test_corrections_in_issued_periods_are_answered_with_the_bill_number(alice_account, bob_account):
    july, august = datetime.date(2025, 7, 1), datetime.date(2025, 8, 1)
    add_month(alice_account, july, "5")
    add_month(bob_account, july, "5")
    bill_run_compute(period=july, cycles=[1], issue=True, actor_label="test", today=datetime.date(2025, 8, 4))
    bill_run_compute(period=july, cycles=[2], actor_label="test")  # bob: draft only
    run = ImportRun.objects.create(file_name="fix.csv")
    for customer, day in ((alice_account, datetime.date(2025, 7, 9)), (bob_account, july), (alice_account, august)):
        ReadCorrection.objects.create(
            import_run=run, customer=customer, read_date=day, old_usage_ccf=D("1"), new_usage_ccf=D("2")
        )
    answer = corrections_in_issued_bills(ImportRun, run=run, corrections=ReadCorrection.objects.filter(import_run=run))
    assert answer == [(alice_account.pk, datetime.date(2025, 7, 9), "HS-202507-000001")]
