"""Two Billing clerks cancelling, or rebilling, the same bill at once: one wins, the other is refused, and
the account holds one cancellation and at most one corrected bill (proved on PostgreSQL, where the two
transactions truly overlap; SQLite serialises writers)."""

import datetime

import pytest
from django.db import connection

from billing.exceptions import BillingError
from billing.models import Bill, LedgerEntry
from billing.rebilling import bill_cancel, bill_rebill
from billing.services import bill_run_compute
from conftest import make_customer

from .conftest import add_month
from .test_concurrency import _in_threads

JULY = datetime.date(2025, 7, 1)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the concurrency proof runs on PostgreSQL (DATABASE_URL=postgres://…); SQLite serialises writers",
    ),
]


@pytest.fixture
def bill():
    add_month(make_customer("100000001", "Alice Archer"), JULY, "12")
    bill_run_compute(period=JULY, issue=True, actor_label="test", today=datetime.date(2025, 8, 4))
    return Bill.objects.get()


def _refusals(errors) -> list:
    assert all(isinstance(error, BillingError) for error in errors), errors
    return errors


@pytest.mark.parametrize("service", [bill_cancel, bill_rebill])
def test_two_cancels_of_one_bill_at_once_cancel_it_once(bill, service):
    def clerk():
        service(bill=Bill.objects.get(pk=bill.pk), reason="Racing", actor_label="thread")

    assert len(_refusals(_in_threads(clerk, clerk, clerk))) == 2
    assert LedgerEntry.objects.filter(kind="cancellation").count() == 1
    assert Bill.objects.filter(replaces=bill).count() == (1 if service is bill_rebill else 0)
    assert Bill.objects.filter(period=JULY).exclude(status="cancelled").count() == (1 if service is bill_rebill else 0)
