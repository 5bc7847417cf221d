"""run_billing and export_bills (SPEC §7): output, summary, exit codes."""

import datetime

import pytest
from django.core.management import CommandError, call_command

from billing.models import Bill

from .conftest import add_month

JULY = datetime.date(2025, 7, 1)


def test_run_billing_reports_customers_without_reads(alice_account, bob_account, capsys):
    add_month(alice_account, JULY, "25.5")
    call_command("run_billing", "--period", "2025-07")
    out = capsys.readouterr().out
    assert "100000002" in out and "1 customers without reads" in out and "$109.10" in out


def test_a_dry_run_says_so_and_saves_nothing(alice_account, capsys):
    add_month(alice_account, JULY, "8")
    call_command("run_billing", "--period", "2025-07", "--dry-run")
    assert "Dry run, nothing saved" in capsys.readouterr().out
    assert not Bill.objects.exists()


def test_cycles_and_issue_from_the_command_line(alice_account, bob_account):
    add_month(alice_account, JULY, "8")
    add_month(bob_account, JULY, "8")
    call_command("run_billing", "--period", "2025-07", "--cycle", "2", "--issue")
    assert list(Bill.objects.values_list("customer", "status")) == [(bob_account.pk, "issued")]


@pytest.mark.parametrize("period", ["2025-13", "July", "2025/07"])
def test_a_bad_period_exits_2(period):
    with pytest.raises(CommandError) as error:
        call_command("run_billing", "--period", period)
    assert error.value.returncode == 2


def test_issuing_a_month_not_over_exits_2_and_changes_nothing(alice_account):
    today = datetime.date.today()
    add_month(alice_account, today.replace(day=1), "3", days=1)
    with pytest.raises(CommandError) as error:
        call_command("run_billing", "--period", f"{today:%Y-%m}", "--issue")
    assert error.value.returncode == 2 and not Bill.objects.exists()


def test_export_bills_writes_spec_columns_sorted_with_drafts(alice_account, bob_account, tmp_path):
    add_month(bob_account, JULY, "25.5")
    add_month(alice_account, JULY, "12.07")
    call_command("run_billing", "--period", "2025-07", "--cycle", "2", "--issue")
    call_command("run_billing", "--period", "2025-07")
    out = tmp_path / "bills.csv"
    call_command("export_bills", "--period", "2025-07", "--output", str(out))
    assert out.read_text().splitlines() == [
        "location_id,period,usage_ccf,usage_charge,base_fee,infrastructure_fee,total_amount,status",
        "100000001,2025-07,12.0700,37.45,15.00,5.00,57.45,draft",
        "100000002,2025-07,25.5000,89.10,15.00,5.00,109.10,issued",
    ]


def test_export_to_an_unwritable_place_exits_2(tmp_path):
    with pytest.raises(CommandError) as error:
        call_command("export_bills", "--period", "2025-07", "--output", str(tmp_path / "no" / "such" / "dir.csv"))
    assert error.value.returncode == 2
