"""Bill documents: one `BillDocument` (plain data) per bill, drawn three ways from the same figures: the
HTML partial `billing/_bill.html` (staff page and portal), the PDF (`render_bill_pdf`, laid out in
billing.bill_pdf for a #10 double-window envelope) and the bill email (text + HTML + the PDF attached).
`bills_print_file` draws many bills into one print file for the mail house.

The account section (SPEC §2a) comes from billing.account.bill_statement; nothing here computes a balance.
"""

import datetime
import textwrap
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils import timezone, translation

from metering.charts import chart_summary, inline_svg, monthly_usage_chart
from metering.selectors import usage_totals

from . import bill_pdf
from .account import BillStatement, bill_statement
from .bill_pdf import (
    WORDS,
    AccountLine,
    BillDocument,
    ChargeLine,
    Utility,
    account_rows,
    amount_due_words,
    ccf,
    draw_bill,
    how_to_pay_sentence,
    late_fee_sentence,
    long_date,
    money,
    total_due_words,
)
from .models import Bill, BillLine
from .periods import add_months, period_end
from .selectors import usage_history
from .statements import bill_statements

CHART_SECONDS = 3600
HISTORY_MONTHS = 13
ID_CHUNK = 2_000  # customer ids per IN (…) list: well under every database's parameter limit


def utility() -> Utility:
    return Utility(
        name=settings.UTILITY_NAME,
        address_lines=tuple(part.strip() for part in settings.UTILITY_ADDRESS.split(";") if part.strip()),
        phone=settings.UTILITY_PHONE,
        email=settings.UTILITY_EMAIL,
        bank_transfer=settings.PAYMENT_BANK_TRANSFER,
        in_person=settings.PAYMENT_IN_PERSON,
    )


def address_lines(customer) -> tuple[str, ...]:
    """The envelope's lines after the name: the business (or facility), then the mailing address with
    its last two parts ("Dallas", "TX 75201") joined as the city line, as USPS writes it."""
    parts = [part.strip() for part in customer.mailing_address.split(",") if part.strip()]
    if len(parts) >= 3:
        parts = [*parts[:-2], f"{parts[-2]}, {parts[-1]}"]
    company = customer.business_name or customer.facility_name
    return tuple([company, *parts] if company else parts)


def line_detail(line: BillLine) -> str:
    """How a line was computed, in words a customer checks with a calculator."""
    if line.kind == BillLine.Kind.TIER:
        return WORDS["tier_detail"].format(quantity=line.quantity_text, rate=line.rate_text)
    if line.kind == BillLine.Kind.SEASONAL:
        # The line is the extra (or the discount), not the multiplied total: ×1.2 is "+20% of".
        percent = ((line.rate - 1) * 100).normalize()
        sign = "+" if percent > 0 else "−"
        return WORDS["seasonal_detail"].format(sign=sign, percent=f"{abs(percent):f}", amount=money(line.quantity))
    return ""


def rates_label(schedule) -> str:
    """The rate schedule as customers know it: its name, who it is for, since when."""
    since = long_date(schedule.effective_from)
    if schedule.customer_type:
        kind = schedule.get_customer_type_display().lower()
        return WORDS["rates_for_type"].format(name=schedule.name, type=kind, since=since)
    return WORDS["rates_all"].format(name=schedule.name, since=since)


def bill_document(
    bill: Bill,
    *,
    statement: BillStatement | None = None,
    history: Sequence[tuple[datetime.date, Decimal]] = (),
    lines: Sequence[BillLine] | None = None,
) -> BillDocument:
    """The bill's document. `bill` with customer and rate_schedule selected and lines prefetched;
    `statement` from billing.account.bill_statement (None for a draft: no account section)."""
    customer, schedule = bill.customer, bill.rate_schedule
    lines = list(bill.lines.all()) if lines is None else lines
    issued = statement is not None and bill.issue_date is not None
    return BillDocument(
        number=bill.number or "",
        issued=bill.status != Bill.Status.DRAFT,
        period=bill.period,
        period_end=bill.period_end,
        issue_date=bill.issue_date,
        due_date=bill.due_date,
        location_id=customer.location_id,
        name=customer.name,
        address_lines=address_lines(customer),
        days_read=bill.days_read,
        days_in_period=bill.days_in_period,
        usage_ccf=bill.usage_ccf,
        usage_gallons=bill.usage_gallons,
        lines=tuple(ChargeLine(line.label, line_detail(line), line.amount) for line in lines),
        charges=bill.total_amount,
        amount_due=statement.amount_due if issued else bill.total_amount,
        previous_balance=statement.previous_balance if issued else None,
        opening_balance=statement.opening_balance if issued else Decimal("0"),
        activity=tuple(AccountLine(s.date, s.label, s.amount) for s in statement.activity) if issued else (),
        history=tuple(history),
        rates_label=rates_label(schedule),
        late_fee_terms=(schedule.late_fee_percent, schedule.late_fee_grace_days) if schedule.late_fee_percent else None,
        utility=utility(),
        cancelled=bill.status == Bill.Status.CANCELLED,
    )


TEXT_WIDTH = 72  # the plain-text email's account table: amounts end in this column


def account_text(doc: BillDocument) -> str:
    """The account section as plain text, amounts right-aligned in one column, long labels wrapped."""
    out = []
    rows = [(row.date_text, _text_label(row), row.amount_text) for row in account_rows(doc)]
    amount, note = total_due_words(doc)
    rows += [("", "", ""), ("", WORDS["total_due"], money(amount))]
    for day, label, amount_text in rows:
        left = f"{day:<14}{label}" if day or label else ""
        room = TEXT_WIDTH - len(amount_text) - 1
        lines = textwrap.wrap(left, room, subsequent_indent=" " * 18) or [""]
        out += lines[:-1]
        out.append(f"{lines[-1]:<{room}} {amount_text}".rstrip())
    out += textwrap.wrap(note, TEXT_WIDTH, initial_indent=" " * 14, subsequent_indent=" " * 14)
    return "\n".join(out)


def _text_label(row) -> str:
    if row.kind != "line":
        return row.label
    return f"    {row.label}: {row.detail}" if row.detail else f"    {row.label}"


def _statement(bill: Bill) -> BillStatement | None:
    return bill_statement(bill) if bill.issue_date else None


def bill_document_context(bill: Bill, *, chart: bool = True) -> dict:
    """Everything the bill partial and the email print. `bill` comes from selectors.bill_detail."""
    history = usage_history(bill)
    doc = bill_document(bill, statement=_statement(bill), history=history)
    amount_due_label, amount_due_text, amount_due_note = amount_due_words(doc)
    total_due, total_due_note = total_due_words(doc)
    context = {
        "bill": bill,
        "doc": doc,
        "account_rows": account_rows(doc),
        "amount_due_label": amount_due_label,
        "amount_due_text": amount_due_text,
        "amount_due_note": amount_due_note,
        "total_due_text": money(total_due),
        "total_due_note": total_due_note,
        "usage_ccf_text": ccf(doc.usage_ccf),
        "usage_gallons_text": f"{doc.usage_gallons:,}",
        "account_text": account_text(doc),
        "late_fee_text": late_fee_sentence(doc),
        "how_to_pay_text": how_to_pay_sentence(doc),
        "customer": bill.customer,
        "payment_status": bill.payment_status_for(),
        "payment_status_label": bill.get_payment_status_display(),
        "open_balance": bill.open_balance(),
        "period_label": f"{bill.period:%B %Y}",
        "history": history,
        "chart_summary": chart_summary(history, period="month") if history else "",
        "utility": doc.utility,
    }
    if chart and history:
        # Both drawings, as the portal's <picture> offers: a phone shows the narrow one, whose labels
        # stay readable (the wide one scaled to 390 px made them 4 px). Prefixed ids keep them apart.
        label = f"bill-{bill.pk}-chart-summary"
        for size, key in (("wide", "chart_svg"), ("narrow", "chart_svg_narrow")):
            svg = chart_bytes(bill, history, "svg", size=size)
            context[key] = inline_svg(svg, label_id=label, id_prefix=f"bill-{bill.pk}-{size}-")
    return context


CHART_SIZES = {"wide": (8, 2.8), "narrow": (4.2, 3.4)}  # inches, like the portal's charts


def chart_bytes(bill: Bill, history, fmt: str, *, size: str = "wide") -> bytes:
    """The 13-month chart of the bill page (cached: reads older than the bill rarely change, and a
    correction shows within the hour). The customer id is in the key: bill ids are never reused, but a
    cache shared by customers must not be able to mix them up."""
    key = f"billing:chart:{bill.customer_id}:{bill.pk}:{fmt}:{size}:{len(history)}:{sum(u for _, u in history)}"
    data = cache.get(key)
    if data is None:
        data = monthly_usage_chart(history, fmt=fmt, highlight_month=bill.period, size=CHART_SIZES[size], dpi=150)
        cache.set(key, data, CHART_SECONDS)
    return data


# --- PDF -------------------------------------------------------------------------------------------------


def render_bill_pdf(bill: Bill) -> bytes:
    """The bill as a PDF (`bill` from selectors.bill_detail): the same pages the mail house prints."""
    doc = bill_document(bill, statement=_statement(bill), history=usage_history(bill))
    pdf = bill_pdf.BillPDF(title=f"{doc.utility.name} water bill {bill.number or 'draft'}")  # loads fpdf
    describe_pdf(pdf, subject=f"Water bill for {doc.name}, {bill.period:%B %Y}")
    draw_bill(pdf, doc)
    return bytes(pdf.output())


def describe_pdf(pdf, *, subject: str) -> None:
    """What fpdf2 can tell a screen reader about a bill PDF (README: Accessibility): its language (the
    active one, so a translated bill says so), a subject, and its title shown in place of the file name."""
    from fpdf.prefs import ViewerPreferences  # fpdf is loaded already: the BillPDF was just made

    language, _, region = (translation.get_language() or settings.LANGUAGE_CODE).partition("-")
    pdf.set_lang(f"{language}-{region.upper()}" if region else language)
    pdf.set_subject(subject)
    pdf.viewer_preferences = ViewerPreferences(display_doc_title=True)


def documents_queryset(bills):
    """What bills_print_file reads of each bill, in three queries for any number of bills."""
    return bills.select_related("customer", "rate_schedule").prefetch_related(
        Prefetch("lines", queryset=BillLine.objects.order_by("position"))
    )


def bills_print_file(
    bills: Iterable[Bill],
    *,
    statements: Mapping[int, BillStatement] | None = None,
    histories: Mapping[int, Sequence[tuple[datetime.date, Decimal]]] | None = None,
) -> tuple[bytes, list[dict]]:
    """One US Letter PDF of many bills for the mail house, each bill starting on a new page, in the order
    given, and its manifest: one row per bill (location_id, bill_number, name, mailing_address,
    first_page, pages; pages counted from 1 in the file).

    `bills` as documents_queryset gives them. `statements` ({bill id: BillStatement}) when the caller has
    them; otherwise read for all bills at once (billing.statements). `histories` ({bill id: [(month, CCF)]})
    likewise (13 grouped queries per billed month)."""
    bills = list(bills)
    statements = bill_statements(bills) if statements is None else statements
    histories = usage_histories(bills) if histories is None else histories
    pdf = bill_pdf.BillPDF(title=f"{settings.UTILITY_NAME} bills")
    describe_pdf(pdf, subject=f"{len(bills)} water bills for the mail house")
    manifest = []
    for bill in bills:
        statement = statements.get(bill.pk) if bill.issue_date else None
        doc = bill_document(bill, statement=statement, history=histories.get(bill.pk, ()))
        first = pdf.page + 1
        pages = draw_bill(pdf, doc)
        manifest.append(_manifest_row(bill, first, pages))
    return bytes(pdf.output()), manifest


def _manifest_row(bill: Bill, first: int, pages: int) -> dict:
    customer = bill.customer
    return {
        "location_id": customer.location_id,
        "bill_number": bill.number or "",
        "name": customer.name,
        "mailing_address": customer.mailing_address,
        "first_page": first,
        "pages": pages,
    }


def usage_histories(bills: Sequence[Bill]) -> dict[int, list[tuple[datetime.date, Decimal]]]:
    """{bill id: [(month, CCF)]} of the 13 months up to each bill's period, months with reads only (as
    selectors.usage_history for one bill): one grouped query per month and chunk of customers."""
    by_period: dict[datetime.date, list[Bill]] = defaultdict(list)
    for bill in bills:
        by_period[bill.period].append(bill)
    histories: dict[int, list[tuple[datetime.date, Decimal]]] = {bill.pk: [] for bill in bills}
    for period, group in by_period.items():
        ids = sorted({bill.customer_id for bill in group})
        for offset in range(-(HISTORY_MONTHS - 1), 1):
            month = add_months(period, offset)
            totals = {}
            for start in range(0, len(ids), ID_CHUNK):
                chunk = ids[start : start + ID_CHUNK]
                totals.update(usage_totals(start=month, end=period_end(month), customer_ids=chunk))
            for bill in group:
                if bill.customer_id in totals:
                    histories[bill.pk].append((month, totals[bill.customer_id][0]))
    return histories


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
