"""The one rule for CSV files people open in a spreadsheet: a cell that would start a formula is kept as text.

A customer named `=HYPERLINK("http://…")`, or a bank reference `+1-555…`, must not run when Billing opens the
rejected rows in Excel or LibreOffice: such a cell gets a leading apostrophe (shown as text, not run).
Numbers keep their sign (`-12.50` stays a number). Machine exports named in SPEC §7 stay exact and do not use it.
"""

import csv
import io

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value) -> str:
    """Text for a CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_STARTS and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def safe_csv(rows, header=None) -> str:
    """CSV text of the rows (and header), every cell through spreadsheet_safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    if header is not None:
        writer.writerow([spreadsheet_safe(cell) for cell in header])
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return buffer.getvalue()
