"""The paper bill's layout (billing.bill_pdf), read back from the PDF: nothing collides whatever the
lengths, the address sits in the envelope window, the stub stays at the bottom of page one."""

import dataclasses
import datetime
from decimal import Decimal as D

import pytest
from fpdf import FPDF

from billing.bill_pdf import (
    ADDRESS_WINDOW,
    FOLD_2,
    RECIPIENT_BLOCK,
    RETURN_BLOCK,
    AccountLine,
    BillDocument,
    BillPDF,
    ChargeLine,
    Utility,
    draw_bill,
    money,
)
from billing.tests.pdf_text import collisions, inside, page_text, pages_chars, touching

UTILITY = Utility(
    "HydroSpark Water",
    ("PO Box 2250", "Dallas, TX 75221-2250"),
    "(214) 555-0100",
    "billing@hydrospark.com",
    bank_transfer="ACH or wire to HydroSpark Water, routing number 111000025, account 000123456789.",
    in_person="Customer office, 1500 Marilla St, Dallas, TX 75201: Monday to Friday, 8 am to 5 pm.",
)
LINES = (
    ChargeLine("Tier 1: first 10 CCF", "10 CCF × $2.50/CCF", D("25.00")),
    ChargeLine("Tier 2: next 3.01 CCF", "3.01 CCF × $3.00/CCF", D("9.03")),
    ChargeLine("Seasonal surcharge ×1.2 (July)", "+20% of $34.03", D("6.81")),
    ChargeLine("Base service", "", D("15.00")),
    ChargeLine("Infrastructure", "", D("5.00")),
)
LONG_NAME = "Maximiliana Alexandrovna Wolfeschlegelsteinhausenbergerdorff-Featherstonehaugh-Cholmondeley III"
LONG_ADDRESS = (
    "Consolidated Hydrological Services of North Texas Incorporated and Affiliates LLC",
    "Suite 4500, Building 12, The Extraordinarily Long Named Corporate Campus",
    "123456 North Central Expressway Frontage Road Service Lane",
    "Dallas, TX 75201-1234",
)
HUGE = D("1234567.89")


def months(first: datetime.date, usage) -> tuple:
    return tuple(
        (datetime.date(first.year + (first.month - 1 + i) // 12, (first.month - 1 + i) % 12 + 1, 1), usage(i))
        for i in range(13)
    )


def july_bill(**changes) -> BillDocument:
    """Noah's July 2019 bill: paid last month's, a late fee, this month's five lines."""
    bill = BillDocument(
        number="HS-201907-000001",
        issued=True,
        period=datetime.date(2019, 7, 1),
        period_end=datetime.date(2019, 7, 31),
        issue_date=datetime.date(2019, 8, 1),
        due_date=datetime.date(2019, 8, 22),
        location_id="101887055",
        name="Noah Hernandez",
        address_lines=("8938 Oak Blvd", "Dallas, TX 75201"),
        days_read=31,
        days_in_period=31,
        usage_ccf=D("13.01"),
        usage_gallons=9731,
        lines=LINES,
        charges=D("60.84"),
        amount_due=D("62.84"),
        previous_balance=D("2.00"),
        opening_balance=D("51.21"),
        activity=(
            AccountLine(datetime.date(2019, 7, 12), "Payment received, thank you (Card)", D("-51.21")),
            AccountLine(datetime.date(2019, 7, 28), "Late fee on bill HS-201906-000001", D("2.00")),
        ),
        history=months(datetime.date(2018, 7, 1), lambda i: D(8 + (i * 37) % 11)),
        rates_label="Standard rates, since January 1, 2000",
        late_fee_terms=(D("5.00"), 5),
        utility=UTILITY,
    )
    return dataclasses.replace(bill, **changes)


def everything_long() -> BillDocument:
    """The longest of every field: a September (the longest month name), seven-figure amounts, 99999.9999 CCF."""
    return july_bill(
        name=LONG_NAME,
        address_lines=LONG_ADDRESS,
        location_id="ABCDEFGHIJ-123456789",
        number="HS-209909-999999",
        period=datetime.date(2099, 9, 1),
        period_end=datetime.date(2099, 9, 30),
        issue_date=datetime.date(2099, 10, 1),
        due_date=datetime.date(2099, 10, 22),
        days_read=30,
        days_in_period=30,
        usage_ccf=D("99999.9999"),
        usage_gallons=74_799_999,
        charges=HUGE,
        amount_due=HUGE,
        previous_balance=-HUGE,
        opening_balance=HUGE,
        lines=tuple(
            dataclasses.replace(line, label=f"{line.label} with a label long enough to need two lines", amount=HUGE)
            for line in LINES
        ),
        activity=tuple(
            AccountLine(
                datetime.date(2099, 9, 27),
                "Payment received, thank you (Bank transfer (ACH)) ref 1234567890ABCDEF",
                -HUGE,
            )
            for _ in range(2)
        ),
        history=months(datetime.date(2098, 9, 1), lambda i: D("99999.9999")),
    )


def many_payments() -> BillDocument:
    return july_bill(
        activity=tuple(
            AccountLine(
                datetime.date(2019, 7, 1) + datetime.timedelta(days=i % 30), f"Payment by check #{i}", D("-1.00")
            )
            for i in range(60)
        )
    )


def draft() -> BillDocument:
    return july_bill(issued=False, number="", issue_date=None, due_date=None, previous_balance=None, activity=())


def in_credit() -> BillDocument:
    return july_bill(amount_due=D("-14.16"), previous_balance=D("-75.00"))


def render(*docs: BillDocument) -> tuple[bytes, list[int]]:
    pdf = BillPDF()
    pages = [draw_bill(pdf, doc) for doc in docs]
    return bytes(pdf.output()), pages


BILLS = {
    "july": july_bill,
    "everything long": everything_long,
    "sixty payments": many_payments,
    "draft": draft,
    "in credit": in_credit,
    "no history, first bill": lambda: july_bill(
        history=(), activity=(), previous_balance=D("0"), opening_balance=D("0")
    ),
    "partial month": lambda: july_bill(days_read=12, usage_ccf=D("0"), usage_gallons=0),
}


@pytest.mark.parametrize("case", BILLS)
def test_no_two_characters_overlap_on_any_page(case):
    pdf, _ = render(BILLS[case]())
    for number, chars in enumerate(pages_chars(pdf), start=1):
        assert collisions(chars) == [], f"page {number}"


@pytest.mark.parametrize("case", BILLS)
def test_every_character_stays_on_the_page_inside_the_margins(case):
    pdf, _ = render(BILLS[case]())
    for chars in pages_chars(pdf):
        assert len(inside(chars, 12.6, 6.35, 203.3, 279.4 - 12.6)) == len(chars)  # printers leave 1/4 in


@pytest.mark.parametrize("case", ["july", "everything long"])
def test_the_name_and_address_show_in_the_envelope_window_and_nothing_else_does(case):
    doc = BILLS[case]()
    chars = pages_chars(render(doc)[0])[0]
    in_window = touching(chars, ADDRESS_WINDOW.x, ADDRESS_WINDOW.y, ADDRESS_WINDOW.right, ADDRESS_WINDOW.bottom)
    block = RECIPIENT_BLOCK
    assert in_window == inside(chars, block.x, block.y, block.right, block.bottom)
    text = page_text(in_window)
    assert text.startswith(doc.name.replace(" ", "")[:30])
    assert doc.address_lines[-1].replace(" ", "")[:10] in text.replace(" ", "")


def test_the_address_block_keeps_an_eighth_of_an_inch_inside_the_window():
    eighth = 25.4 / 8
    assert RECIPIENT_BLOCK.x >= ADDRESS_WINDOW.x + eighth and RECIPIENT_BLOCK.right <= ADDRESS_WINDOW.right - eighth
    assert RECIPIENT_BLOCK.y >= ADDRESS_WINDOW.y + eighth - 0.01
    assert RECIPIENT_BLOCK.bottom <= ADDRESS_WINDOW.bottom - eighth + 0.01


def test_a_normal_address_is_printed_whole_in_ten_point():
    chars = pages_chars(render(july_bill())[0])[0]
    block = RECIPIENT_BLOCK
    address = inside(chars, block.x, block.y, block.right, block.bottom)
    assert page_text(address).splitlines() == ["NoahHernandez", "8938OakBlvd", "Dallas,TX75201"]  # no spaces
    assert {round((c["bottom"] - c["top"]) / (25.4 / 72), 1) for c in address} == {10.0}  # points


def test_a_long_address_shrinks_no_smaller_than_eight_point():
    chars = pages_chars(render(everything_long())[0])[0]
    block = RECIPIENT_BLOCK
    sizes = {
        round((c["bottom"] - c["top"]) / (25.4 / 72), 1)
        for c in inside(chars, block.x, block.y, block.right, block.bottom)
    }
    assert min(sizes) >= 8.0


def test_the_return_address_sits_top_left():
    chars = pages_chars(render(july_bill())[0])[0]
    box = RETURN_BLOCK
    assert page_text(inside(chars, box.x, box.y, box.right, box.bottom)).splitlines() == [
        "HydroSparkWater",
        "POBox2250",
        "Dallas,TX75221-2250",
    ]


@pytest.mark.parametrize("case", BILLS)
def test_the_remittance_stub_is_the_bottom_third_of_page_one(case):
    doc = BILLS[case]()
    chars = pages_chars(render(doc)[0])[0]
    stub = page_text(inside(chars, 0, FOLD_2, 216, 279.4))
    assert "Pleasedetachandreturnthispartwithyourpayment" in stub
    assert "Amountenclosed" in stub
    assert doc.location_id in stub
    if doc.issued and doc.amount_due > 0:
        assert f"${doc.amount_due:,.2f}" in stub
        assert "Duedate" in stub and f"{doc.due_date:%B}{doc.due_date.day},{doc.due_date.year}" in stub


def test_sixty_payments_continue_on_more_pages_each_with_the_bill_named_and_numbered():
    pdf, pages = render(many_payments())
    assert pages == [3]
    texts = [page_text(chars) for chars in pages_chars(pdf)]
    assert "Page1of3" in texts[0] and "Continuedonthenextpage." in texts[0]
    for number, text in enumerate(texts[1:], start=2):
        assert f"Page{number}of3" in text and "Accountnumber101887055" in text and "HS-201907-000001" in text
    assert "Youraccount(continued)" in texts[1]
    assert sum(text.count("Paymentbycheck#") for text in texts) == 60


def test_the_account_section_adds_up_down_the_page():
    text = page_text(pages_chars(render(july_bill())[0])[0])
    order = [
        "Balanceonyourlastbill$51.21",
        "Jul12,2019Paymentreceived,thankyou(Card)−$51.21",
        "Jul28,2019LatefeeonbillHS-201906-000001$2.00",
        "PreviousbalanceonJul31,2019$2.00",
        "ChargesforJuly2019(Jul1–Jul31,2019)$60.84",
        "Seasonalsurcharge×1.2(July)+20%of$34.03$6.81",
        "Totalamountdue$62.84",
        "PleasepaybyAugust22,2019.",
    ]
    positions = [text.index(line) for line in order]
    assert positions == sorted(positions)


def test_a_draft_says_it_is_not_a_bill_and_a_credit_says_nothing_is_due():
    assert "Thisisadraft" in page_text(pages_chars(render(draft())[0])[0])
    text = page_text(pages_chars(render(in_credit())[0])[0])
    assert "Creditonyouraccount" in text and "$14.16" in text and "nothingtopay" in text


def test_many_bills_in_one_file_each_start_on_their_own_page():
    pdf, pages = render(july_bill(), many_payments(), everything_long(), draft())
    texts = [page_text(chars) for chars in pages_chars(pdf)]
    assert len(texts) == sum(pages)
    starts = [sum(pages[:i]) for i in range(len(pages))]
    for start, count in zip(starts, pages, strict=True):
        assert f"Page1of{count}" in texts[start] and "Waterbill" in texts[start]


@pytest.mark.parametrize("bold", [False, True])
def test_the_fast_string_width_is_fpdfs_own(bold):
    pdf = BillPDF()
    pdf.add_page()
    for size in (6.5, 9, 17):
        pdf.style(size, bold=bold)
        pdf.apply_style()  # fpdf's own measure needs the font set
        for text in ["Dec 31, 2025", "9.51 CCF", "−$1,234,567.89 – × … ✂", LONG_NAME]:
            assert pdf.get_string_width(text) == pytest.approx(FPDF.get_string_width(pdf, text), abs=1e-9)


def test_wrapping_breaks_at_spaces_and_splits_only_a_word_wider_than_the_line():
    pdf = BillPDF()
    pdf.add_page()
    pdf.style(9)
    lines = pdf.wrap("Payment received, thank you, from the account of", 40)
    assert " ".join(lines) == "Payment received, thank you, from the account of"
    assert all(pdf.get_string_width(line) <= 40 for line in lines) and len(lines) > 1
    split = pdf.wrap(f"To {LONG_NAME}", 40)
    assert "".join(split).replace(" ", "") == f"To{LONG_NAME}".replace(" ", "")  # each character once
    assert all(pdf.get_string_width(line) <= 40 for line in split)


def test_money_prints_a_true_minus_and_never_minus_zero():
    assert [money(D(v)) for v in ("1234567.891", "-12", "-0.00", "0")] == ["$1,234,567.89", "−$12.00", "$0.00", "$0.00"]
