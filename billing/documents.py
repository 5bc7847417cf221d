"""Bill documents: the context shared by the HTML bill and the email, the PDF (fpdf2, pure function of
the bill) and the bill email (text + HTML + the PDF attached).

`render_bill_pdf(bill) -> bytes` and the `billing/_bill.html` partial (context from
`bill_document_context(bill)`) are what the portal shows to customers.
"""

import datetime
import logging
from decimal import Decimal
from pathlib import Path

import matplotlib
from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import timezone
from fpdf import FPDF

from metering.charts import chart_summary, inline_svg, monthly_usage_chart

from .models import Bill, PaymentStatus
from .selectors import usage_history

# fpdf2 subsets the font with fontTools, which logs a dozen INFO lines per PDF.
logging.getLogger("fontTools.subset").setLevel(logging.WARNING)

GALLONS_PER_CCF = 748
FONT_DIR = Path(matplotlib.get_data_path()) / "fonts" / "ttf"  # DejaVu ships with matplotlib: no extra download
CHART_SECONDS = 3600
BLUE, DEEP, INK, MUTED, LINE = (11, 92, 171), (8, 59, 110), (33, 47, 61), (91, 107, 127), (214, 222, 232)
STATUS_COLOURS = {
    PaymentStatus.PAID: (25, 135, 84),
    PaymentStatus.OVERDUE: (200, 35, 51),
    PaymentStatus.PARTIALLY_PAID: (176, 112, 0),
    PaymentStatus.UNPAID: BLUE,
}


def bill_document_context(bill: Bill, *, chart: bool = True) -> dict:
    """Everything the bill partial and the email print. `bill` comes from selectors.bill_detail."""
    lines = list(bill.lines.all())
    payments = list(bill.payments.all())
    history = usage_history(bill)
    context = {
        "bill": bill,
        "customer": bill.customer,
        "lines": lines,
        "tier_lines": [line for line in lines if line.kind == "tier"],
        "payments": payments,
        "paid_amount": bill.paid_amount(),
        "total_text": f"${bill.total_amount:,.2f}",
        "open_balance": bill.open_balance(),
        "payment_status": bill.payment_status_for(),
        "payment_status_label": bill.get_payment_status_display(),
        "usage_gallons": bill.usage_gallons,
        "period_label": f"{bill.period:%B %Y}",
        "history": history,
        "chart_summary": chart_summary(history, period="month") if history else "",
    }
    if chart and history:
        context["chart_svg"] = inline_svg(chart_bytes(bill, history, "svg"), label_id=f"bill-{bill.pk}-chart-summary")
    return context


def chart_bytes(bill: Bill, history, fmt: str) -> bytes:
    """The 13-month chart (cached: reads older than the bill rarely change, and a correction shows
    within the hour)."""
    key = f"billing:chart:{bill.pk}:{fmt}:{len(history)}:{sum(u for _, u in history)}"
    data = cache.get(key)
    if data is None:
        size = (7.2, 2.4) if fmt == "png" else (8, 2.8)
        data = monthly_usage_chart(history, fmt=fmt, highlight_month=bill.period, size=size, dpi=150)
        cache.set(key, data, CHART_SECONDS)
    return data


# --- PDF -------------------------------------------------------------------------------------------------


def render_bill_pdf(bill: Bill) -> bytes:
    """The bill as a one-page PDF a customer understands (`bill` from selectors.bill_detail)."""
    context = bill_document_context(bill, chart=False)
    pdf = _BillPDF(bill)
    pdf.add_page()
    _header(pdf, bill, context)
    _summary(pdf, bill, context)
    _lines(pdf, bill, context)
    _payments(pdf, context)
    _chart(pdf, bill, context)
    return bytes(pdf.output())


class _BillPDF(FPDF):
    def __init__(self, bill: Bill):
        super().__init__(orientation="portrait", unit="mm", format="Letter")
        self.bill = bill
        self.set_margins(16, 14, 16)
        self.set_auto_page_break(True, margin=18)
        self.add_font("DejaVu", "", FONT_DIR / "DejaVuSans.ttf")
        self.add_font("DejaVu", "B", FONT_DIR / "DejaVuSans-Bold.ttf")
        self.set_title(f"HydroSpark water bill {bill.number or 'draft'}")
        self.set_author("HydroSpark Water")
        self.set_creation_date(datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC))  # same bill, same bytes

    def header(self):
        if not self.bill.is_issued:
            self.set_font("DejaVu", "B", 40)
            self.set_text_color(235, 238, 243)
            with self.rotation(30, x=self.w / 2, y=self.h / 2):
                self.text(self.w / 2 - 75, self.h / 2, "DRAFT – NOT A BILL")

    def footer(self):
        self.set_y(-14)
        self.set_font("DejaVu", "", 7.5)
        self.set_text_color(*MUTED)
        self.cell(
            0,
            4,
            "HydroSpark Water · Customer service (214) 555-0100 · billing@hydrospark.com · 1 CCF = 748 US gallons",
            align="C",
        )


def _text(pdf, size, colour=INK, bold=False):
    pdf.set_font("DejaVu", "B" if bold else "", size)
    pdf.set_text_color(*colour)


def _header(pdf: FPDF, bill: Bill, context: dict) -> None:
    pdf.set_fill_color(*DEEP)
    pdf.rect(0, 0, pdf.w, 24, style="F")
    pdf.set_xy(16, 7)
    _text(pdf, 16, (255, 255, 255), bold=True)
    pdf.cell(100, 8, "HydroSpark Water")
    _text(pdf, 10, (255, 255, 255))
    pdf.set_xy(pdf.w - 96, 6)
    pdf.multi_cell(80, 5, f"Water bill for {context['period_label']}\n{bill.number or 'Draft (not issued)'}", align="R")
    customer = bill.customer
    pdf.set_xy(16, 32)
    _text(pdf, 10, bold=True)
    pdf.cell(100, 5, customer.name, new_x="LMARGIN", new_y="NEXT")
    _text(pdf, 9.5)
    for line in [customer.business_name or customer.facility_name, *customer.mailing_address.split(", ", 1)]:
        if line:
            pdf.cell(100, 4.8, line, new_x="LMARGIN", new_y="NEXT")
    rows = [
        ("Account (Location ID)", customer.location_id),
        ("Customer type", customer.get_customer_type_display()),
        ("Issue date", f"{bill.issue_date:%B %-d, %Y}" if bill.issue_date else "Not issued"),
        ("Billing cycle", str(customer.cycle_number)),
    ]
    pdf.set_y(32)
    for name, value in rows:
        pdf.set_x(pdf.w - 96)
        _text(pdf, 8.5, MUTED)
        pdf.cell(40, 4.8, name)
        _text(pdf, 9.5)
        pdf.cell(40, 4.8, value, align="R", new_x="LMARGIN", new_y="NEXT")


def _summary(pdf: FPDF, bill: Bill, context: dict) -> None:
    top = 58
    pdf.set_draw_color(*LINE)
    pdf.set_fill_color(244, 247, 251)
    pdf.rect(16, top, pdf.w - 32, 30, style="DF", round_corners=True, corner_radius=2.5)
    days = f"{bill.days_read} of {bill.days_in_period} days read"
    boxes = [
        ("Service period", f"{bill.period:%b %-d} – {bill.period_end:%b %-d, %Y}", days),
        ("Water used", f"{bill.usage_ccf.normalize():f} CCF", f"{context['usage_gallons']:,} gallons"),
        _amount_box(bill, context),
    ]
    width = (pdf.w - 32) / 3
    for i, (name, value, note) in enumerate(boxes):
        x = 16 + i * width + 5
        pdf.set_xy(x, top + 4)
        _text(pdf, 8.5, MUTED)
        pdf.cell(width - 10, 4.5, name)
        pdf.set_xy(x, top + 10)
        _text(pdf, 15, DEEP if i < 2 else BLUE, bold=True)
        pdf.cell(width - 10, 8, value)
        pdf.set_xy(x, top + 20)
        _text(pdf, 8.5, MUTED)
        pdf.cell(width - 10, 4.5, note)
    status = context["payment_status"]
    if status:
        pdf.set_xy(16 + 2 * width + 5, top + 24.5)
        _text(pdf, 8.5, STATUS_COLOURS[status], bold=True)
        pdf.cell(width - 10, 4, context["payment_status_label"])
    if bill.is_partial:
        pdf.set_xy(16, top + 32)
        _text(pdf, 8.5, MUTED)
        pdf.multi_cell(
            0,
            4.2,
            f"Your meter reported {bill.days_read} of the {bill.days_in_period} days of this period: "
            "you are billed for the water used on those days.",
        )


def _amount_box(bill: Bill, context: dict) -> tuple[str, str, str]:
    if context["payment_status"] == PaymentStatus.PAID:
        return ("Amount due", "Paid in full", f"${bill.total_amount:,.2f}, thank you")
    if not bill.is_issued:
        return ("Total", f"${bill.total_amount:,.2f}", "draft")
    return ("Amount due", f"${context['open_balance']:,.2f}", f"by {bill.due_date:%B %-d, %Y}")


def _lines(pdf: FPDF, bill: Bill, context: dict) -> None:
    pdf.set_y(max(pdf.get_y() + 4, 96))
    _text(pdf, 11, DEEP, bold=True)
    pdf.cell(0, 7, "How your bill is calculated", new_x="LMARGIN", new_y="NEXT")
    widths = (92, 30, 30, 31.9)
    with pdf.table(
        col_widths=widths,
        text_align=("LEFT", "RIGHT", "RIGHT", "RIGHT"),
        borders_layout="HORIZONTAL_LINES",
        line_height=5.6,
        headings_style=_heading_style(),
        first_row_as_headings=True,
        padding=(0.8, 1.5),
    ) as table:
        _text(pdf, 9)
        table.row(["Charge", "Quantity", "Rate", "Amount"])
        for line in context["lines"]:
            table.row([line.label, *_line_cells(line)])
    pdf.ln(1.5)
    _text(pdf, 11, DEEP, bold=True)
    pdf.cell(widths[0] + widths[1] + widths[2], 7, "Total for this period")
    pdf.cell(widths[3], 7, f"${bill.total_amount:,.2f}", align="R", new_x="LMARGIN", new_y="NEXT")


def _line_cells(line) -> list[str]:
    return [line.quantity_text, line.rate_text, line.amount_text]


def _dollars(amount: Decimal) -> str:
    return f"−${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def _heading_style():
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD", color=MUTED, size_pt=8.5)


def _payments(pdf: FPDF, context: dict) -> None:
    payments, bill = context["payments"], context["bill"]
    if not bill.is_issued:
        return
    pdf.ln(2)
    _text(pdf, 9.5)
    if payments:
        for payment in payments:
            pdf.cell(
                153.9,
                5,
                f"Payment received {payment.paid_on:%B %-d, %Y} ({payment.get_method_display()})",
            )
            pdf.cell(30, 5, _dollars(-payment.amount), align="R", new_x="LMARGIN", new_y="NEXT")
    _text(pdf, 10, bold=True)
    pdf.cell(153.9, 6, f"Balance due by {bill.due_date:%B %-d, %Y}" if bill.due_date else "Balance")
    pdf.cell(30, 6, f"${context['open_balance']:,.2f}", align="R", new_x="LMARGIN", new_y="NEXT")


def _chart(pdf: FPDF, bill: Bill, context: dict) -> None:
    history = context["history"]
    if not history:
        return
    pdf.ln(4)
    _text(pdf, 11, DEEP, bold=True)
    pdf.cell(0, 7, "Your water use, month by month (CCF)", new_x="LMARGIN", new_y="NEXT")
    png = chart_bytes(bill, history, "png")
    from io import BytesIO

    pdf.image(BytesIO(png), x=16, w=pdf.w - 32, alt_text=context["chart_summary"])
    _text(pdf, 8, MUTED)
    pdf.multi_cell(0, 4, context["chart_summary"])
    pdf.set_y(pdf.get_y() + 2)
    pdf.multi_cell(0, 4, f"Rates: {bill.rate_schedule}.")


# --- Email -------------------------------------------------------------------------------------------------


def send_bill_email(bill: Bill, *, to: str) -> None:
    """Email the bill: plain text, an HTML alternative and the PDF attached."""
    from .selectors import bill_detail

    bill = bill_detail(Bill.objects.filter(pk=bill.pk))
    context = bill_document_context(bill, chart=False)
    context["site_url"] = settings.SITE_URL.rstrip("/")
    context["sent_on"] = timezone.localdate()
    subject = render_to_string("billing/email/bill_subject.txt", context).strip()
    message = EmailMultiAlternatives(subject=subject, body=render_to_string("billing/email/bill.txt", context), to=[to])
    message.attach_alternative(render_to_string("billing/email/bill.html", context), "text/html")
    message.attach(f"{bill.number}.pdf", render_bill_pdf(bill), "application/pdf")
    message.send()
