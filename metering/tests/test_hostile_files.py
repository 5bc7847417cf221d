"""Files that are broken or built to hurt: each ends in a clear refusal or a rejected row with its line,
at a bounded cost (issues 10.11, 11.4, 11.8)."""

import datetime
import json
import subprocess
import sys
import textwrap
import zipfile

import pytest
import xlsxwriter

from metering import guards
from metering.models import ImportRun, MeterRead

from .conftest import HEADER, export_text, import_usage, row
from .test_import_command import reads, rejected_rows

pytestmark = pytest.mark.django_db
MARCH = [datetime.date(2024, 3, d) for d in (1, 2, 3)]
GOOD = 'Ada,"1 Elm St, Dallas",300000001,Residential,3,,,,2024,3,{day},0.5'


def _write(tmp_path, lines, name="reads.csv"):
    path = tmp_path / name
    path.write_text("\n".join([",".join(HEADER), *lines]) + "\n")
    return path


# --- CSV: fields, separators, encodings, sizes ---------------------------------------------------------


def test_an_unquoted_comma_in_the_first_data_row_rejects_only_that_row(tmp_path):
    # pandas took the extra field as an index: the row became customer "12 Oak St" and every good row shifted
    unquoted = "Bob,12 Oak St, Dallas,300000002,Residential,3,,,,2024,3,1,0.5"
    path = _write(tmp_path, [unquoted, *(GOOD.format(day=d) for d in range(1, 9))])
    code, out, _ = import_usage(path, "--rejects", str(tmp_path / "rejects.csv"))
    assert code == 1
    [rejected] = rejected_rows(tmp_path / "rejects.csv")
    assert rejected["line"] == "2" and "13 fields but the header has 12" in rejected["reason"]
    assert [r[0] for r in reads()] == ["300000001"] * 8
    assert "9 rows read: 8 reads created" in out


def test_a_line_with_fewer_fields_than_the_header_is_rejected_with_its_line(tmp_path):
    short = "Bob,2 Oak St,300000002,Residential,3,2024,3,1,0.5"
    path = _write(tmp_path, [GOOD.format(day=1), short, GOOD.format(day=2)])
    code, _, _ = import_usage(path, "--rejects", str(tmp_path / "rejects.csv"))
    assert code == 1
    [rejected] = rejected_rows(tmp_path / "rejects.csv")
    assert rejected["line"] == "3" and "9 fields but the header has 12" in rejected["reason"]
    assert [r[1].day for r in reads()] == [1, 2]


def test_a_quoted_line_break_inside_an_address_is_one_field(tmp_path):
    path = _write(tmp_path, ['Ada,"1 Elm St\nDallas",300000001,Residential,3,,,,2024,3,1,0.5', GOOD.format(day=2)])
    code, _, _ = import_usage(path)
    assert code == 0 and len(reads()) == 2


@pytest.mark.parametrize(("separator", "named"), [(";", "semicolons (;)"), ("\t", "tabs")])
def test_a_file_separated_by_semicolons_or_tabs_is_refused_naming_the_separator(tmp_path, separator, named):
    path = tmp_path / "reads.csv"
    path.write_text(separator.join(HEADER) + "\n" + GOOD.format(day=1).replace(",", separator) + "\n")
    code, _, err = import_usage(path)
    assert code == 2
    assert f"separated by {named}, not commas" in err and "Missing required" not in err


def test_a_windows_1252_file_is_read_and_the_report_says_so(tmp_path):
    path = tmp_path / "reads.csv"
    text = export_text([row(name="José Müller – Café", day=MARCH[0])])
    path.write_bytes(text.encode("cp1252"))
    code, out, _ = import_usage(path)
    assert code == 0
    run = ImportRun.objects.get()
    assert run.encoding == "Windows-1252 (the bytes are not UTF-8)"
    assert "Windows-1252" in out
    from accounts.models import Customer

    assert Customer.objects.get().name == "José Müller – Café"


def test_a_utf8_file_is_reported_as_utf8(export_file):
    code, _, _ = import_usage(export_file([row(name="José")]))
    assert code == 0 and ImportRun.objects.get().encoding == "UTF-8"


def test_a_file_that_switches_from_utf8_to_something_else_is_refused_with_the_line(tmp_path, monkeypatch):
    monkeypatch.setattr(guards, "BLOCK_BYTES", 64)  # the two lines are read in different blocks
    monkeypatch.setattr(guards, "MAX_RECORD_BYTES", 1024)
    path = tmp_path / "reads.csv"
    first = export_text([row(name="José", day=MARCH[0])]).encode()
    second = export_text([row(name="Jos\xe9", day=MARCH[1])]).encode("latin-1").split(b"\n", 1)[1]
    path.write_bytes(first + second)
    code, _, err = import_usage(path)
    assert code == 2 and "not UTF-8 text, though earlier lines are" in err
    assert not MeterRead.objects.exists()


def test_a_200_mb_field_is_refused_after_reading_little_of_it(tmp_path, monkeypatch):
    # Scaled down: the rule is the same for 2 MB and 200 MB, and the reader never holds more than a block
    # and a record.
    monkeypatch.setattr(guards, "BLOCK_BYTES", 64 * 1024)
    path = tmp_path / "reads.csv"
    with path.open("w") as handle:
        handle.write(",".join(HEADER) + "\n" + GOOD.format(day=1) + "\n")
        handle.write('Ada,"' + "x" * (2 * 1024 * 1024) + '",300000001,Residential,3,,,,2024,3,2,0.5\n')
    code, _, err = import_usage(path)
    assert code == 2
    assert "Line 3 runs on for more than 128 KB" in err and "Traceback" not in err
    assert not MeterRead.objects.exists()


def test_a_header_with_a_million_columns_is_refused_before_parsing(tmp_path):
    path = tmp_path / "reads.csv"
    path.write_text(",".join(HEADER) + ",x" * 1_000_000 + "\n" + GOOD.format(day=1) + "\n")
    code, _, err = import_usage(path)
    assert code == 2 and "The header row is longer than 128 KB" in err


def test_a_header_with_too_many_columns_is_refused(tmp_path):
    path = tmp_path / "reads.csv"
    path.write_text(",".join([*HEADER, *(f"x{i}" for i in range(300))]) + "\n" + GOOD.format(day=1) + "\n")
    code, _, err = import_usage(path)
    assert code == 2 and "has 312 columns" in err


def test_a_row_with_a_million_extra_fields_costs_a_block_not_gigabytes(tmp_path):
    path = tmp_path / "reads.csv"
    path.write_text(",".join(HEADER) + "\n" + GOOD.format(day=1) + "\n" + GOOD.format(day=2) + ",1" * 1_000_000 + "\n")
    code, _, err = import_usage(path)
    assert code == 2 and "Line 3 runs on for more than" in err


def test_todays_reads_are_accepted_and_tomorrows_rejected(export_file, tmp_path, settings):
    import time_machine

    with time_machine.travel(datetime.datetime(2024, 3, 2, 12, tzinfo=datetime.UTC), tick=False):
        path = export_file([row(day=datetime.date(2024, 3, 2)), row(day=datetime.date(2024, 3, 3))])
        code, _, _ = import_usage(path, "--rejects", str(tmp_path / "rejects.csv"))
    assert code == 1
    assert [r[1] for r in reads()] == [datetime.date(2024, 3, 2)]
    [rejected] = rejected_rows(tmp_path / "rejects.csv")
    assert rejected["line"] == "3" and "after today" in rejected["reason"]


# --- XLSX ----------------------------------------------------------------------------------------------


def _workbook(path, rows, *, sheets=("DailyUsage",), data_sheet=0, formats=None):
    book = xlsxwriter.Workbook(str(path))
    for index, name in enumerate(sheets):
        sheet = book.add_worksheet(name)
        if index == data_sheet:
            sheet.write_row(0, 0, HEADER)
            for number, values in enumerate(rows, start=1):
                for column, value in enumerate(values):
                    _write_cell(book, sheet, number, column, value, formats)
    book.close()
    return path


def _write_cell(book, sheet, number, column, value, formats):
    if isinstance(value, datetime.date):
        sheet.write_datetime(number, column, datetime.datetime.combine(value, datetime.time()), formats)
    elif isinstance(value, str) and value.startswith("="):
        sheet.write_formula(number, column, value)  # XlsxWriter stores 0 and asks Excel to calculate on opening
    else:
        sheet.write(number, column, value)


def _values(day=MARCH[0], usage=0.5, year=None, month=None, dayn=None):
    return [
        "Ada",
        "1 Elm St, Dallas",
        300000001,
        "Residential",
        3,
        "",
        "",
        "",
        year if year is not None else day.year,
        month if month is not None else day.month,
        dayn if dayn is not None else day.day,
        usage,
    ]


def test_an_xlsx_formula_without_a_calculated_value_is_a_missing_usage_not_zero(tmp_path):
    path = _workbook(tmp_path / "reads.xlsx", [_values(usage="=A1*0"), _values(day=MARCH[1])])
    code, _, _ = import_usage(path, "--rejects", str(tmp_path / "rejects.csv"))
    assert code == 1
    [rejected] = rejected_rows(tmp_path / "rejects.csv")
    assert rejected["line"] == "2" and "missing Daily Water Usage (CCF)" in rejected["reason"]
    assert [r[1] for r in reads()] == [MARCH[1]]


def test_xlsx_date_cells_in_year_month_and_day_are_read_as_their_part_of_the_date(tmp_path):
    day = datetime.date(2024, 3, 2)
    book = xlsxwriter.Workbook(str(tmp_path / "reads.xlsx"))
    sheet = book.add_worksheet("DailyUsage")
    sheet.write_row(0, 0, HEADER)
    for column, value in enumerate(_values(day=day)):
        if column in (8, 9, 10):
            shown = book.add_format({"num_format": ("yyyy", "m", "d")[column - 8]})
            sheet.write_datetime(1, column, datetime.datetime.combine(day, datetime.time()), shown)
        else:
            sheet.write(1, column, value)
    book.close()
    code, _, err = import_usage(tmp_path / "reads.xlsx")
    assert code == 0, err
    assert [r[1] for r in reads()] == [day]


def test_data_on_another_sheet_than_the_first_names_that_sheet(tmp_path):
    path = _workbook(tmp_path / "reads.xlsx", [_values()], sheets=("Notes", "DailyUsage"), data_sheet=1)
    code, _, err = import_usage(path)
    assert code == 2
    assert "The first sheet (“Notes”) is empty, but the sheet “DailyUsage” holds data" in err


def _bomb(path, *, rows, string_chars=16 * 1024):
    """One long shared string referenced by every cell: a small file that reads back as gigabytes."""
    cells = "".join(
        f'<row r="{r}">' + "".join(f'<c r="{col}{r}" t="s"><v>0</v></c>' for col in "ABCDEFGHIJKL") + "</row>"
        for r in range(1, rows + 1)
    )
    parts = {
        "[Content_Types].xml": (
            '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
            '<sheet name="DailyUsage" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
            'Target="sharedStrings.xml"/></Relationships>'
        ),
        "xl/sharedStrings.xml": (
            '<?xml version="1.0"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" '
            f'uniqueCount="1"><si><t>{"x" * string_chars}</t></si></sst>'
        ),
        "xl/worksheets/sheet1.xml": (
            '<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            f"<sheetData>{cells}</sheetData></worksheet>"
        ),
    }
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return path


def test_a_shared_string_bomb_is_refused_before_python_calamine_reads_it(tmp_path):
    path = _bomb(tmp_path / "bomb.xlsx", rows=2_000)  # 24,000 cells × 16 KB: 390 million characters
    assert path.stat().st_size < 100_000
    code, _, err = import_usage(path)
    assert code == 2
    assert "text cells would hold 393,216,000 characters" in err
    run = ImportRun.objects.get()
    assert run.status == "refused" and "Traceback" not in run.error


def test_a_small_workbook_with_a_long_shared_string_is_still_read(tmp_path):
    # the cheap bound (cells × longest string) is over the limit only for a big sheet; this one is read
    path = _bomb(tmp_path / "fine.xlsx", rows=3, string_chars=100)
    code, _, _ = import_usage(path)
    assert code == 2  # a header of x's: refused for its missing columns, after it was read
    assert "Missing required column" in ImportRun.objects.get().error


def test_a_zip_part_that_compresses_like_a_bomb_is_refused(tmp_path):
    path = tmp_path / "ratio.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", "<worksheet>" + " " * (50 * 1024 * 1024) + "</worksheet>")
    code, _, err = import_usage(path)
    assert code == 2 and "decompression bomb" in err


def test_a_python_calamine_panic_ends_the_run_refused_not_running(tmp_path, monkeypatch):
    class PanicException(BaseException):  # pyo3's panic is a BaseException, not an Exception
        pass

    import python_calamine

    def panic(*args, **kwargs):
        raise PanicException("called `Option::unwrap()` on a `None` value")

    path = _workbook(tmp_path / "reads.xlsx", [_values()])
    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", panic)
    code, _, err = import_usage(path)
    assert code == 2 and "cannot be read as an Excel workbook" in err
    assert ImportRun.objects.get().status == "refused"


BOUNDED = textwrap.dedent(
    """
    import resource, sys, json
    from pathlib import Path
    from metering.exceptions import MeterImportError
    from metering.parsing import file_chunks
    try:
        for chunk in file_chunks(Path(sys.argv[1])):
            pass
        outcome = "read"
    except MeterImportError as exc:
        outcome = str(exc)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps({"outcome": outcome, "peak_mb": peak}))
    """
)


@pytest.mark.parametrize("kind", ["bomb", "long_field"])
def test_hostile_files_are_refused_within_bounded_memory(tmp_path, kind):
    """In a fresh process, so its peak resident memory is the reading's own (under 1 GB is the rule; far
    less is what happens)."""
    if kind == "bomb":
        path = _bomb(tmp_path / "bomb.xlsx", rows=20_000)  # about 3.9 GB of text once read
    else:
        path = tmp_path / "long.csv"
        with path.open("w") as handle:
            handle.write(",".join(HEADER) + "\n" + 'Ada,"')
            chunk = "y" * (1024 * 1024)
            for _ in range(200):  # a 200 MB field
                handle.write(chunk)
            handle.write('",1,Residential,3,,,,2024,3,1,0.5\n')
    done = subprocess.run(
        [sys.executable, "-c", BOUNDED, str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"DJANGO_SETTINGS_MODULE": "hydrospark.settings", "PATH": "/usr/bin:/bin"},
        cwd=str(__import__("pathlib").Path(__file__).resolve().parents[2]),
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["outcome"] != "read"
    assert result["peak_mb"] < 400, result


def test_check_workbook_passes_an_ordinary_export(tmp_path):
    path = _workbook(tmp_path / "reads.xlsx", [_values(day=d) for d in MARCH])
    facts = guards.check_workbook(path)
    assert facts.stale_formulas.shape == (0, 2)


# --- A database that refuses writes --------------------------------------------------------------------


def test_a_read_only_database_ends_the_import_failed_with_a_clear_message(export_file, monkeypatch):
    from django.db import OperationalError

    from metering import bulk

    def refuse(*args, **kwargs):
        raise OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(bulk, "reads_insert", refuse)
    code, _, err = import_usage(export_file([row()]))
    assert code == 2
    run = ImportRun.objects.get()
    assert run.status == "failed" and run.finished_at is not None
    assert "The database refused the write (attempt to write a readonly database)" in run.error
    assert "Traceback" not in err and not MeterRead.objects.exists()


def test_a_database_that_cannot_even_record_the_run_exits_2_with_one_sentence(export_file, monkeypatch):
    from django.db import OperationalError

    def refuse(*args, **kwargs):
        raise OperationalError("attempt to write a readonly database")

    monkeypatch.setattr(ImportRun.objects, "create", refuse)
    code, _, err = import_usage(export_file([row()]))
    assert code == 2
    assert "The database refused the write (attempt to write a readonly database)" in err
