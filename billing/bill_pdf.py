"""The bill as paper: a US Letter page laid out for a #10 double-window envelope, drawn with fpdf2.

Pure drawing: `draw_bill(pdf, doc)` takes a `BillDocument` (plain data, built by billing.documents from a
bill, its account statement and its usage history) and adds the bill's pages to an open `BillPDF`. One
`BillPDF` holds many bills (the print file), so fonts are loaded once and nothing here queries the database.

No text is placed at a position that assumes short text: every string is measured, wrapped to its column
(or shrunk, for the few that must stay on one line, like the amount due) and the next line starts below the
tallest cell of the row. Text goes through `pdf.text()` after measuring, which is four times faster than
`cell()`: a print file of ten thousand bills must be drawn in well under a minute.

Where the envelope shows the page (inches from the page's top left corner, US Letter 8.5 × 11 in, folded
in three, the top panel facing the windows). We followed the standard #10 double-window envelope
(9 1/2 × 4 1/8 in) as envelope makers stock it for statements:
- the address window is the standard #10 window, 4 1/2 × 1 1/8 in, 7/8 in from the envelope's left edge
  and 1/2 in from its bottom. The sheet (8 1/2 in) is centred in the envelope (9 1/2 in) and its bottom fold
  rests on the envelope's bottom, so the window shows the page from x 0.375 to 4.875 in and y 2.04 to
  3.17 in. The recipient block is kept 1/8 in inside that (USPS DMM 202 asks for 1/8 in clearance) plus
  1/4 in of sideways play: x 0.75 to 4.25 in, y 2.167 to 3.042 in.
- the return window (top left) is about 3 1/2 × 1 in; makers vary its position more than the address
  window's, so the return address is kept small, 0.5 in from the left and 0.375 in from the top.
Nothing else is printed where either window can show the page (USPS: only the address may show).
Fold marks sit at the thirds (3 2/3 and 7 1/3 in); the bottom third is the remittance stub.
"""

from __future__ import annotations

import datetime
import functools
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

# fpdf2 subsets the font with fontTools, which logs a dozen INFO lines per PDF.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)

IN = 25.4  # mm per inch: fpdf works in mm, envelope specs are in inches
PT = 25.4 / 72  # mm per point
PAGE_W, PAGE_H = 8.5 * IN, 11 * IN
LEFT, RIGHT = 0.5 * IN, 8.0 * IN  # the text column: half-inch margins
TOP, BOTTOM = 0.5 * IN, 10.5 * IN
FOLD_1, FOLD_2 = PAGE_H / 3, PAGE_H * 2 / 3


@dataclass(frozen=True)
class Rect:
    x: float
    y: float
    w: float
    h: float

    @property
    def right(self) -> float:
        return self.x + self.w

    @property
    def bottom(self) -> float:
        return self.y + self.h


# See the module docstring for where these come from.
ADDRESS_WINDOW = Rect(0.375 * IN, 2.042 * IN, 4.5 * IN, 1.125 * IN)  # what the window shows of the page
RECIPIENT_BLOCK = Rect(0.75 * IN, 2.167 * IN, 3.5 * IN, 0.875 * IN)  # where the name and address go
RETURN_BLOCK = Rect(0.5 * IN, 0.375 * IN, 3.25 * IN, 0.75 * IN)
SUMMARY_COLUMN = Rect(5.0 * IN, 0.375 * IN, 3.0 * IN, FOLD_1 - 0.375 * IN - 4)  # right of both windows
STUB = Rect(LEFT, FOLD_2, RIGHT - LEFT, BOTTOM - FOLD_2)

INK, MUTED, DEEP, RULE, SHADE = (25, 30, 38), (88, 96, 108), (8, 59, 110), (170, 178, 190), (236, 239, 243)

# Every word the paper bill prints, in one place (to be translated later).
WORDS = {
    "title": "Water bill",
    "draft": "DRAFT – NOT A BILL",
    "cancelled": "CANCELLED",
    "page": "Page {page} of {pages}",
    "account": "Account number",
    "bill_number": "Bill number",
    "not_issued": "Draft (not issued)",
    "bill_date": "Bill date",
    "service_period": "Service period",
    "days_read": "Days read",
    "days_read_value": "{read} of {days}",
    "water_used": "Water used",
    "water_used_value": "{ccf} CCF ({gallons} gallons)",
    "amount_due": "Amount due",
    "due_by": "Due by {date}",
    "due_date": "Due date",
    "credit": "Credit on your account",
    "nothing_due": "Nothing to pay",
    "your_account": "Your account",
    "your_account_continued": "Your account (continued)",
    "opening_balance": "Balance on your last bill",
    "previous_balance_on": "Previous balance on {date}",
    "charges_for": "Charges for {period} ({start} – {end})",
    "total_due": "Total amount due",
    "pay_by": "Please pay by {date}.",
    "credit_note": "Your account is in credit: nothing to pay. The credit is used by your next bills.",
    "draft_note": "This is a draft: the bill is not issued yet and nothing is due.",
    "continued": "Continued on the next page.",
    "tier_detail": "{quantity} × {rate}",
    "seasonal_detail": "{sign}{percent}% of {amount}",
    "rates_for_type": "{name} for {type} customers, since {since}",
    "rates_all": "{name}, since {since}",
    "usage_title": "Your water use, month by month (CCF)",
    "usage_summary": "{start} – {end}: {ccf} CCF ({gallons} gallons), {read} of {days} days read.",
    "partial": "Your meter reported {read} of the {days} days of this period: you are billed for the water "
    "used on those days.",
    "about_title": "About your bill",
    "rates": "Rates: {rates}.",
    "late_fee": "A bill not paid in full {grace} days after its due date is charged a late fee of {percent}% "
    "of the amount still open, once.",
    "late_fee_dated": "If this bill is not paid in full by {last_day}, a late fee of {percent}% of the amount "
    "still open is charged on {fee_day} (once).",
    "how_to_pay_title": "How to pay",
    "how_to_pay": "By mail: a check payable to {name}, with the payment stub, to {address}. By card: call "
    "{phone}. Please quote your account number {account}.",
    "bank_transfer": "Bank transfer: {how}",
    "in_person": "In person: {how}",
    "questions": "Questions about your bill? Call {phone} or write to {email}. 1 CCF = 748 US gallons.",
    "stub_cut": "✂  Please detach and return this part with your payment",
    "stub_payable": "Make your check payable to {name} and write your account number on it.",
    "stub_mail_to": "Mail to",
    "amount_enclosed": "Amount enclosed",
}


@dataclass(frozen=True)
class Utility:
    """Who sends the bill: the return address, the remittance address and how to reach customer service."""

    name: str
    address_lines: tuple[str, ...]
    phone: str
    email: str
    bank_transfer: str = ""  # how to pay by bank transfer, as the portal says it (settings.PAYMENT_BANK_TRANSFER)
    in_person: str = ""  # where to pay in person (settings.PAYMENT_IN_PERSON)


@dataclass(frozen=True)
class ChargeLine:
    label: str
    detail: str  # how it was computed, e.g. "10 CCF × $2.50", or ""
    amount: Decimal


@dataclass(frozen=True)
class AccountLine:
    date: datetime.date | None
    label: str
    amount: Decimal


@dataclass(frozen=True)
class BillDocument:
    """Everything a bill prints, as plain data (see billing.documents.bill_document)."""

    number: str  # "" for a draft
    issued: bool
    period: datetime.date
    period_end: datetime.date
    issue_date: datetime.date | None
    due_date: datetime.date | None
    location_id: str
    name: str
    address_lines: tuple[str, ...]  # the envelope's lines after the name (business, street, city)
    days_read: int
    days_in_period: int
    usage_ccf: Decimal
    usage_gallons: int
    lines: tuple[ChargeLine, ...]
    charges: Decimal
    amount_due: Decimal
    previous_balance: Decimal | None = None  # the day before the issue date; None: no account yet (a draft)
    opening_balance: Decimal = Decimal("0")  # the amount due on the previous bill
    activity: tuple[AccountLine, ...] = ()
    history: tuple[tuple[datetime.date, Decimal], ...] = ()
    rates_label: str = ""
    late_fee_terms: tuple[Decimal, int] | None = None  # (percent, grace days)
    utility: Utility = field(default_factory=lambda: Utility("HydroSpark Water", (), "", ""))
    cancelled: bool = False

    @property
    def is_partial(self) -> bool:
        return self.days_read < self.days_in_period


# --- formatting -----------------------------------------------------------------------------------------


def money(amount: Decimal) -> str:
    """$1,234.50 or −$12.00 (a true minus sign); never "$-0.00"."""
    return f"−${-amount:,.2f}" if amount < 0 else f"${abs(amount):,.2f}"


def long_date(day: datetime.date) -> str:
    return f"{day:%B} {day.day}, {day.year}"


def short_date(day: datetime.date) -> str:
    return f"{day:%b} {day.day}, {day.year}"


def ccf(usage: Decimal) -> str:
    return f"{usage.normalize():,f}"


# --- the document ----------------------------------------------------------------------------------------


def __getattr__(name: str):
    # `BillPDF` is made on first use: fpdf (with fontTools and Pillow, most of a second) loads when a bill is
    # drawn, not in every process that imports the bill documents (hydrospark/lazy_imports.py).
    if name == "BillPDF":
        return _bill_pdf_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@functools.cache
def _bill_pdf_class() -> type:
    from fpdf import FPDF

    return type("BillPDF", (_BillPDF, FPDF), {"__module__": __name__, "__doc__": _BillPDF.__doc__})


class _BillPDF:
    """One PDF of one or many bills (fonts loaded once). Pages are added by draw_bill only.
    The methods of `BillPDF`, which adds fpdf's FPDF beneath them."""

    def __init__(self, *, title: str = "HydroSpark water bill"):
        super().__init__(orientation="portrait", unit="mm", format="Letter")
        self.set_auto_page_break(False)  # the layout decides every page break itself
        self.set_margins(LEFT, TOP, PAGE_W - RIGHT)
        fonts = Path(matplotlib.get_data_path()) / "fonts" / "ttf"  # DejaVu ships with matplotlib: no extra download
        self.add_font("DejaVu", "", fonts / "DejaVuSans.ttf")
        self.add_font("DejaVu", "B", fonts / "DejaVuSans-Bold.ttf")
        self.set_title(title)
        self.set_author("HydroSpark Water")
        self.set_creation_date(datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))  # same bills, same bytes
        # The style asked for and the one fpdf last wrote: measuring needs no font change (widths come from
        # the font tables), so fpdf's costly set_font runs only when text is drawn in another style.
        self._style = (9, INK, False)
        self._applied = None
        self._units: dict[tuple[bool, str], int] = {}  # text -> width in font units (1/1000 em), per weight

    def style(self, size: float, colour=INK, bold: bool = False) -> None:
        self._style = (size, colour, bold)

    def apply_style(self) -> None:
        if self._applied == self._style:
            return
        size, colour, bold = self._style
        if self._applied is None or self._applied[0::2] != (size, bold):
            self.set_font("DejaVu", "B" if bold else "", size)
        if self._applied is None or self._applied[1] != colour:
            self.set_text_color(*colour)
        self._applied = self._style

    def forget_style(self) -> None:
        """After fpdf moves to another page: write the font again before the next text (fpdf writes a font
        change into the current page only, and skips it when it believes the font is already set)."""
        self.set_font("DejaVu", "B", 1)
        self._applied = None

    def put(self, x: float, top: float, text: str) -> None:
        """Text whose line box starts at `top` (mm): the baseline leaves room for accents above and
        descenders below, so lines `line_height` apart never touch."""
        self.apply_style()
        self.text(x, top + 0.96 * self._style[0] * PT, text)

    def line_height(self) -> float:
        return 1.25 * self._style[0] * PT

    def get_string_width(self, s: str, normalized: bool = False, markdown: bool = False) -> float:
        """The width of `s` in the current style: the same sum of the font's advance widths that fpdf makes
        (no text shaping or character spacing here; a test holds them equal), from tables, cached per
        string: fpdf's own way builds text fragments on every call, most of a print file's time."""
        size, _colour, bold = self._style
        units = self._units.get((bold, s))
        if units is None:
            widths = self.fonts["dejavuB" if bold else "dejavu"].cw
            try:
                units = sum(widths[ord(c)] for c in s)
            except (IndexError, KeyError):  # a character the font lacks: let fpdf decide
                self.apply_style()
                return super().get_string_width(s, normalized, markdown)
            if len(self._units) > 200_000:  # names and amounts differ per bill: keep the cache bounded
                self._units.clear()
            self._units[(bold, s)] = units
        return units * size * 0.001 / self.k

    def wrap(self, text: str, width: float) -> list[str]:
        """The text broken at spaces into lines no wider than `width` in the current font; a word wider than
        a whole line is split by fpdf (character by character)."""
        lines = []
        space = self.get_string_width(" ")
        for paragraph in text.split("\n"):
            if self.get_string_width(paragraph) <= width:
                lines.append(paragraph)
                continue
            line, line_w, start = "", 0.0, len(lines)
            for word in paragraph.split(" "):
                word_w = self.get_string_width(word)
                if word_w > width:
                    del lines[start:]
                    self.apply_style()
                    lines.extend(self.multi_cell(width, 1, paragraph, dry_run=True, output="LINES", padding=0))
                    line, line_w = None, 0.0
                    break
                if line and line_w + space + word_w > width:
                    lines.append(line)
                    line, line_w = word, word_w
                else:
                    line, line_w = (f"{line} {word}", line_w + space + word_w) if line else (word, word_w)
            if line is not None:
                lines.append(line)
        return lines

    def fit(self, text: str, width: float, size: float, smallest: float, bold: bool = False, colour=INK) -> None:
        """Choose the largest size from `size` down to `smallest` at which `text` fits on one line."""
        while size > smallest:
            self.style(size, colour, bold)
            if self.get_string_width(text) <= width:
                return
            size -= 0.5
        self.style(smallest, colour, bold)


if TYPE_CHECKING:  # for the annotations: at run time the class is made on first use (__getattr__ above)
    from fpdf import FPDF

    class BillPDF(_BillPDF, FPDF): ...


@dataclass
class _Cell:
    text: str
    width: float
    align: str = "L"  # L or R
    size: float = 9
    bold: bool = False
    colour: tuple = INK
    indent: float = 0


class _Flow:
    """Places rows top-down from `y`, starting a new page (with the bill's running header) when a row does
    not fit above `bottom`. Page 1 ends above the remittance stub."""

    def __init__(self, pdf: BillPDF, doc: BillDocument, y: float, bottom: float):
        self.pdf, self.doc, self.y, self.bottom = pdf, doc, y, bottom
        self.pages = [pdf.page]
        self.section = ""

    def room(self, height: float) -> None:
        if self.y + height <= self.bottom:
            return
        self.pdf.style(8, MUTED)
        self.pdf.put(LEFT, self.bottom + 1, WORDS["continued"])
        _new_page(self.pdf, self.doc)
        self.pages.append(self.pdf.page)
        self.y, self.bottom = _running_header(self.pdf, self.doc), BOTTOM - 5  # room for "Continued"
        if self.section:
            self.heading(self.section)

    def heading(self, text: str, continued: str = "", keep: float = 12) -> None:
        """A section title, moved to the next page with the `keep` mm that must follow it."""
        self.pdf.style(11, DEEP, bold=True)
        height = self.pdf.line_height() + 1.5
        self.room(height + keep)
        self.pdf.style(11, DEEP, bold=True)  # a new page may have changed the style
        self.pdf.put(LEFT, self.y, text)
        self.y += height
        self.section = continued

    def measure(self, cells: Sequence[_Cell], gap: float = 0.8) -> tuple[float, list]:
        """The row's height and its cells wrapped to their widths, without drawing it."""
        laid = []
        for cell in cells:
            self.pdf.style(cell.size, cell.colour, cell.bold)
            laid.append((cell, self.pdf.wrap(cell.text, cell.width - cell.indent), self.pdf.line_height()))
        return max(len(lines) * lh for _, lines, lh in laid) + gap, laid

    def row(self, cells: Sequence[_Cell], gap: float = 0.8) -> None:
        height, laid = self.measure(cells, gap)
        self.room(height)
        x = LEFT
        for cell, lines, lh in laid:
            self.pdf.style(cell.size, cell.colour, cell.bold)
            for i, line in enumerate(lines):
                left = x + cell.indent
                if cell.align == "R":
                    left = x + cell.width - self.pdf.get_string_width(line)
                self.pdf.put(left, self.y + i * lh, line)
            x += cell.width
        self.y += height

    def paragraph(self, text: str, size: float = 8.5, colour=INK, bold: bool = False) -> None:
        self.pdf.style(size, colour, bold)
        lh = self.pdf.line_height()
        for line in self.pdf.wrap(text, RIGHT - LEFT):
            self.room(lh)
            self.pdf.style(size, colour, bold)
            self.pdf.put(LEFT, self.y, line)
            self.y += lh
        self.y += 1

    def rule(self, colour=RULE, width: float = 0.2) -> None:
        self.pdf.set_draw_color(*colour)
        self.pdf.set_line_width(width)
        self.pdf.line(LEFT, self.y, RIGHT, self.y)
        self.y += 1.2


def draw_bill(pdf: BillPDF, doc: BillDocument) -> int:
    """Add this bill's pages to `pdf` (the first on a new page); return how many pages it took."""
    _new_page(pdf, doc)
    first = pdf.page
    _return_address(pdf, doc)
    _recipient(pdf, doc)
    summary_bottom = _summary_column(pdf, doc)
    _fold_marks(pdf)
    flow = _Flow(pdf, doc, max(FOLD_1 + 4, summary_bottom + 4), FOLD_2 - 7)
    _account(flow, doc)
    _how_to_pay(flow, doc)
    _usage(flow, doc)
    _about(flow, doc)
    pages = pdf.page - first + 1
    _on_page(pdf, first, _stub, doc)
    _page_numbers(pdf, first, pages)
    return pages


def _on_page(pdf: BillPDF, number: int, draw, doc: BillDocument) -> None:
    """Draw on an earlier page, then come back. An untagged PDF is read in the order it is drawn (fpdf2
    cannot tag text): the tear-off stub, drawn last, is read after the account, not in its middle."""
    last = pdf.page
    pdf.page = number
    pdf.forget_style()
    draw(pdf, doc)
    pdf.page = last
    pdf.forget_style()


def _new_page(pdf: BillPDF, doc: BillDocument) -> None:
    pdf.add_page()
    mark = WORDS["cancelled"] if doc.cancelled else "" if doc.issued else WORDS["draft"]
    if mark:  # across the page, light: what staff print of a draft or a cancelled bill cannot pass for a bill
        pdf.style(40, (228, 232, 238), bold=True)
        pdf.apply_style()
        with pdf.rotation(30, x=PAGE_W / 2, y=PAGE_H / 2):
            pdf.text((PAGE_W - pdf.get_string_width(mark)) / 2, PAGE_H / 2, mark)


def _running_header(pdf: BillPDF, doc: BillDocument) -> float:
    """The top of a continuation page: who and which bill, so a loose page finds its bill again."""
    pdf.style(8, MUTED)
    parts = [doc.utility.name, f"{WORDS['title']} {doc.period:%B %Y}", f"{WORDS['account']} {doc.location_id}"]
    if doc.number:
        parts.append(doc.number)
    y = TOP
    for line in pdf.wrap(" · ".join(parts), RIGHT - LEFT - 30):  # 30 mm kept for "Page n of m"
        pdf.put(LEFT, y, line)
        y += pdf.line_height()
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.2)
    pdf.line(LEFT, y + 1, RIGHT, y + 1)
    return y + 4


def _page_numbers(pdf: BillPDF, first: int, pages: int) -> None:
    """ "Page n of m" at the top right of each of this bill's pages, written once the count is known."""
    last = pdf.page
    for number in range(pages):
        pdf.page = first + number
        pdf.forget_style()
        pdf.style(7.5, MUTED)
        text = WORDS["page"].format(page=number + 1, pages=pages)
        top = SUMMARY_COLUMN.y if number == 0 else TOP  # page one: right of the "Water bill" title
        pdf.put(RIGHT - pdf.get_string_width(text), top, text)
    pdf.page = last
    pdf.forget_style()


def _block(pdf: BillPDF, box: Rect, lines: Sequence[tuple[str, float, bool]], smallest: float) -> None:
    """Lines (text, size, bold) stacked inside `box`: sizes shrink together until every line fits the width
    and the lines fit the height; past the smallest size a line is cut with an ellipsis rather than let it
    leave the box (an envelope window shows nothing else)."""
    scale = 1.0
    while True:
        fits_width = True
        height = 0.0
        for text, size, bold in lines:
            pdf.style(size * scale, INK, bold)
            fits_width &= pdf.get_string_width(text) <= box.w
            height += pdf.line_height()
        if (fits_width and height <= box.h) or min(size for _, size, _ in lines) * scale <= smallest:
            break
        scale -= 0.05
    y = box.y
    for text, size, bold in lines:
        pdf.style(size * scale, INK, bold)
        if y + pdf.line_height() > box.bottom + 0.01:
            break  # more lines than the window holds: the manifest keeps the full address
        pdf.put(box.x, y, _clip(pdf, text, box.w))
        y += pdf.line_height()


def _clip(pdf: BillPDF, text: str, width: float) -> str:
    if pdf.get_string_width(text) <= width:
        return text
    while text and pdf.get_string_width(text + "…") > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _return_address(pdf: BillPDF, doc: BillDocument) -> None:
    lines = [(doc.utility.name, 11, True), *((line, 8, False) for line in doc.utility.address_lines)]
    _block(pdf, RETURN_BLOCK, lines, smallest=6)


def _recipient(pdf: BillPDF, doc: BillDocument) -> None:
    lines = [(doc.name, 10, True), *((line, 10, False) for line in doc.address_lines)]
    _block(pdf, RECIPIENT_BLOCK, lines, smallest=8)  # USPS: 8 pt is the least its scanners read


def _summary_column(pdf: BillPDF, doc: BillDocument) -> float:
    """The bill at a glance, right of the windows; returns where it ends."""
    box = SUMMARY_COLUMN
    pdf.fit(WORDS["title"], box.w, 15, 10, bold=True, colour=DEEP)
    pdf.put(box.x, box.y, WORDS["title"])
    y = box.y + pdf.line_height()
    pdf.style(10, INK)
    for line in pdf.wrap(f"{doc.period:%B %Y}", box.w):
        pdf.put(box.x, y, line)
        y += pdf.line_height()
    y += 1.5
    for label, value in _summary_rows(doc):
        y = _label_value(pdf, box, y, label, value)
    return _amount_due_box(pdf, doc, box, y + 2)


def _summary_rows(doc: BillDocument) -> list[tuple[str, str]]:
    period = f"{doc.period:%b} {doc.period.day} – {short_date(doc.period_end)}"
    return [
        (WORDS["account"], doc.location_id),
        (WORDS["bill_number"], doc.number or WORDS["not_issued"]),
        (WORDS["bill_date"], long_date(doc.issue_date) if doc.issue_date else "–"),
        (WORDS["service_period"], period),
        (WORDS["days_read"], WORDS["days_read_value"].format(read=doc.days_read, days=doc.days_in_period)),
        (
            WORDS["water_used"],
            WORDS["water_used_value"].format(ccf=ccf(doc.usage_ccf), gallons=f"{doc.usage_gallons:,}"),
        ),
    ]


def _label_value(pdf: BillPDF, box: Rect, y: float, label: str, value: str) -> float:
    """A label on the left and its value on the right; a value too long to share the line goes under
    the label, right-aligned, wrapped if need be."""
    pdf.style(8.5, MUTED)
    label_lines = pdf.wrap(label, box.w * 0.45)
    label_width = max(pdf.get_string_width(line) for line in label_lines)
    lh_label = pdf.line_height()
    for i, line in enumerate(label_lines):
        pdf.put(box.x, y + i * lh_label, line)
    pdf.style(9, INK)
    lh = pdf.line_height()
    beside = pdf.get_string_width(value) <= box.w - label_width - 3
    lines = [value] if beside else pdf.wrap(value, box.w)
    top = y if beside else y + len(label_lines) * lh_label
    for i, line in enumerate(lines):
        pdf.put(box.right - pdf.get_string_width(line), top + i * lh, line)
    label_bottom = y + len(label_lines) * lh_label
    return max(label_bottom, top + len(lines) * lh) + 0.6


def _amount_due_box(pdf: BillPDF, doc: BillDocument, box: Rect, y: float) -> float:
    label, amount, note = amount_due_words(doc)
    pdf.style(8.5, MUTED)
    lh_small = pdf.line_height()
    pdf.fit(amount, box.w - 6, 17, 9, bold=True, colour=DEEP)
    lh_big = pdf.line_height()
    pdf.style(8.5, INK)
    notes = pdf.wrap(note, box.w - 6)
    height = 2 + lh_small + lh_big + len(notes) * lh_small + 2
    pdf.set_fill_color(*SHADE)
    pdf.set_draw_color(*RULE)
    pdf.set_line_width(0.25)
    pdf.rect(box.x, y, box.w, height, style="DF", round_corners=True, corner_radius=1.5)
    pdf.style(8.5, MUTED)
    pdf.put(box.x + 3, y + 2, label)
    pdf.fit(amount, box.w - 6, 17, 9, bold=True, colour=DEEP)
    pdf.put(box.x + 3, y + 2 + lh_small, amount)
    pdf.style(8.5, INK)
    for i, line in enumerate(notes):
        pdf.put(box.x + 3, y + 2 + lh_small + lh_big + i * lh_small, line)
    return y + height


def amount_due_words(doc: BillDocument) -> tuple[str, str, str]:
    if not doc.issued:
        return WORDS["amount_due"], money(doc.charges), WORDS["draft_note"]
    if doc.amount_due <= 0:
        label = WORDS["credit"] if doc.amount_due < 0 else WORDS["nothing_due"]
        return label, money(-doc.amount_due) if doc.amount_due < 0 else money(doc.amount_due), WORDS["credit_note"]
    return WORDS["amount_due"], money(doc.amount_due), WORDS["due_by"].format(date=long_date(doc.due_date))


def _fold_marks(pdf: BillPDF) -> None:
    """Short ticks at both edges on the folds: the top third shows through the windows."""
    pdf.set_draw_color(*MUTED)
    pdf.set_line_width(0.25)
    for y in (FOLD_1, FOLD_2):
        pdf.line(0, y, 6, y)
        pdf.line(PAGE_W - 6, y, PAGE_W, y)


# --- the account and the charges ---------------------------------------------------------------------------


def _columns(pdf: BillPDF, doc: BillDocument) -> tuple[float, float, float]:
    """Widths of the date, description and amount columns, from the longest date and amount printed."""
    pdf.style(9, INK, bold=True)
    amounts = [money(doc.amount_due), money(doc.charges), *(money(line.amount) for line in doc.lines)]
    amounts += [money(line.amount) for line in doc.activity]
    if doc.previous_balance is not None:
        amounts += [money(doc.previous_balance), money(doc.opening_balance)]
    amount_w = max(pdf.get_string_width(text) for text in amounts) + 4
    pdf.style(10.5, INK, bold=True)
    amount_w = max(amount_w, pdf.get_string_width(money(doc.amount_due)) + 4)
    pdf.style(9, INK)
    dates = [short_date(line.date) for line in doc.activity if line.date]
    date_w = max((pdf.get_string_width(text) for text in dates), default=0) + 4
    return date_w, RIGHT - LEFT - date_w - amount_w, amount_w


@dataclass(frozen=True)
class AccountRow:
    """One row of the bill's account section, as the PDF, the bill page and the email print it.
    kind: "entry" (a balance or an entry of the ledger), "subtotal", "charges" (this period's total),
    "line" (one of this period's lines, with how it was computed in `detail`)."""

    kind: str
    label: str
    amount: Decimal
    date: datetime.date | None = None
    detail: str = ""

    @property
    def amount_text(self) -> str:
        return money(self.amount)

    @property
    def date_text(self) -> str:
        return short_date(self.date) if self.date else ""


def account_rows(doc: BillDocument) -> list[AccountRow]:
    """SPEC §2a: previous balance, what happened since the last bill, this period's charges line by line.
    The figures add up down the page: the balance on the last bill, the entries before the issue day,
    the previous balance (the day before the issue date), entries of the issue day itself, this bill's
    charges; the total due follows them (doc.amount_due)."""
    rows = []
    if doc.previous_balance is not None:
        before = [line for line in doc.activity if line.date is None or line.date < doc.issue_date]
        if before:
            rows.append(AccountRow("entry", WORDS["opening_balance"], doc.opening_balance))
            rows += [AccountRow("entry", line.label, line.amount, line.date) for line in before]
        previous = WORDS["previous_balance_on"].format(date=short_date(doc.issue_date - datetime.timedelta(days=1)))
        rows.append(AccountRow("subtotal" if before else "entry", previous, doc.previous_balance))
        # the statement lists entries in date order: the rest are the issue day's own
        rows += [AccountRow("entry", line.label, line.amount, line.date) for line in doc.activity[len(before) :]]
    charges = WORDS["charges_for"].format(
        period=f"{doc.period:%B %Y}", start=f"{doc.period:%b} {doc.period.day}", end=short_date(doc.period_end)
    )
    rows.append(AccountRow("charges", charges, doc.charges))
    rows += [AccountRow("line", line.label, line.amount, detail=line.detail) for line in doc.lines]
    return rows


def total_due_words(doc: BillDocument) -> tuple[Decimal, str]:
    """The total amount due and the sentence under it."""
    if not doc.issued:
        return doc.charges, WORDS["draft_note"]
    if doc.amount_due <= 0:
        return doc.amount_due, WORDS["credit_note"]
    return doc.amount_due, WORDS["pay_by"].format(date=long_date(doc.due_date))


def _account(flow: _Flow, doc: BillDocument) -> None:
    columns = _columns(flow.pdf, doc)
    date_w, text_w, amount_w = columns
    rows = account_rows(doc)
    flow.heading(WORDS["your_account"], WORDS["your_account_continued"])
    label_w = _line_label_width(flow.pdf, rows, text_w)
    laid = [_account_cells(row, columns, label_w) for row in rows]
    total = _total_cells(doc, columns)
    # This period's charges, their lines and the total stay on one page when they fit on one.
    block = sum(
        flow.measure(cells, gap)[0]
        for (cells, gap), row in zip(laid, rows, strict=True)
        if row.kind in ("charges", "line")
    )
    block += sum(flow.measure(cells)[0] for cells in total) + 2
    for (cells, gap), row in zip(laid, rows, strict=True):
        if row.kind == "charges" and block < BOTTOM - TOP - 30:
            flow.room(block)
        flow.row(cells, gap)
    flow.y += 0.8
    flow.rule(INK, 0.3)
    for cells in total:
        flow.row(cells)
    flow.y += 3
    flow.section = ""


def _account_cells(row: AccountRow, columns, label_w: float) -> tuple[list[_Cell], float]:
    date_w, text_w, amount_w = columns
    if row.kind == "line":
        cells = [
            _Cell("", date_w),
            _Cell(row.label, label_w, indent=4, size=8.5),
            _Cell(row.detail, text_w - label_w, size=8.5, colour=MUTED),
            _Cell(row.amount_text, amount_w, "R", size=8.5),
        ]
        return cells, 0.4
    bold = row.kind != "entry"
    cells = [
        _Cell(row.date_text, date_w, colour=MUTED),
        _Cell(row.label, text_w, bold=bold),
        _Cell(row.amount_text, amount_w, "R", bold=bold),
    ]
    return cells, 0.8


def _total_cells(doc: BillDocument, columns) -> list[list[_Cell]]:
    date_w, text_w, amount_w = columns
    amount, note = total_due_words(doc)
    return [
        [
            _Cell("", date_w),
            _Cell(WORDS["total_due"], text_w, size=10.5, bold=True),
            _Cell(money(amount), amount_w, "R", size=10.5, bold=True),
        ],
        [_Cell("", date_w), _Cell(note, text_w + amount_w, size=8.5, colour=MUTED)],
    ]


def _line_label_width(pdf: BillPDF, rows: Sequence[AccountRow], text_w: float) -> float:
    """This period's lines: the label column as wide as the longest label (indent and a gap included), up to
    60% of the room; the muted "how it was computed" column takes the rest. Both wrap past that."""
    pdf.style(8.5, INK)
    widest = max((pdf.get_string_width(row.label) for row in rows if row.kind == "line"), default=0) + 4 + 3
    return min(widest, text_w * 0.6)


# --- usage and the chart ------------------------------------------------------------------------------------


def _usage(flow: _Flow, doc: BillDocument) -> None:
    flow.heading(WORDS["usage_title"], keep=(CHART_H + 12) if doc.history else 12)
    summary = WORDS["usage_summary"].format(
        start=f"{doc.period:%b} {doc.period.day}",
        end=short_date(doc.period_end),
        ccf=ccf(doc.usage_ccf),
        gallons=f"{doc.usage_gallons:,}",
        read=doc.days_read,
        days=doc.days_in_period,
    )
    flow.paragraph(summary, size=8.5)
    if doc.is_partial:
        flow.paragraph(WORDS["partial"].format(read=doc.days_read, days=doc.days_in_period), size=8.5, colour=MUTED)
    if doc.history:
        _chart(flow, doc)


CHART_H = 34  # mm: bars, their values above and the months below


def _chart_months(doc: BillDocument) -> list[tuple[datetime.date, Decimal | None]]:
    """The 13 months ending with the billed one, each with its usage (None: no reads that month), so the
    billed month is always the last bar and a month without reads shows as a gap, not as a shift."""
    usage = dict(doc.history)
    months = []
    for back in range(12, -1, -1):
        total = doc.period.year * 12 + doc.period.month - 1 - back
        month = datetime.date(total // 12, total % 12 + 1, 1)
        months.append((month, usage.get(month)))
    return months


def _chart(flow: _Flow, doc: BillDocument) -> None:
    """Bars of the last 13 months drawn in the PDF itself (vector, no image): grey bars, the billed month
    black, so it reads on a black-and-white printout; each value printed over its bar."""
    pdf = flow.pdf
    flow.room(CHART_H + 2)
    months = _chart_months(doc)
    slot = (RIGHT - LEFT) / len(months)
    values = [usage for _, usage in months if usage is not None]
    top_value = max(values, default=Decimal("0")) or Decimal("1")
    labels, label_size = _chart_labels(pdf, values, slot - 1)
    label_h = label_size * PT * 1.25 if labels else 0
    base = flow.y + CHART_H - 8  # the axis: month names below it
    room = base - flow.y - 2 * label_h - 1
    pdf.set_line_width(0.2)
    shown = iter(labels)
    for i, (month, usage) in enumerate(months):
        billed = month == doc.period
        if usage is not None:
            height = float(usage / top_value) * room
            _bar(pdf, LEFT + i * slot + slot * 0.15, base, slot * 0.7, height, billed)
            if labels:
                pdf.style(label_size, INK, bold=billed)
                text = next(shown)
                pdf.put(LEFT + i * slot + (slot - pdf.get_string_width(text)) / 2, base - height - label_h, text)
        _month_label(pdf, months, i, slot, base, billed)
    pdf.set_draw_color(*MUTED)
    pdf.line(LEFT, base, RIGHT, base)
    flow.y += CHART_H + 2


def _bar(pdf: BillPDF, x: float, base: float, width: float, height: float, billed: bool) -> None:
    if height <= 0:
        return
    pdf.set_fill_color(*((40, 40, 40) if billed else (190, 190, 190)))
    pdf.set_draw_color(*((40, 40, 40) if billed else (120, 120, 120)))
    pdf.rect(x, base - height, width, height, style="DF")


def _chart_labels(pdf: BillPDF, values: Sequence[Decimal], width: float) -> tuple[list[str], float]:
    """The bars' values: one decimal (whole CCF from 100 up), as large as fits the bar's slot; none when even
    the smallest size does not fit (the summary line above gives the billed month's exact figure)."""
    big = max(values, default=Decimal("0")) >= 100
    labels = [f"{usage:,.0f}" if big else f"{usage:,.1f}" for usage in values]
    for size in (7, 6.5, 6, 5.5, 5):
        pdf.style(size, INK, bold=True)
        if all(pdf.get_string_width(text) <= width for text in labels):
            return labels, size
    return [], 0


def _month_label(pdf: BillPDF, months, i: int, slot: float, base: float, billed: bool) -> None:
    """ "Jul" under each bar, and the year under the first bar and each January."""
    month = months[i][0]
    texts = [f"{month:%b}", f"{month.year}"] if i == 0 or month.month == 1 else [f"{month:%b}"]
    pdf.style(6.5, INK if billed else MUTED, bold=billed)
    for row, text in enumerate(texts):
        width = pdf.get_string_width(text)
        pdf.put(LEFT + i * slot + (slot - width) / 2, base + 0.8 + row * pdf.line_height(), text)


# --- about the bill -------------------------------------------------------------------------------------


def how_to_pay_sentence(doc: BillDocument) -> str:
    utility = doc.utility
    sentences = [
        WORDS["how_to_pay"].format(
            name=utility.name, address=", ".join(utility.address_lines), phone=utility.phone, account=doc.location_id
        )
    ]
    if utility.bank_transfer:
        sentences.append(WORDS["bank_transfer"].format(how=utility.bank_transfer))
    if utility.in_person:
        sentences.append(WORDS["in_person"].format(how=utility.in_person))
    return " ".join(sentences)


def late_fee_sentence(doc: BillDocument) -> str:
    if not doc.late_fee_terms:
        return ""
    percent, grace = doc.late_fee_terms
    percent = f"{percent.normalize():f}"
    if not doc.issued or doc.due_date is None:
        return WORDS["late_fee"].format(percent=percent, grace=grace)
    last_day = doc.due_date + datetime.timedelta(days=grace)  # SPEC §2a: payments dated up to it count
    return WORDS["late_fee_dated"].format(
        last_day=long_date(last_day), fee_day=long_date(last_day + datetime.timedelta(days=1)), percent=percent
    )


def _how_to_pay(flow: _Flow, doc: BillDocument) -> None:
    text = how_to_pay_sentence(doc)
    flow.pdf.style(8.5)
    flow.heading(WORDS["how_to_pay_title"], keep=len(flow.pdf.wrap(text, RIGHT - LEFT)) * flow.pdf.line_height() + 1)
    flow.paragraph(text)
    flow.y += 2


def _about(flow: _Flow, doc: BillDocument) -> None:
    utility = doc.utility
    flow.heading(WORDS["about_title"])
    if doc.rates_label:
        flow.paragraph(WORDS["rates"].format(rates=doc.rates_label))
    if doc.late_fee_terms:
        flow.paragraph(late_fee_sentence(doc))
    flow.paragraph(WORDS["questions"].format(phone=utility.phone, email=utility.email))


# --- the remittance stub --------------------------------------------------------------------------------------


def _stub(pdf: BillPDF, doc: BillDocument) -> None:
    """The bottom third, torn off at the lower fold and mailed back with the payment."""
    pdf.set_draw_color(*MUTED)
    pdf.set_line_width(0.25)
    pdf.set_dash_pattern(dash=1.5, gap=1.2)
    pdf.line(LEFT, STUB.y, RIGHT, STUB.y)
    pdf.set_dash_pattern()
    pdf.style(7.5, MUTED)
    pdf.put(LEFT, STUB.y + 1.2, WORDS["stub_cut"])
    top = STUB.y + 8
    _stub_payer(pdf, doc, Rect(LEFT, top, 3.6 * IN, STUB.bottom - top))
    _stub_fields(pdf, doc, Rect(4.4 * IN, top, RIGHT - 4.4 * IN, STUB.bottom - top))


def _stub_payer(pdf: BillPDF, doc: BillDocument, box: Rect) -> None:
    utility = doc.utility
    y = box.y
    pdf.style(11, DEEP, bold=True)
    for line in pdf.wrap(utility.name, box.w):
        pdf.put(box.x, y, line)
        y += pdf.line_height()
    pdf.style(8, MUTED)
    for line in pdf.wrap(WORDS["stub_payable"].format(name=utility.name), box.w):
        pdf.put(box.x, y, line)
        y += pdf.line_height()
    y += 2
    pdf.style(8, MUTED, bold=True)
    pdf.put(box.x, y, WORDS["stub_mail_to"])
    y += pdf.line_height()
    remit = Rect(box.x, y, box.w, min(4 * 10 * PT * 1.25, box.bottom - y - 22))
    _block(pdf, remit, [(utility.name, 9.5, False), *((line, 9.5, False) for line in utility.address_lines)], 6)
    payer = Rect(box.x, box.bottom - 20, box.w, 20)
    lines = [(doc.name, 8, True), *((line, 8, False) for line in doc.address_lines)]
    _block(pdf, payer, lines, smallest=6)


def _stub_fields(pdf: BillPDF, doc: BillDocument, box: Rect) -> None:
    rows = [
        (WORDS["account"], doc.location_id),
        (WORDS["bill_number"], doc.number or WORDS["not_issued"]),
        (WORDS["due_date"], long_date(doc.due_date) if doc.due_date else "–"),
    ]
    y = box.y
    for label, value in rows:
        y = _label_value(pdf, box, y, label, value) + 0.8
    label, amount, _ = amount_due_words(doc)
    y = _label_value(pdf, box, y + 0.5, label, amount)
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.2)
    pdf.line(box.x, y + 0.5, box.right, y + 0.5)
    y += 3
    pdf.style(8.5, INK, bold=True)
    pdf.put(box.x, y, WORDS["amount_enclosed"])
    y += pdf.line_height() + 1
    pdf.set_line_width(0.35)
    pdf.rect(box.x, y, box.w, 11)
    pdf.style(12, INK, bold=True)
    pdf.put(box.x + 2, y + 3, "$")
