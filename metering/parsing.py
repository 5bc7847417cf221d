"""Reading and checking meter exports (SPEC §1): pure functions over pandas frames, no database.

A file is read in chunks of text columns (`Chunk`); `check_chunk` validates a chunk with vectorised
pandas/numpy and splits it into good reads, the latest customer details per location and rejected
rows with their reasons. Low-cardinality columns (names, types, dates...) are checked once per
distinct value (`pd.factorize`), which keeps a 2-million-row file to a few seconds.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path

import numpy as np
import pandas as pd

from . import guards
from .exceptions import MeterImportError


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool
    max_length: int | None = None


COLUMNS = [
    Column("name", "Customer Name", True, 200),
    Column("mailing_address", "Mailing Address", True, 300),
    Column("location_id", "Location ID", True, 20),
    Column("customer_type", "Customer Type", True),
    Column("cycle_number", "Cycle Number", True),
    Column("phone", "Customer Phone Number", False, 40),
    Column("business_name", "Business Name", False, 200),
    Column("facility_name", "Facility Name", False, 200),
    Column("year", "Year", True),
    Column("month", "Month", True),
    Column("day", "Day", True),
    Column("usage", "Daily Water Usage (CCF)", True),
]
BY_KEY = {c.key: c for c in COLUMNS}
HEADERS = {c.key: c.header for c in COLUMNS}
CUSTOMER_TYPES = ("residential", "commercial", "municipal")
ATTRIBUTE_KEYS = ["name", "mailing_address", "customer_type", "cycle_number", "phone", "business_name", "facility_name"]
MAX_CYCLE = 32767
# SPEC §1 (accounts.validators holds the same rule for the admin); the length is checked as for every column
LOCATION_ID = re.compile(r"[A-Za-z0-9-]+")
UNITS_PER_CCF = 10_000  # usage is kept as whole ten-thousandths of a CCF: exact on every database
MAX_UNITS = 10**12  # DecimalField(max_digits=12, decimal_places=4) holds below 10^8 CCF
CSV_CHUNK_ROWS = 100_000
XLSX_CHUNK_ROWS = 50_000
# Parsed by pandas as integers when they are (fast); a chunk with any other text keeps them as text.
NUMERIC_KEYS = {"year", "month", "day", "cycle_number"}


@dataclass
class Chunk:
    """Some rows of a file as text, columns named by key, with each row's line number in the file."""

    frame: pd.DataFrame
    lines: np.ndarray
    progress: float  # share of the file read so far, 0..1
    malformed: pd.DataFrame | None = None  # line, reason: rows the reader could not split into columns
    encoding: str = ""  # how the file's bytes were read as text (CSV), for the import report


@dataclass
class CheckedChunk:
    reads: pd.DataFrame  # location (index into `locations`), day (since 1970-01-01), units (1/10,000 CCF), line
    locations: np.ndarray  # the chunk's distinct Location IDs
    customers: pd.DataFrame  # the latest good row per location: location_id, attributes, day, line
    rejects: pd.DataFrame  # line, reason, then the file's columns by key
    rows: int  # data rows in the chunk (blank lines excluded)


# --- Headers ----------------------------------------------------------------------------------------


def normalize_header(text) -> str:
    return " ".join(str(text).replace("\ufeff", "").split()).casefold()


def match_columns(headers: list, *, separator: str = "") -> dict[int, str]:
    """{position in the file: column key} for the known columns; extra columns are ignored.
    Raises MeterImportError when a required column is missing (`separator`: why, when the header did not
    split into columns) or a column appears twice."""
    wanted = {normalize_header(c.header): c.key for c in COLUMNS}
    found: dict[int, str] = {}
    for position, header in enumerate(headers):
        key = wanted.get(normalize_header(header))
        if key is None:
            continue
        if key in found.values():
            raise MeterImportError(f"The column “{HEADERS[key]}” appears twice in the header.")
        found[position] = key
    missing = [c.header for c in COLUMNS if c.required and c.key not in found.values()]
    if missing and separator:
        raise MeterImportError(separator)
    if missing:
        raise MeterImportError(
            "Missing required column(s): " + ", ".join(f"“{h}”" for h in missing) + ". The header row must name them."
        )
    return found


# --- Readers ----------------------------------------------------------------------------------------


def file_chunks(path: Path, *, chunk_rows: int | None = None) -> Iterator[Chunk]:
    """Chunks of a CSV or XLSX meter export, chosen by the file's extension."""
    suffix = Path(path).suffix.lower()
    if suffix == ".csv":
        return csv_chunks(path, chunk_rows=chunk_rows or CSV_CHUNK_ROWS)
    if suffix in (".xlsx", ".xlsm"):
        return xlsx_chunks(path, chunk_rows=chunk_rows or XLSX_CHUNK_ROWS)
    raise MeterImportError(f"“{Path(path).name}” is neither a .csv nor an .xlsx file.")


def csv_chunks(path: Path, *, chunk_rows: int = CSV_CHUNK_ROWS) -> Iterator[Chunk]:
    """A CSV export in chunks. `guards.CsvRecords` splits the records first (bounded cost, whatever the
    file): a line with more or fewer fields than the header is rejected with its line wherever it is, the
    first data row included, and pandas reads only well-formed rows; blank lines keep their numbers."""
    records = guards.CsvRecords(path)
    with open(path, "rb") as handle:
        header = _csv_header(records, handle)
        columns = match_columns(header, separator=guards.separator_hint(",".join(header)) if len(header) < 3 else "")
        positions = sorted(columns)
        for block in records.blocks(handle, chunk_rows):
            frame = _read_records(block.data, records.width, positions, columns)
            yield Chunk(
                frame=frame.set_axis([columns[p] for p in positions], axis=1),
                lines=block.lines,
                progress=min(block.progress, 1.0),
                malformed=pd.DataFrame(block.malformed, columns=["line", "reason"]) if block.malformed else None,
                encoding=records.encoding_name,
            )


def _csv_header(records: guards.CsvRecords, handle) -> list[str]:
    text = records.header_text(handle)
    header = next(csv.reader([text]), None)
    if not header or not any(h.strip() for h in header):
        raise MeterImportError("The file is empty: the first line must be the header row.")
    records.check_width(header)
    return header


def _read_records(data: bytes, width: int, positions: list[int], columns: dict[int, str]) -> pd.DataFrame:
    if not data:
        return pd.DataFrame({p: pd.Series([], dtype=object) for p in positions})
    try:
        return pd.read_csv(
            io.BytesIO(data),
            encoding="utf-8",
            header=None,
            names=range(width),
            usecols=positions,
            dtype={p: str for p in positions if columns[p] not in NUMERIC_KEYS},
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
        )[positions]
    except (pd.errors.ParserError, ValueError) as exc:
        raise MeterImportError(f"The file cannot be read as CSV ({exc}): save it as “CSV UTF-8” again.") from exc


def xlsx_chunks(path: Path, *, chunk_rows: int = XLSX_CHUNK_ROWS) -> Iterator[Chunk]:
    """The first sheet of an XLSX export in chunks, read with python-calamine into pandas frames, once
    `guards.check_workbook` has bounded what the workbook may cost. python-calamine's PanicException is
    a BaseException: it is caught here and becomes a refusal, like every other broken workbook."""
    facts = guards.check_workbook(path)
    try:
        yield from _xlsx_chunks(path, chunk_rows, facts)
    except MeterImportError:
        raise
    except MemoryError as exc:
        raise MeterImportError("The workbook needs more memory than an import may take: import it as CSV.") from exc
    except BaseException as exc:
        if not _is_calamine_error(exc):
            raise
        raise MeterImportError(
            f"The file cannot be read as an Excel workbook ({exc}): save it as .xlsx again."
        ) from None


def _is_calamine_error(exc: BaseException) -> bool:
    from python_calamine import CalamineError

    return isinstance(exc, CalamineError) or type(exc).__name__ == "PanicException"


def _xlsx_chunks(path: Path, chunk_rows: int, facts: guards.WorkbookFacts) -> Iterator[Chunk]:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        sheet = workbook.get_sheet_by_index(0)
    except Exception as exc:  # calamine raises its own error types for every kind of broken file
        raise MeterImportError(f"The file cannot be read as an Excel workbook: {exc}") from exc
    with workbook:
        rows = sheet.iter_rows()
        header = next(rows, None)
        if not header or not any(str(h).strip() for h in header):
            raise MeterImportError(_empty_first_sheet(workbook))
        columns = match_columns(header)
        positions = sorted(columns)
        first_line = (sheet.start[0] if sheet.start else 0) + 2
        first_column = sheet.start[1] if sheet.start else 0
        total = max(sheet.height - 1, 1)
        done = 0
        while True:
            block = [row for _, row in zip(range(chunk_rows), rows, strict=False)]
            if not block:
                break
            lines = np.arange(first_line + done, first_line + done + len(block), dtype=np.int64)
            frame = pd.DataFrame(block)
            frame = pd.DataFrame({key: _excel_text(frame[p], key) if p in frame else "" for p, key in columns.items()})
            frame = frame[[columns[p] for p in positions]]
            _blank_stale_formulas(frame, lines, columns, first_column, facts)
            yield Chunk(frame=frame, lines=lines, progress=min((done + len(block)) / total, 1.0))
            done += len(block)


def _empty_first_sheet(workbook) -> str:
    """Why there is nothing to read, naming the sheet that holds data when it is not the first."""
    names = workbook.sheet_names
    for index, name in enumerate(names[1:], start=1):
        try:
            if any(str(v).strip() for v in next(workbook.get_sheet_by_index(index).iter_rows(), [])):
                return (
                    f"The first sheet (“{names[0]}”) is empty, but the sheet “{name}” holds data: move that sheet "
                    "first (the export's sheet is DailyUsage) and import the file again."
                )
        except Exception:  # noqa: BLE001 - a broken other sheet does not change the answer about the first
            continue
    return "The first sheet is empty: its first row must be the header row."


def _blank_stale_formulas(frame, lines, columns, first_column: int, facts: guards.WorkbookFacts) -> None:
    """Formula cells whose value was never calculated (the writer asked Excel to calculate on opening)
    are no value at all: a usage there is missing, never the writer's placeholder 0."""
    if not len(facts.stale_formulas):
        return
    rows, cols = facts.stale_formulas[:, 0], facts.stale_formulas[:, 1] - first_column
    where = np.searchsorted(lines, rows)
    inside = (where < len(lines)) & (lines[np.minimum(where, len(lines) - 1)] == rows)
    for row, col in zip(where[inside], cols[inside], strict=True):
        if int(col) in columns:
            frame.iat[int(row), frame.columns.get_loc(columns[int(col)])] = ""


DATE_PARTS = {"year": "year", "month": "month", "day": "day"}


def _excel_text(values: pd.Series, key: str = "") -> pd.Series:
    """Excel cells as the text they show: whole numbers without '.0' (Location IDs, years), other
    numbers as Python's shortest repr (the float artefacts of the export read back as 0.56); a date cell
    in Year, Month or Day gives that part of the date, as a cell formatted "yyyy" shows it."""
    kind = pd.api.types.infer_dtype(values, skipna=True)
    if kind in ("string", "empty"):
        return values.fillna("")
    if kind in ("integer", "floating", "mixed-integer-float"):
        numbers = values.to_numpy(dtype=float)
        text = pd.Series(numbers).astype(str).to_numpy(dtype=object)
        whole = np.isfinite(numbers) & (np.floor(numbers) == numbers) & (np.abs(numbers) < 1e15)
        text[whole] = numbers[whole].astype(np.int64).astype(str)
        text[np.isnan(numbers)] = ""
        return pd.Series(text, dtype=object)
    if key in DATE_PARTS:
        return values.map(lambda v: _date_part(v, DATE_PARTS[key])).astype(str)
    return values.map(_cell_text).astype(str)  # mixed text and numbers: cell by cell


def _date_part(value, part: str) -> str:
    if isinstance(value, datetime.datetime | datetime.date):
        return str(getattr(value, part))
    return _cell_text(value)


def _cell_text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return str(value)


def frame_chunks(frames: Iterable[pd.DataFrame]) -> Iterator[Chunk]:
    """Export-layout frames (e.g. generated demo data) as chunks, their rows numbered as in a file."""
    line = 2
    for raw in frames:
        columns = match_columns(list(raw.columns))
        frame = pd.DataFrame({key: _frame_text(raw.iloc[:, p]) for p, key in columns.items()})
        yield Chunk(frame=frame, lines=np.arange(line, line + len(frame), dtype=np.int64), progress=0.0)
        line += len(frame)


def _frame_text(values: pd.Series) -> pd.Series:
    """Numbers as Python writes them (a float's shortest repr), missing values as empty text."""
    return values.astype(str).where(values.notna(), "")


# --- Checks -----------------------------------------------------------------------------------------


def check_chunk(chunk: Chunk, *, today: datetime.date) -> CheckedChunk:
    """Validate one chunk: good reads, latest customer details per location, rejected rows (SPEC §1).
    Each column is factorised: its distinct values are trimmed and checked once, rows look them up."""
    frame = chunk.frame
    codes, values = {}, {}
    for key in frame.columns:
        codes[key], uniques = pd.factorize(frame[key].to_numpy())
        values[key] = pd.Series(uniques, dtype=object).astype(str).str.strip().to_numpy(dtype=object)
    empty = {key: values[key] == "" for key in codes}
    blank = np.logical_and.reduce([empty[key][codes[key]] for key in codes])
    problems = _Problems(len(frame))
    for key in codes:
        column = BY_KEY[key]
        if column.required:
            problems.add(empty[key][codes[key]], f"missing {column.header}")
        if column.max_length:
            too_long = np.fromiter((len(v) > column.max_length for v in values[key]), bool, len(values[key]))
            problems.add(too_long[codes[key]], f"{column.header} is longer than {column.max_length} characters")
    odd = np.fromiter((v != "" and not LOCATION_ID.fullmatch(v) for v in values["location_id"]), bool)
    problems.add(odd[codes["location_id"]], "Location ID may hold only letters, digits and “-”")
    ctype = np.array([v.casefold() for v in values["customer_type"]], dtype=object)
    unknown = np.array([v != "" and v not in CUSTOMER_TYPES for v in ctype], dtype=bool)
    type_reasons = np.array([f"unknown customer type “{v}”" for v in values["customer_type"]], dtype=object)
    problems.add(unknown[codes["customer_type"]], type_reasons[codes["customer_type"]])
    cycle = _whole_numbers(values["cycle_number"])
    bad_cycle = ~empty["cycle_number"] & ~((cycle >= 1) & (cycle <= MAX_CYCLE))
    problems.add(bad_cycle[codes["cycle_number"]], "cycle number must be a whole number from 1")
    day = _days(values, codes)
    dated = ~(empty["year"][codes["year"]] | empty["month"][codes["month"]] | empty["day"][codes["day"]])
    problems.add(dated & (day == _NO_DAY), "the date does not exist")
    today_day = np.datetime64(today, "D").astype(np.int64)  # days since 1970-01-01, as `day` is
    problems.add((day != _NO_DAY) & (day > today_day), f"the date is after today ({today.isoformat()})")
    units, not_number, negative, too_large = usage_units(values["usage"])
    problems.add((~empty["usage"] & not_number)[codes["usage"]], "usage is not a number")
    problems.add(negative[codes["usage"]], "usage is negative")
    problems.add(too_large[codes["usage"]], "usage is too large")
    bad = problems.any()
    good = np.flatnonzero(~bad & ~blank)
    reads = pd.DataFrame(
        {
            "location": codes["location_id"][good],
            "day": day[good].astype(np.int32),
            "units": units[codes["usage"][good]],
            "line": chunk.lines[good],
        }
    )
    customers = _latest_customers(values, codes, good, day, chunk.lines, ctype)
    rejects = _rejects(values, codes, np.flatnonzero(bad & ~blank), problems, chunk)
    return CheckedChunk(
        reads=reads,
        locations=values["location_id"],
        customers=customers,
        rejects=rejects,
        rows=int((~blank).sum()) + _count(chunk),
    )


def _count(chunk: Chunk) -> int:
    return 0 if chunk.malformed is None else len(chunk.malformed)


class _Problems:
    """Row-wise reasons, built column by column without a Python loop over rows."""

    def __init__(self, size: int):
        self.masks: list[tuple[np.ndarray, str | np.ndarray]] = []
        self.size = size

    def add(self, mask: np.ndarray, reason: str | np.ndarray):
        """reason: one text for every row, or an array with each row's own text."""
        if mask.any():
            self.masks.append((mask, reason))

    def any(self) -> np.ndarray:
        result = np.zeros(self.size, dtype=bool)
        for mask, _ in self.masks:
            result |= mask
        return result

    def reasons(self, rows: np.ndarray) -> np.ndarray:
        reasons = pd.Series([""] * len(rows), dtype=object)
        for mask, reason in self.masks:
            hit = mask[rows]
            text = reason[rows] if isinstance(reason, np.ndarray) else reason
            add = pd.Series(text, dtype=object) if isinstance(text, np.ndarray) else text
            joined = np.where(reasons == "", "", reasons + "; ")
            reasons = pd.Series(np.where(hit, joined + add, reasons), dtype=object)
        return reasons.to_numpy(dtype=object)


def _whole_numbers(texts: np.ndarray) -> np.ndarray:
    """Each text as a whole number (e.g. '20', '20.0'), or -1 when it is not one."""
    numbers = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").to_numpy(dtype=float)
    whole = np.isfinite(numbers) & (np.floor(numbers) == numbers) & (np.abs(numbers) < 1e9)
    return np.where(whole, numbers, -1).astype(np.int64)


_NO_DAY = -(2**63)  # the smallest int64 (a literal: numpy is not loaded when this module is imported)


def _days(values: dict, codes: dict) -> np.ndarray:
    """Days since 1970-01-01 for each row, or _NO_DAY when Year/Month/Day is not a real date."""
    year = _whole_numbers(values["year"])[codes["year"]]
    month = _whole_numbers(values["month"])[codes["month"]]
    day = _whole_numbers(values["day"])[codes["day"]]
    plausible = (year >= 1900) & (year <= 9999) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31)
    months = np.where(plausible, (year - 1970) * 12 + month - 1, 0).astype("datetime64[M]")
    dates = months.astype("datetime64[D]") + np.where(plausible, day - 1, 0)
    valid = plausible & (dates.astype("datetime64[M]") == months)  # 31 April rolls into May: not a date
    return np.where(valid, dates.astype(np.int64), _NO_DAY)  # datetime64[D] counts days from 1970-01-01


def usage_units(texts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Usage texts as whole ten-thousandths of a CCF, rounded half up on the decimal value of the text
    (so the export's '0.56000000000000005' is 5600 and '7.0000000000000007E-2' is 700).
    Returns (units, not a number, negative, too large); units are 0 where a flag is set."""
    texts = np.asarray(texts, dtype=object)
    numbers = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce").to_numpy(dtype=float)
    not_number = ~np.isfinite(numbers)
    scaled = np.where(not_number, 0.0, numbers) * UNITS_PER_CCF
    units = np.floor(scaled + 0.5)
    # Where the float is too close to a half for its rounding to be trusted, decide on the text.
    fraction = scaled - np.floor(scaled)
    unsure = ~not_number & (np.abs(fraction - 0.5) < 1e-6 + np.abs(scaled) * 1e-13)
    for i in np.flatnonzero(unsure):
        units[i] = _exact_units(texts[i])
    negative = ~not_number & (numbers < 0) & (units != 0)
    too_large = ~not_number & (np.abs(units) >= MAX_UNITS)
    bad = not_number | negative | too_large
    return np.where(bad, 0, units).astype(np.int64), not_number, negative, too_large


def _exact_units(text: str) -> float:
    try:
        return float((Decimal(text.strip()) * UNITS_PER_CCF).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except InvalidOperation:
        return float("nan")


def _latest_customers(values, codes, good: np.ndarray, day, lines, ctype) -> pd.DataFrame:
    """Per location, the good row with the latest date (the last such line on a tie)."""
    location = codes["location_id"][good]
    order = np.lexsort((lines[good], day[good], location))
    last = np.r_[location[order][1:] != location[order][:-1], True] if len(good) else np.empty(0, bool)
    rows = good[order[last]]
    data = {"location_id": values["location_id"][codes["location_id"][rows]]}
    for key in ATTRIBUTE_KEYS:
        if key in codes:
            data[key] = (ctype if key == "customer_type" else values[key])[codes[key][rows]]
    data["cycle_number"] = _whole_numbers(values["cycle_number"])[codes["cycle_number"][rows]]
    data["day"] = day[rows]
    data["line"] = lines[rows]
    return pd.DataFrame(data)


REJECT_COLUMNS = ["line", "reason", *HEADERS.values()]


def _rejects(values, codes, rows: np.ndarray, problems: _Problems, chunk: Chunk) -> pd.DataFrame:
    frame = pd.DataFrame({"line": chunk.lines[rows], "reason": problems.reasons(rows)})
    for key, header in HEADERS.items():
        frame[header] = values[key][codes[key][rows]] if key in codes else ""
    if chunk.malformed is not None:
        frame = pd.concat([frame, chunk.malformed.reindex(columns=REJECT_COLUMNS, fill_value="")])
        frame = frame.sort_values("line", kind="stable")
    return frame.reindex(columns=REJECT_COLUMNS)


def day_to_date(days: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 as ISO date strings (an object array; each distinct day formatted once)."""
    codes, uniques = pd.factorize(np.asarray(days, dtype=np.int64))
    return np.datetime_as_string(uniques.astype("datetime64[D]")).astype(object)[codes]
