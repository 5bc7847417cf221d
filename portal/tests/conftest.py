"""Portal fixtures: alice and bob with a year and a half of reads, an issued bill each, a fixed today."""

import datetime
from decimal import Decimal

import pytest

from billing.models import Bill
from billing.services import bill_run_compute
from metering.models import MeterRead

TODAY = datetime.date(2026, 11, 20)
FIRST_READ = datetime.date(2025, 5, 1)


@pytest.fixture(autouse=True)
def fixed_today(time_machine):
    """Noon in Chicago on TODAY: the portal's "this month" is November 2026, reads run to yesterday."""
    time_machine.move_to(datetime.datetime(2026, 11, 20, 18, 0, tzinfo=datetime.UTC), tick=False)


def give_reads(customer, usage="0.5000", first=FIRST_READ, last=TODAY - datetime.timedelta(days=1)):
    MeterRead.objects.bulk_create(
        MeterRead(customer=customer, read_date=first + datetime.timedelta(days=i), usage_ccf=Decimal(usage))
        for i in range((last - first).days + 1)
    )


@pytest.fixture
def alice_reads(alice_account):
    give_reads(alice_account)
    return alice_account


@pytest.fixture
def bills(alice_account, bob_account):
    """October 2026 billed and issued for both: alice uses 0.5 CCF a day, bob 1 CCF a day."""
    give_reads(alice_account)
    give_reads(bob_account, usage="1.0000")
    bill_run_compute(period=datetime.date(2026, 10, 1), issue=True, actor_label="test")
    return {
        "alice": Bill.objects.get(customer=alice_account),
        "bob": Bill.objects.get(customer=bob_account),
    }
