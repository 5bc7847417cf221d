"""import_usage (SPEC §1, §7): what is imported, what is refused, and the exit codes."""

import csv
import datetime
from decimal import Decimal

import pytest
import time_machine

from accounts.models import AuditEvent, Customer
from metering import bulk, parsing
from metering.models import ImportRun, ImportStatus, MeterRead

from .conftest import HEADER, import_usage, row

pytestmark = pytest.mark.django_db
MARCH = [datetime.date(2024, 3, d) for d in range(1, 4)]


def reads():
    return sorted(MeterRead.objects.values_list("customer__location_id", "read_date", "usage_ccf"))


def rejected_rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_a_clean_file_creates_its_customers_and_reads_and_exits_0(export_file):
    path = export_file([row("300000001", d, "0.5") for d in MARCH] + [row("300000002", MARCH[0], "1.25")])
    code, out, _ = import_usage(path)
    assert code == 0
    assert "4 rows read: 4 reads created, 0 corrected, 0 unchanged, 0 rejected; 2 customers created" in out
    assert reads()[0] == ("300000001", MARCH[0], Decimal("0.5000"))
    ada = Customer.objects.get(location_id="300000001")
    assert (ada.name, ada.customer_type, ada.cycle_number, ada.phone) == (
        "Ada Lovelace",
        "residential",
        3,
        "(214) 555-0101",
    )


def test_importing_the_same_file_twice_changes_nothing(export_file):
    path = export_file([row("300000001", d, "0.5") for d in MARCH])
    import_usage(path)
    before = (reads(), list(Customer.objects.values()))
    code, out, _ = import_usage(path)
    assert code == 0
    assert "3 rows read: 0 reads created, 0 corrected, 3 unchanged, 0 rejected; 0 customers created" in out
    assert (reads(), list(Customer.objects.values())) == before


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        (row(name=""), "missing Customer Name"),
        (row(mailing_address="   "), "missing Mailing Address"),
        (row("", MARCH[1]), "missing Location ID"),
        (row(customer_type=""), "missing Customer Type"),
        (row(cycle_number=""), "missing Cycle Number"),
        (row(day=None), "missing Year"),
        (row(usage=""), "missing Daily Water Usage (CCF)"),
        (row(usage="n/a"), "usage is not a number"),
        (row(usage="1,5"), "usage is not a number"),
        (row(usage="-0.25"), "usage is negative"),
        (row(day=None, raw={"Year": "2023", "Month": "2", "Day": "29"}), "the date does not exist"),
        (row(day=None, raw={"Year": "2024", "Month": "13", "Day": "1"}), "the date does not exist"),
        (row(day=datetime.date(2024, 6, 2)), "the date is after today (2024-06-01)"),
        (row(customer_type="Industrial"), "unknown customer type “Industrial”"),
        (row(cycle_number="0"), "cycle number must be a whole number from 1"),
        (row(cycle_number="2.5"), "cycle number must be a whole number from 1"),
        (row("4" * 21), "Location ID is longer than 20 characters"),
    ],
)
@time_machine.travel(datetime.datetime(2024, 6, 1, 12, tzinfo=datetime.UTC), tick=False)
def test_every_rejection_reason_is_reported_with_its_line_and_good_rows_still_import(
    export_file, tmp_path, bad_row, reason
):
    good = row("300000009", MARCH[0], "0.5")
    path = export_file([good, bad_row])
    code, out, _ = import_usage(path, "--rejects", str(tmp_path / "rejects.csv"))
    assert code == 1
    assert "2 rows read: 1 read created, 0 corrected, 0 unchanged, 1 rejected" in out
    [rejected] = rejected_rows(tmp_path / "rejects.csv")
    assert rejected["line"] == "3"
    assert reason in rejected["reason"]
    assert rejected["Customer Name"] == bad_row["Customer Name"].strip()
    assert MeterRead.objects.count() == 1


def test_a_line_with_more_fields_than_the_header_is_rejected_with_its_line(tmp_path):
    path = tmp_path / "reads.csv"
    good = 'Ada,"1 Elm St, Dallas",300000001,Residential,3,,,,2024,3,1,0.5'
    unquoted = "Bob,2 Oak St, Dallas,300000002,Residential,3,,,,2024,3,1,0.5"
    path.write_text("\n".join([",".join(HEADER), good, unquoted, good.replace(",1,0.5", ",2,0.5")]) + "\n")
    code, out, _ = import_usage(path, "--rejects", str(tmp_path / "rejects.csv"))
    assert code == 1
    [rejected] = rejected_rows(tmp_path / "rejects.csv")
    assert rejected["line"] == "3" and "13 fields but the header has 12" in rejected["reason"]
    assert [r[1].day for r in reads()] == [1, 2]


def test_two_different_usages_for_one_location_and_day_are_both_rejected(export_file, tmp_path):
    path = export_file([row(day=MARCH[0], usage="0.5"), row(day=MARCH[1]), row(day=MARCH[0], usage="0.7")])
    code, out, _ = import_usage(path, "--rejects", str(tmp_path / "rejects.csv"))
    assert code == 1
    assert [(r["line"], r["Daily Water Usage (CCF)"]) for r in rejected_rows(tmp_path / "rejects.csv")] == [
        ("2", "0.5"),
        ("4", "0.7"),
    ]
    assert "different usage (lines 2, 4)" in rejected_rows(tmp_path / "rejects.csv")[0]["reason"]
    assert [r[1] for r in reads()] == [MARCH[1]]


def test_conflicting_rows_far_apart_in_a_long_file_are_found(export_file, tmp_path, monkeypatch):
    monkeypatch.setattr(parsing, "CSV_CHUNK_ROWS", 2)  # the two rows land in different chunks
    path = export_file(
        [row(day=MARCH[0], usage="0.5"), row(day=MARCH[1]), row(day=MARCH[2]), row(day=MARCH[0], usage="1")]
    )
    code, _, _ = import_usage(path, "--rejects", str(tmp_path / "rejects.csv"))
    assert code == 1
    assert [r["line"] for r in rejected_rows(tmp_path / "rejects.csv")] == ["2", "5"]
    assert [r[1] for r in reads()] == MARCH[1:]


def test_a_row_repeated_with_the_same_usage_is_imported_once(export_file):
    path = export_file([row(day=MARCH[0], usage="0.5"), row(day=MARCH[0], usage="0.50")])
    code, out, _ = import_usage(path)
    assert code == 0
    assert "2 rows read: 1 read created, 0 corrected, 1 unchanged, 0 rejected" in out
    assert len(reads()) == 1


def test_bom_crlf_moved_columns_header_case_and_spaces_and_padded_values_are_fine(tmp_path):
    lines = [
        "  daily water usage (ccf) ,DAY,month,Year,location id,"
        "Customer  Name,MAILING ADDRESS,customer type, Cycle Number,Extra",
        ' 0.5 ,1,3,2024,  300000001 ,  Ada Lovelace ," 12 Elm St, Dallas ", rESIDENTIAL , 3 ,whatever',
    ]
    path = tmp_path / "reads.csv"
    path.write_bytes(("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8"))
    code, out, _ = import_usage(path)
    assert code == 0, out
    assert reads() == [("300000001", MARCH[0], Decimal("0.5000"))]
    ada = Customer.objects.get()
    assert (ada.name, ada.mailing_address, ada.customer_type, ada.cycle_number) == (
        "Ada Lovelace",
        "12 Elm St, Dallas",
        "residential",
        3,
    )


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("0.56000000000000005", "0.5600"),
        ("7.0000000000000007E-2", "0.0700"),
        ("0.00005", "0.0001"),  # half up, not to even
        ("1.23455", "1.2346"),
        ("2.0000499999", "2.0000"),
        ("3", "3.0000"),
        ("-0", "0.0000"),
    ],
)
def test_usage_is_stored_to_4_places_rounded_half_up_on_the_decimal_value_of_the_text(export_file, text, stored):
    code, _, _ = import_usage(export_file([row(usage=text)]))
    assert code == 0
    assert MeterRead.objects.get().usage_ccf == Decimal(stored)


def test_a_missing_required_column_exits_2_and_writes_nothing(export_file):
    path = export_file([row()], header=[h for h in HEADER if h != "Cycle Number"])
    code, _, err = import_usage(path)
    assert code == 2
    assert "Missing required column(s): “Cycle Number”" in err
    assert not Customer.objects.exists() and not MeterRead.objects.exists()
    assert ImportRun.objects.get().status == ImportStatus.REFUSED


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("reads.csv", b"", "The file is empty"),
        ("reads.csv", b"\xff\xfe\x00junk\x00\x81", "not UTF-8"),
        ("reads.xlsx", b"not a workbook", "cannot be read as an Excel workbook"),
        ("reads.txt", b"whatever", "neither a .csv nor an .xlsx"),
    ],
)
def test_a_file_that_cannot_be_read_exits_2_and_writes_nothing(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    code, _, err = import_usage(path)
    assert code == 2
    assert message in err
    assert not MeterRead.objects.exists()


def test_a_missing_file_exits_2(tmp_path):
    code, _, err = import_usage(tmp_path / "nowhere.csv")
    assert code == 2 and "No such file" in err


def test_atomic_writes_nothing_when_any_row_is_rejected_and_still_lists_the_rejects(export_file, tmp_path):
    path = export_file([row(day=MARCH[0]), row(day=MARCH[1], usage="oops")])
    code, _, err = import_usage(path, "--atomic", "--rejects", str(tmp_path / "rejects.csv"))
    assert code == 2
    assert "1 of 2 rows were rejected" in err
    assert not MeterRead.objects.exists() and not Customer.objects.exists()
    assert [r["line"] for r in rejected_rows(tmp_path / "rejects.csv")] == ["3"]


def test_atomic_imports_a_clean_file(export_file):
    code, _, _ = import_usage(export_file([row(day=d) for d in MARCH]), "--atomic")
    assert code == 0 and len(reads()) == 3


def test_the_real_xlsx_gives_2830_reads_with_the_spec_monthly_totals(settings):
    from metering.selectors import monthly_usage

    code, out, _ = import_usage(settings.BASE_DIR / "fixtures" / "TX_Daily_Water_Usage_101887055.xlsx")
    assert code == 0
    assert "2,830 rows read: 2,830 reads created" in out
    noah = Customer.objects.get(location_id="101887055")
    assert (noah.name, noah.customer_type, noah.cycle_number) == ("Noah Hernandez", "residential", 20)
    totals = {month: usage for month, usage, _ in monthly_usage(customer=noah)}
    assert totals[datetime.date(2018, 9, 1)] == Decimal("12.07")
    assert totals[datetime.date(2019, 7, 1)] == Decimal("13.01")
    assert totals[datetime.date(2019, 1, 1)] == Decimal("7.67")


def test_an_import_that_crashes_midway_changes_nothing_and_a_rerun_completes_without_duplicates(
    export_file, monkeypatch
):
    path = export_file([row(day=d) for d in MARCH])
    real_insert = bulk.reads_insert

    def crash_after_writing(customer_ids, days, units, progress):
        real_insert(customer_ids[:2], days[:2], units[:2], progress)
        raise ConnectionError("the database went away")

    monkeypatch.setattr(bulk, "reads_insert", crash_after_writing)
    code, _, err = import_usage(path)
    assert code == 2 and "the database went away" in err
    assert not MeterRead.objects.exists() and not Customer.objects.exists()
    assert ImportRun.objects.get().status == ImportStatus.FAILED
    monkeypatch.setattr(bulk, "reads_insert", real_insert)
    code, out, _ = import_usage(path)
    assert code == 0 and "3 reads created" in out
    assert len(reads()) == 3


def test_customer_details_follow_the_files_latest_row_whatever_the_order(export_file):
    path = export_file(
        [
            row(day=MARCH[2], name="Ada King", customer_type="commercial", business_name="Ada's Bakery"),
            row(day=MARCH[0], name="Ada Lovelace"),
        ]
    )
    import_usage(path)
    ada = Customer.objects.get()
    assert (ada.name, ada.customer_type, ada.business_name) == ("Ada King", "commercial", "Ada's Bakery")


def test_an_existing_customer_is_updated_from_the_file_and_the_change_audited(export_file):
    import_usage(export_file([row(day=MARCH[0])], name="first.csv"))
    code, out, _ = import_usage(export_file([row(day=MARCH[1], mailing_address="9 New Rd, Dallas")], name="next.csv"))
    assert code == 0 and "0 customers created, 1 updated" in out
    ada = Customer.objects.get()
    assert ada.mailing_address == "9 New Rd, Dallas"
    event = AuditEvent.objects.get(action="customer.update")
    assert event.changes == {"mailing_address": ["12 Elm St, Dallas, TX 75201", "9 New Rd, Dallas"]}
    assert event.actor_label == "command import_usage"


def test_every_import_is_recorded_with_who_when_what_and_how_long(export_file):
    import_usage(export_file([row(day=d) for d in MARCH] + [row(day=MARCH[0], usage="x")]))
    run = ImportRun.objects.get()
    assert (run.actor_label, run.source, run.file_name, run.status) == (
        "command import_usage",
        "command",
        "reads.csv",
        "done",
    )
    assert (run.rows_read, run.reads_created, run.rows_rejected, run.customers_created) == (4, 3, 1, 1)
    assert run.duration_seconds is not None and run.rejects_file
    assert AuditEvent.objects.filter(action="meter_import.done", target_id=str(run.pk)).exists()


def test_blank_lines_are_skipped_and_line_numbers_stay_true(tmp_path):
    good = "Ada,1 Elm St,300000001,Residential,3,,,,2024,3,{day},0.5"
    path = tmp_path / "reads.csv"
    path.write_text(",".join(HEADER) + "\n" + good.format(day=1) + "\n\n" + good.format(day=32) + "\n")
    code, out, _ = import_usage(path, "--rejects", str(tmp_path / "rejects.csv"))
    assert code == 1 and "2 rows read" in out
    assert rejected_rows(tmp_path / "rejects.csv")[0]["line"] == "4"
