"""Bounded-cost reading of meter exports: what a file may cost is checked before it is parsed.

A hostile or broken file must end in a clear refusal, never in gigabytes of memory or minutes of CPU:
- CSV: `CsvRecords` splits the bytes into records itself (numpy over 8 MB blocks: newlines outside
  quotes end a record, commas outside quotes separate fields), so a record longer than
  MAX_RECORD_BYTES is refused after reading at most one block more, a record with more or fewer
  fields than the header is set aside with its line (pandas only ever sees well-formed rows), and the
  text encoding is settled (UTF-8, else Windows-1252) before pandas decodes anything.
- XLSX: `check_workbook` looks inside the zip before python-calamine does: sizes and compression
  ratios of the parts, and the characters the shared strings would take once copied into every cell
  that refers to them (the "shared-string bomb": one 16 KB string referenced by a million cells).
"""

from __future__ import annotations

import codecs
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .exceptions import MeterImportError

MAX_COLUMNS = 200  # a meter export has 12; extra columns are ignored, but not without end
MAX_RECORD_BYTES = 128 * 1024  # a row of 200 columns of 600 bytes; the export's rows are about 100 bytes
BLOCK_BYTES = 8 * 1024 * 1024
MAX_XLSX_PART_BYTES = 512 * 1024 * 1024  # one part of the workbook, uncompressed (200,000 rows: about 40 MB)
MAX_XLSX_RATIO = 200  # spreadsheet XML compresses 5-30 times; far more is a decompression bomb
MAX_XLSX_TEXT_CHARS = 250_000_000  # text the first sheet's cells may hold once read (about 1 million rows)
MAX_XLSX_CELLS = 15_000_000  # cells python-calamine allocates for the sheet's rectangle (32 bytes each)
QUOTE, NEWLINE, COMMA, CR = 34, 10, 44, 13
SEPARATORS = {";": "semicolons (;)", "\t": "tabs", "|": "vertical bars (|)"}
ENCODING_NAMES = {"utf-8": "UTF-8", "cp1252": "Windows-1252 (the bytes are not UTF-8)"}


@dataclass
class RecordBlock:
    """Well-formed records, as UTF-8 bytes pandas can read, with their lines and the lines set aside."""

    data: bytes
    lines: np.ndarray  # line of each record in `data`
    malformed: list[tuple[int, str]]  # (line, reason)
    progress: float


class CsvRecords:
    """A CSV file's records, checked for length and field count, in blocks of at most `chunk_rows`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.size = max(self.path.stat().st_size, 1)
        self.encoding = "utf-8"
        self.saw_non_ascii = False
        self.width = 0

    # --- the header ---

    def header_text(self, handle) -> str:
        """The first record, decoded; the file's encoding is settled on it when it is not ASCII."""
        start = handle.read(3)
        if start[:2] in (b"\xff\xfe", b"\xfe\xff"):
            raise MeterImportError("The file is UTF-16 text, not UTF-8: save it as “CSV UTF-8” and try again.")
        if start != codecs.BOM_UTF8:
            handle.seek(0)
        self.offset = handle.tell()
        head = handle.read(MAX_RECORD_BYTES + 1)
        records = _record_ends(np.frombuffer(head, np.uint8))
        if not len(records) and len(head) > MAX_RECORD_BYTES:
            raise MeterImportError(
                f"The header row is longer than {MAX_RECORD_BYTES // 1024} KB: this is not a meter export "
                "(its header names 12 columns)."
            )
        end = int(records[0]) if len(records) else len(head)
        self.offset += end + 1
        return self.decode(head[:end], line=1).rstrip("\r")

    def check_width(self, fields: list[str]) -> None:
        if len(fields) > MAX_COLUMNS:
            raise MeterImportError(
                f"The header row has {len(fields):,} columns; a meter export has 12 and at most {MAX_COLUMNS} are "
                "read: check that this is the meter export."
            )
        self.width = len(fields)

    # --- the records ---

    def blocks(self, handle, chunk_rows: int) -> Iterator[RecordBlock]:
        handle.seek(self.offset)
        carry, line = b"", 2
        while True:
            new = handle.read(BLOCK_BYTES)
            buffer = carry + new
            if not buffer:
                return
            a = np.frombuffer(buffer, np.uint8)
            ends = _record_ends(a)
            if not new and (not len(ends) or ends[-1] != len(a) - 1):
                ends = np.r_[ends, len(a)]  # the last record, without a line end
            starts = np.r_[0, ends[:-1] + 1].astype(np.int64)
            self._check_lengths(starts, ends, len(a), line, final=not new)
            for first in range(0, len(ends), chunk_rows):
                part = slice(first, first + chunk_rows)
                yield self._block(a, starts[part], ends[part], line + first, handle.tell() / self.size)
            line += len(ends)
            carry = buffer[int(ends[-1]) + 1 :] if len(ends) else buffer

    def _check_lengths(self, starts, ends, size: int, line: int, *, final: bool) -> None:
        lengths = ends - starts
        too_long = np.flatnonzero(lengths > MAX_RECORD_BYTES)
        rest = size - (int(ends[-1]) + 1 if len(ends) else 0)
        if len(too_long) or (not final and rest > MAX_RECORD_BYTES):
            at = line + (int(too_long[0]) if len(too_long) else len(ends))
            raise MeterImportError(
                f"Line {at:,} runs on for more than {MAX_RECORD_BYTES // 1024} KB: a value is far too long or a "
                'quote (") is not closed; fix that line and import the file again.'
            )

    def _block(self, a: np.ndarray, starts, ends, line: int, progress: float) -> RecordBlock:
        lines = np.arange(line, line + len(ends), dtype=np.int64)
        if not len(ends):
            return RecordBlock(b"", lines, [], min(progress, 1.0))
        lengths = ends - starts
        blank = (lengths == 0) | ((lengths == 1) & (a[np.minimum(starts, len(a) - 1)] == CR))
        fields = _fields(a, starts, min(int(ends[-1]), len(a))) + 1
        bad = ~blank & (fields != self.width)
        malformed = [
            (int(n), f"the line has {int(f)} fields but the header has {self.width} (quote values with commas)")
            for n, f in zip(lines[bad], fields[bad], strict=True)
        ]
        keep = ~blank & ~bad
        records = a[int(starts[0]) : min(int(ends[-1]) + 1, len(a))]  # the last one may have no line end
        raw = records.tobytes() if keep.all() else records[np.repeat(keep, lengths + 1)[: len(records)]].tobytes()
        return RecordBlock(self.decode(raw, line=line).encode() if raw else b"", lines[keep], malformed, progress)

    # --- encoding ---

    def decode(self, raw: bytes, *, line: int) -> str:
        """Text of these bytes: UTF-8 while the file is UTF-8, else Windows-1252 (real exports often are)."""
        if raw.isascii():
            return raw.decode("ascii")
        if self.encoding == "utf-8":
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                if self.saw_non_ascii:
                    raise MeterImportError(
                        f"From line {line:,} the file is not UTF-8 text, though earlier lines are: save it as "
                        "“CSV UTF-8” and try again."
                    ) from None
                self.encoding = "cp1252"
            else:
                self.saw_non_ascii = True
                return text
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            raise MeterImportError(
                f"Near line {line:,} the file is not UTF-8 nor Windows-1252 text: save it as “CSV UTF-8” and try again."
            ) from None

    @property
    def encoding_name(self) -> str:
        return ENCODING_NAMES[self.encoding]


def _record_ends(a: np.ndarray) -> np.ndarray:
    """Positions of the newlines that end a record: those outside quotes (an even count of quotes before).
    The newlines (one a row) are looked up among the quotes, never the other way round: cheap."""
    newlines = np.flatnonzero(a == NEWLINE)
    quotes = np.flatnonzero(a == QUOTE)
    if not len(quotes):
        return newlines
    return newlines[(np.searchsorted(quotes, newlines) & 1) == 0]


def _fields(a: np.ndarray, starts: np.ndarray, stop: int) -> np.ndarray:
    """Commas outside quotes in each record (records start at `starts`; the last ends before `stop`): all
    commas per record, less those inside each quoted stretch (quotes pair up within a record)."""
    low = int(starts[0])
    body, starts = a[low:stop], starts - low
    commas = np.flatnonzero(body == COMMA)
    counts = np.diff(np.searchsorted(commas, np.r_[starts, len(body)]))
    quotes = np.flatnonzero(body == QUOTE)
    if len(quotes):
        opens, closes = quotes[0::2], np.r_[quotes[1::2], len(body)][: len(quotes[0::2])]
        inside = np.searchsorted(commas, closes) - np.searchsorted(commas, opens)
        record = np.searchsorted(starts, opens, side="right") - 1
        counts -= np.bincount(record, weights=inside, minlength=len(starts)).astype(np.int64)
    return counts


def separator_hint(header_line: str) -> str:
    """ "" or why the header did not split into columns: the separator the file uses instead of commas."""
    found = [name for sep, name in SEPARATORS.items() if header_line.count(sep) >= 3]
    if "," in header_line and header_line.count(",") >= 3 or not found:
        return ""
    return (
        f"The columns are separated by {found[0]}, not commas: save the file as “CSV (comma delimited)” and try again."
    )


# --- XLSX ---------------------------------------------------------------------------------------------

_SHARED_REF = re.compile(rb'<c\b[^>]*?\bt="s"[^>]*>\s*<v>(\d+)</v>')
_STRING_ITEM = re.compile(rb"<si\b.*?</si>", re.S)
_TEXT = re.compile(rb"<t\b[^>]*>(.*?)</t>", re.S)
_CELL_REF = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d{1,7})"')
_FORMULA_REF = re.compile(rb'<c\b[^>]*?\br="([A-Z]{1,3})(\d{1,7})"[^>]*>\s*<f\b')
_WIDE_REF = re.compile(rb'<c\b[^>]*?\br="([A-Z]{3})\d')  # a column past ZZ: searched for only where present


@dataclass
class WorkbookFacts:
    """What the zip tells before parsing: formula cells whose value was never calculated, (row, column)
    with the row as Excel numbers it and the column from 0."""

    stale_formulas: np.ndarray


def check_workbook(path: Path) -> WorkbookFacts:
    """Refuse a workbook that would cost more than an export can before python-calamine reads it."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise MeterImportError(
            f"The file cannot be read as an Excel workbook ({exc}): save it as .xlsx again."
        ) from exc
    with archive:
        parts = {info.filename: info for info in archive.infolist()}
        for info in parts.values():
            _check_part(info)
        sheet = _first_sheet(parts)
        if sheet is None:
            return WorkbookFacts(np.zeros((0, 2), np.int64))
        lengths = _shared_string_lengths(archive, parts)
        stale = _recalculated_on_opening(archive, parts)
        text, cells, formulas = _sheet_cost(archive, parts[sheet], lengths, formulas=stale)
    if text > MAX_XLSX_TEXT_CHARS:
        raise MeterImportError(
            f"The first sheet's text cells would hold {text:,} characters once read (a meter export of a million "
            f"rows holds about {MAX_XLSX_TEXT_CHARS // 1_000_000} million): the workbook is refused; export the "
            "meter data again."
        )
    if cells > MAX_XLSX_CELLS:
        raise MeterImportError(
            f"The first sheet spans {cells:,} cells (at most {MAX_XLSX_CELLS:,} are read): delete what lies beyond "
            "the meter data, or split the file."
        )
    return WorkbookFacts(np.asarray(formulas, np.int64).reshape(-1, 2))


def _recalculated_on_opening(archive: zipfile.ZipFile, parts: dict) -> bool:
    """Whether the writer left formulas uncalculated (fullCalcOnLoad: XlsxWriter's placeholder value is 0)."""
    info = parts.get("xl/workbook.xml")
    return info is not None and info.file_size < 1 << 20 and b'fullCalcOnLoad="1"' in archive.read(info)


def _check_part(info: zipfile.ZipInfo) -> None:
    if info.file_size > MAX_XLSX_PART_BYTES:
        raise MeterImportError(
            f"The workbook part {info.filename} is {info.file_size >> 20:,} MB uncompressed (at most "
            f"{MAX_XLSX_PART_BYTES >> 20} MB are read): split the file, or import it as CSV."
        )
    if info.file_size > 1 << 20 and info.file_size > MAX_XLSX_RATIO * max(info.compress_size, 1):
        raise MeterImportError(
            f"The workbook part {info.filename} compresses {info.file_size // max(info.compress_size, 1):,} times "
            "(a spreadsheet compresses at most about 30 times): the file is refused as a decompression bomb."
        )


def _first_sheet(parts: dict) -> str | None:
    sheets = sorted(
        (name for name in parts if re.fullmatch(r"xl/worksheets/sheet\d+\.xml", name)),
        key=lambda name: int(re.sub(r"\D", "", name.rsplit("/", 1)[1])),
    )
    return sheets[0] if sheets else None


def _shared_string_lengths(archive: zipfile.ZipFile, parts: dict) -> np.ndarray:
    info = parts.get("xl/sharedStrings.xml")
    if info is None:
        return np.zeros(0, np.int64)
    xml = archive.read(info)
    lengths = [sum(len(t) for t in _TEXT.findall(item)) for item in _STRING_ITEM.findall(xml)]
    return np.asarray(lengths, np.int64)


def _sheet_cost(archive: zipfile.ZipFile, info: zipfile.ZipInfo, lengths: np.ndarray, *, formulas: bool):
    """(characters the sheet's shared-string cells take at most, cells of the sheet's rectangle), in one
    streamed pass. Cheap counts first; the exact sum of referenced strings only when the bound is high."""
    shared, widest, first_row, last_row, tail, found = 0, 0, None, None, b"", []
    with archive.open(info) as stream:
        while block := stream.read(BLOCK_BYTES):
            data = tail + block
            cut = max(data.rfind(b"<c "), 0) if len(block) == BLOCK_BYTES else len(data)
            body, tail = data[:cut], data[cut:]
            shared += body.count(b't="s"')
            if formulas and b"<f" in body:
                found.extend((int(r), _column_number(c) - 1) for c, r in _FORMULA_REF.findall(body))
            if _WIDE_REF.search(body):
                widest = max([widest, *(_column_number(c) for c in _WIDE_REF.findall(body))])
            refs = _CELL_REF.findall(body[-4096:])
            if refs:
                first_row = first_row or int(_CELL_REF.search(body).group(2))
                last_row, last_column = int(refs[-1][1]), _column_number(refs[-1][0])
                widest = max(widest, last_column)
    longest = int(lengths.max()) if len(lengths) else 0
    text = shared * longest
    if text > MAX_XLSX_TEXT_CHARS:
        text = _exact_shared_text(archive, info, lengths)
    height = last_row - first_row + 1 if first_row and last_row and last_row >= first_row else 0
    return text, height * widest, found


def _exact_shared_text(archive: zipfile.ZipFile, info: zipfile.ZipInfo, lengths: np.ndarray) -> int:
    text, tail = 0, b""
    with archive.open(info) as stream:
        while block := stream.read(BLOCK_BYTES):
            data = tail + block
            cut = max(data.rfind(b"<c "), 0) if len(block) == BLOCK_BYTES else len(data)
            refs = np.fromiter((int(m) for m in _SHARED_REF.findall(data[:cut])), np.int64)
            text += int(lengths[refs[refs < len(lengths)]].sum())
            tail = data[cut:]
            if text > MAX_XLSX_TEXT_CHARS:
                break
    return text


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number
