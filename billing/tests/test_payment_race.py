"""Two payments racing past the balance (issue 12, issue 10's mutation tests): on PostgreSQL, where the
two transactions truly overlap, the customer's row lock lets one through and refuses the other; without
select_for_update or without transaction.atomic in payment_record this test fails."""

import datetime
import threading
import time
from decimal import Decimal as D

import pytest
from django.db import connection, connections

from billing import account_services
from billing.account import balance_at
from billing.exceptions import BillingError
from billing.models import Bill, Payment
from billing.services import bill_run_compute

from .conftest import add_month

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="the race runs on PostgreSQL (DATABASE_URL=postgres://…); SQLite serialises writers",
    ),
]
TODAY = datetime.date(2025, 8, 20)


def test_two_payments_of_the_whole_balance_at_once_record_one(alice_account, biller, monkeypatch):
    add_month(alice_account, datetime.date(2025, 7, 1), "25.5")  # 109.10
    bill_run_compute(period=datetime.date(2025, 7, 1), issue=True, actor_label="test", today=datetime.date(2025, 8, 4))
    checked = account_services.payment_check

    def slow_check(**kwargs):  # both threads pass the check before either writes, unless the row lock holds one
        amount = checked(**kwargs)
        time.sleep(0.5)
        return amount

    monkeypatch.setattr(account_services, "payment_check", slow_check)
    barrier, outcomes = threading.Barrier(2), []

    def pay():
        try:
            barrier.wait()
            account_services.payment_record(
                customer=alice_account, amount="109.10", paid_on=TODAY, method="card", actor=biller, today=TODAY
            )
            outcomes.append("recorded")
        except BillingError as error:
            outcomes.append(str(error))
        except Exception as error:  # noqa: BLE001 (a TransactionManagementError without atomic: the test fails)
            outcomes.append(f"error: {error!r}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=pay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes)[1] == "recorded" and "more than the account's balance of $0.00" in sorted(outcomes)[0]
    assert Payment.objects.count() == 1
    assert balance_at(Bill.objects.get().customer, TODAY) == D("0.00")
