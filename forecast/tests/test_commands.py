"""export_forecasts and backtest_forecast against the database (SPEC §4, §7)."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from conftest import make_customer
from forecast.selectors import anticipated_bill
from metering.models import MeterRead

pytestmark = pytest.mark.django_db


def give_reads(customer, first, last, usage="0.5000"):
    days = (last - first).days + 1
    MeterRead.objects.bulk_create(
        MeterRead(customer=customer, read_date=first + datetime.timedelta(days=i), usage_ccf=Decimal(usage))
        for i in range(days)
    )


@pytest.fixture
def two_customers(db):
    steady = make_customer("300000002", "Steady Sam")
    heavy = make_customer("300000001", "Heavy Hal", customer_type="commercial")
    give_reads(steady, datetime.date(2024, 1, 1), datetime.date(2026, 7, 15))
    give_reads(heavy, datetime.date(2024, 1, 1), datetime.date(2026, 7, 15), usage="1.0000")
    make_customer("300000003", "New Nell")  # no reads: no forecast
    return steady, heavy


def export(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command("export_forecasts", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_export_writes_the_spec_columns_sorted_by_location(two_customers):
    out, err = export("--period", "2026-07", "--as-of", "2026-07-15")
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["location_id", "period", "predicted_usage_ccf", "predicted_total", "low_total", "high_total"]
    # steady use of 1.0 and 0.5 CCF a day: 31 and 15.5 CCF in July, priced with July's 1.2 multiplier
    assert rows[1][:4] == ["300000001", "2026-07", "31.0000", "132.20"]
    assert rows[2][:4] == ["300000002", "2026-07", "15.5000", "69.80"]
    assert Decimal(rows[2][4]) <= Decimal("69.80") <= Decimal(rows[2][5])
    assert len(rows) == 3
    assert "Forecast 2 customers for 2026-07 as of 2026-07-15" in err


def test_export_to_a_file(two_customers, tmp_path):
    target = tmp_path / "forecasts.csv"
    export("--period", "2026-07", "--as-of", "2026-07-15", "--output", str(target))
    assert target.read_text().startswith("location_id,period,")
    assert not (tmp_path / "forecasts.csv.part").exists()


def test_export_uses_only_reads_on_or_before_the_as_of_date(two_customers):
    before, _ = export("--period", "2026-07", "--as-of", "2026-07-10")
    give_reads(two_customers[0], datetime.date(2026, 7, 16), datetime.date(2026, 7, 20), usage="9.0000")
    after, _ = export("--period", "2026-07", "--as-of", "2026-07-10")
    assert before == after


@pytest.mark.parametrize(
    "args, message",
    [
        (["--period", "2026-13", "--as-of", "2026-07-10"], "--period must look like"),
        (["--period", "2026-07", "--as-of", "10/07/2026"], "--as-of must be a date"),
    ],
)
def test_export_refuses_bad_dates_with_exit_code_2(args, message, db):
    with pytest.raises(CommandError, match=message) as error:
        export(*args)
    assert error.value.returncode == 2


def test_export_into_a_missing_folder_fails_cleanly(two_customers, tmp_path):
    with pytest.raises(CommandError, match="Cannot write") as error:
        export("--period", "2026-07", "--as-of", "2026-07-15", "--output", str(tmp_path / "no" / "f.csv"))
    assert error.value.returncode == 2


def test_anticipated_bill_explains_itself(two_customers):
    forecast = anticipated_bill(customer=two_customers[0], as_of=datetime.date(2026, 7, 15))
    assert forecast.total == Decimal("69.80")
    assert forecast.explanation.startswith("7.50 CCF read so far, plus 16 days to go at about 0.50 CCF a day")


def test_a_customer_without_reads_has_no_anticipated_bill(db):
    assert anticipated_bill(customer=make_customer("1", "Nobody"), as_of=datetime.date(2026, 7, 15)) is None


def test_backtest_prints_mape_of_the_method_and_both_naive_forecasts(two_customers):
    out = io.StringIO()
    call_command("backtest_forecast", "--as-of-day", "0", "10", stdout=out, stderr=io.StringIO())
    text = out.getvalue()
    assert "Backtest over 2025-07 to 2026-06" in text
    for method in ("seasonal run rate", "naive: last month's bill", "naive: same month last year"):
        assert method in text


def test_backtest_without_reads_cannot_run(db):
    with pytest.raises(CommandError, match="no meter reads") as error:
        call_command("backtest_forecast", stdout=io.StringIO(), stderr=io.StringIO())
    assert error.value.returncode == 2
