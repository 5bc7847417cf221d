"""import_payments, apply_late_fees, export_balances, export_bills --all, run_billing --issue-date (SPEC §7)."""

import csv
import datetime
import io
from decimal import Decimal as D

import pytest
import time_machine
from django.core.management import call_command

from billing.account import balance_at
from billing.models import Bill, LedgerEntry, Payment, PaymentImport
from billing.services import bill_run_compute
from conftest import make_customer

from .conftest import add_month

day = datetime.date
TODAY = datetime.datetime(2025, 9, 30, 12, tzinfo=datetime.UTC)


def run(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command(*args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    except Exception as error:  # CommandError
        code = getattr(error, "returncode", 1)
        err.write(str(error))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def july_bills(alice_account, bob_account):
    for customer in (alice_account, bob_account):
        add_month(customer, day(2025, 7, 1), "25.5")  # 109.10 each
    bill_run_compute(period=day(2025, 7, 1), issue=True, actor_label="test", today=day(2025, 8, 4))
    return list(Bill.objects.order_by("customer__location_id"))


def write(tmp_path, text: str, name="bank.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


GOOD = (
    "\ufeffLocation_ID , Amount,PAID_ON,method,reference\r\n"
    "100000001,50.00,2025-08-10,Card,TX-1\r\n"
    "100000002,109.10,2025-08-11,bank_transfer,TX-2\r\n"
)


@time_machine.travel(TODAY)
def test_import_payments_records_each_row_on_the_account(tmp_path, july_bills):
    code, out, _err = run("import_payments", str(write(tmp_path, GOOD)))
    assert code == 0 and "2 rows read, 2 payments recorded ($159.10), 0 already recorded, 0 rejected" in out
    alice, bob = (bill.customer for bill in july_bills)
    assert balance_at(alice, day(2025, 8, 31)) == D("59.10") and balance_at(bob, day(2025, 8, 31)) == D("0.00")
    assert set(Payment.objects.values_list("source", "method")) == {
        ("bank_file", "card"),
        ("bank_file", "bank_transfer"),
    }
    assert LedgerEntry.objects.filter(kind="payment").count() == 2


@time_machine.travel(TODAY)
def test_the_same_bank_file_twice_records_each_payment_once(tmp_path, july_bills):
    path = write(tmp_path, GOOD)
    run("import_payments", str(path))
    code, out, _err = run("import_payments", str(path))
    assert code == 0 and "0 payments recorded ($0.00), 2 already recorded" in out
    assert Payment.objects.count() == 2 and LedgerEntry.objects.filter(kind="payment").count() == 2


@time_machine.travel(TODAY)
def test_an_imported_payment_above_the_balance_becomes_a_credit(tmp_path, july_bills):
    run(
        "import_payments",
        str(write(tmp_path, "location_id,amount,paid_on,method,reference\n100000001,150,2025-08-10,cash,R1\n")),
    )
    assert balance_at(july_bills[0].customer, day(2025, 9, 30)) == D("-40.90")


REJECTED = {
    "100000009,5.00,2025-08-10,card,A": "unknown location",
    "100000001,5.001,2025-08-10,card,B": "amount is not a positive number of whole cents",
    "100000001,0.00,2025-08-10,card,C": "amount is not a positive number of whole cents",
    "100000001,-5,2025-08-10,card,D": "amount is not a positive number of whole cents",
    "100000001,abc,2025-08-10,card,E": "amount is not a positive number of whole cents",
    "100000001,5.00,2025-02-30,card,F": "paid_on is not a date that exists",
    "100000001,5.00,10/08/2025,card,G": "paid_on is not a date that exists",
    "100000001,5.00,2025-10-01,card,H": "paid_on is after today",
    "100000001,5.00,2025-08-10,bitcoin,I": "method is not one of card, bank_transfer, check, cash",
    "100000001,5.00,2025-08-10,other,J": "method is not one of card, bank_transfer, check, cash",
    "100000001,5.00,2025-08-10,card,": "reference is missing",
    ",5.00,2025-08-10,card,K": "location_id is missing",
}


@time_machine.travel(TODAY)
def test_every_rejection_reason_with_its_line(tmp_path, july_bills):
    lines = ["location_id,amount,paid_on,method,reference", "100000001,5.00,2025-08-10,CHECK,OK", *REJECTED]
    rejects = tmp_path / "rejects.csv"
    code, out, err = run("import_payments", str(write(tmp_path, "\n".join(lines) + "\n")), "--rejects", str(rejects))
    assert code == 1 and f"1 payments recorded ($5.00), 0 already recorded, {len(REJECTED)} rejected" in out
    rows = list(csv.DictReader(rejects.open(encoding="utf-8")))
    assert [int(r["line"]) for r in rows] == list(range(3, 3 + len(REJECTED)))
    for row, (text, reason) in zip(rows, REJECTED.items(), strict=True):
        assert row["reason"].startswith(reason), (text, row["reason"])
        assert row["location_id"] == text.split(",")[0]
    assert Payment.objects.get().reference == "OK" and "line 3: unknown location" in err


@time_machine.travel(TODAY)
def test_a_reference_repeated_with_other_figures_is_refused_and_an_exact_repeat_is_one_payment(tmp_path, july_bills):
    text = (
        "location_id,amount,paid_on,method,reference\n"
        "100000001,5.00,2025-08-10,card,X\n100000001,5.00,2025-08-10,card,X\n"
        "100000002,5.00,2025-08-10,card,Y\n100000002,6.00,2025-08-10,card,Y\n"
    )
    code, out, _err = run("import_payments", str(write(tmp_path, text)))
    assert code == 1 and "1 payments recorded ($5.00), 1 already recorded, 2 rejected" in out


@time_machine.travel(TODAY)
@pytest.mark.parametrize(
    "text", ["", "location_id,amount,paid_on\n100000001,5,2025-08-10\n", 'a,b\n"unterminated\n1,2,3\n']
)
def test_an_unusable_file_exits_2_and_records_nothing(tmp_path, july_bills, text):
    code, _out, err = run("import_payments", str(write(tmp_path, text)))
    assert code == 2 and "Nothing recorded" in err
    assert not Payment.objects.exists() and PaymentImport.objects.get().state == "failed"


@time_machine.travel(TODAY)
def test_a_missing_file_exits_2(tmp_path, db):
    code, _out, err = run("import_payments", str(tmp_path / "nope.csv"))
    assert code == 2 and "Cannot open" in err


# --- late fees and balances --------------------------------------------------------------------------------


@time_machine.travel(TODAY)
def test_apply_late_fees_and_export_balances(tmp_path, july_bills):
    run("import_payments", str(write(tmp_path, GOOD)))  # Alice leaves 59.10 open, Bob pays all
    code, out, _err = run("apply_late_fees", "--as-of", "2025-08-31")
    assert code == 0 and "1 charged ($2.96)" in out  # 5% of 59.10 = 2.955 → 2.96, on 2025-08-31
    assert run("apply_late_fees")[1].count("0 charged") == 1
    output = tmp_path / "balances.csv"
    assert run("export_balances", "--as-of", "2025-09-01", "--output", str(output))[0] == 0
    assert output.read_text().splitlines() == [
        "location_id,balance,overdue_amount",
        "100000001,62.06,62.06",
        "100000002,0.00,0.00",
    ]
    run("export_balances", "--as-of", "2025-08-04", "--output", str(output))
    assert output.read_text().splitlines()[1:] == ["100000001,109.10,0.00", "100000002,109.10,0.00"]
    run("export_balances", "--as-of", "2025-08-03", "--output", str(output))
    assert output.read_text().splitlines() == ["location_id,balance,overdue_amount"]


@time_machine.travel(TODAY)
def test_bad_dates_exit_2(db):
    assert run("apply_late_fees", "--as-of", "2025-13-01")[0] == 2
    assert run("apply_late_fees", "--as-of", "2025-10-01")[0] == 2  # ahead of today
    assert run("export_balances", "--as-of", "yesterday")[0] == 2


# --- export_bills --all and run_billing --issue-date --------------------------------------------------------


@time_machine.travel(TODAY)
def test_export_bills_lists_cancelled_bills_only_with_all(tmp_path, july_bills):
    Bill.objects.filter(pk=july_bills[0].pk).update(status=Bill.Status.CANCELLED)
    output = tmp_path / "bills.csv"
    run("export_bills", "--period", "2025-07", "--output", str(output))
    assert [line.split(",")[0] for line in output.read_text().splitlines()[1:]] == ["100000002"]
    run("export_bills", "--period", "2025-07", "--all", "--output", str(output))
    out = output.read_text()
    assert [(r.split(",")[0], r.split(",")[-1]) for r in out.splitlines()[1:]] == [
        ("100000001", "cancelled"),
        ("100000002", "issued"),
    ]


@time_machine.travel(TODAY)
def test_run_billing_issues_on_the_date_given_due_21_days_later(db):
    add_month(make_customer("100000003", "Cara"), day(2025, 8, 1), "8")
    code, out, _err = run("run_billing", "--period", "2025-08", "--issue-date", "2025-08-31")
    assert code == 0
    bill = Bill.objects.get()
    assert (bill.status, bill.issue_date, bill.due_date) == ("issued", day(2025, 8, 31), day(2025, 9, 21))
    entry = LedgerEntry.objects.get()
    assert (entry.entry_date, entry.amount) == (day(2025, 8, 31), bill.total_amount)


@time_machine.travel(TODAY)
@pytest.mark.parametrize(
    ("issue_date", "message"), [("2025-08-30", "before August 2025's last day"), ("2025-10-01", "in the future")]
)
def test_run_billing_refuses_an_issue_date_before_the_month_ends_or_in_the_future(db, issue_date, message):
    add_month(make_customer("100000003", "Cara"), day(2025, 8, 1), "8")
    code, _out, err = run("run_billing", "--period", "2025-08", "--issue-date", issue_date)
    assert code == 2 and message in err
    assert not Bill.objects.exists()
