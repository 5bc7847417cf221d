"""The bill documents from real bills: the account on the page, the PDF and the email; Noah's bills laid out
without collisions; the print file for the mail house."""

import datetime
import io
import os
from decimal import Decimal as D

import pdfplumber
import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from billing.account import bill_statement
from billing.account_services import payment_record
from billing.bill_pdf import RECIPIENT_BLOCK
from billing.documents import (
    address_lines,
    bill_document_context,
    bills_print_file,
    documents_queryset,
    render_bill_pdf,
    send_bill_email,
    usage_histories,
)
from billing.late_fees import late_fees_apply
from billing.models import Bill
from billing.periods import add_months
from billing.selectors import bill_detail, usage_history
from billing.services import bill_run_compute
from billing.tests.conftest import add_month
from billing.tests.pdf_text import collisions, inside, page_text, pages_chars
from conftest import make_customer

JUNE_2019, JULY_2019 = datetime.date(2019, 6, 1), datetime.date(2019, 7, 1)
TODAY = datetime.date(2025, 1, 1)


def issue(period, issue_date=None):
    bill_run_compute(period=period, issue=True, actor_label="test", today=TODAY, issue_date=issue_date)


def bill_of(customer, period) -> Bill:
    return bill_detail(Bill.objects.filter(customer=customer, period=period).exclude(status="cancelled"))


def squashed(text: str) -> str:
    return text.replace(" ", "")  # pdfplumber's characters carry no spaces


@pytest.fixture
def noah_in_july(noah, biller):
    """Noah's June bill paid in part ($20, on time), a late fee on the rest, then his July bill."""
    issue(JUNE_2019, datetime.date(2019, 7, 1))
    june = bill_of(noah, JUNE_2019)
    payment_record(customer=noah, amount=D("20.00"), paid_on=datetime.date(2019, 7, 10), method="card", actor=biller)
    late_fees_apply(as_of=datetime.date(2019, 7, 31), actor_label="test", today=TODAY)
    issue(JULY_2019, datetime.date(2019, 8, 1))
    return june, bill_of(noah, JULY_2019)


def test_the_pdf_shows_the_account_as_the_statement_adds_it_up(noah_in_july):
    june, july = noah_in_july
    statement = bill_statement(july)
    assert statement.opening_balance == june.total_amount  # the sample's June: the first bill
    text = squashed(page_text(pages_chars(render_bill_pdf(july))[0]))
    late_fee, fee_day = statement.activity[1].amount, statement.activity[1].date
    expected = [
        f"Balanceonyourlastbill${june.total_amount}",
        "Jul10,2019Paymentreceived,thankyou(Card)−$20.00",
        f"Jul{fee_day.day},2019LatefeeonbillHS-201906-000001${late_fee}",
        f"PreviousbalanceonJul31,2019${statement.previous_balance}",
        f"ChargesforJuly2019(Jul1–Jul31,2019)${july.total_amount}",
        f"Totalamountdue${statement.amount_due}",
        "PleasepaybyAugust22,2019.",
    ]
    positions = [text.index(line) for line in expected]
    assert positions == sorted(positions)
    assert statement.amount_due == june.total_amount - D("20.00") + late_fee + july.total_amount


def test_the_bill_page_shows_the_same_account(noah_in_july, biller, client_for):
    _, july = noah_in_july
    statement = bill_statement(july)
    page = client_for(biller).get(reverse("billing:bill", args=[july.pk])).content.decode()
    for text in [
        "Balance on your last bill",
        "Payment received, thank you (Card)",
        "Late fee on bill HS-201906-000001",
    ]:
        assert text in page
    assert "Previous balance on Jul 31, 2019" in page
    assert f"${statement.amount_due:,.2f}" in page and "Please pay by August 22, 2019." in page
    assert "+20% of $" in page  # July's seasonal line says what it adds, not "× ×1.2"
    assert settings.PAYMENT_BANK_TRANSFER in page and settings.PAYMENT_IN_PERSON in page  # as the portal says
    # the delinquency date: due August 22 + 5 grace days (payments dated up to the 27th count)
    assert (
        "not paid in full by August 27, 2019, a late fee of 5% of the amount still open is charged on August 28" in page
    )


def test_the_email_shows_the_account_and_attaches_the_same_pdf(noah_in_july):
    _, july = noah_in_july
    statement = bill_statement(july)
    send_bill_email(july, to="noah@example.com")
    message = mail.outbox[-1]
    assert f"${statement.amount_due:,.2f}" in message.subject
    assert "Previous balance on Jul 31, 2019" in message.body and "Total amount due" in message.body
    account = message.body.split("Your account\n")[1].split("\n\nHow to pay")[0]
    amounts = [line for line in account.splitlines() if line.rstrip()[-1:].isdigit() and "$" in line]
    assert len(amounts) == 11 and {len(line) for line in amounts} == {72}  # one column of amounts
    assert "+20% of $" in account  # how the seasonal line was computed
    html = message.alternatives[0].content
    assert "Balance on your last bill" in html and f"${statement.amount_due:,.2f}" in html
    name, pdf, kind = message.attachments[0]
    assert (name, kind) == (f"{july.number}.pdf", "application/pdf") and pdf.startswith(b"%PDF")


def test_a_credit_on_the_account_says_nothing_is_due(noah, biller):
    issue(JUNE_2019, datetime.date(2019, 7, 1))
    june = bill_of(noah, JUNE_2019)
    payment_record(
        customer=noah,
        amount=june.total_amount + D("100"),
        paid_on=datetime.date(2019, 7, 5),
        method="check",
        confirm_credit=True,
        actor=biller,
    )
    issue(JULY_2019, datetime.date(2019, 8, 1))
    july = bill_of(noah, JULY_2019)
    text = squashed(page_text(pages_chars(render_bill_pdf(july))[0]))
    assert "Creditonyouraccount" in text and "nothingtopay" in text


def test_noahs_twelve_bills_print_without_a_single_collision(noah):
    """Issue 10.4: "Dec 31, 20259.51 CCF" - the service period ran into the usage on 7 of 12 bills."""
    periods = [add_months(datetime.date(2018, 9, 1), i) for i in range(12)]
    for period in periods:
        issue(period)
    for period in periods:
        pdf = render_bill_pdf(bill_of(noah, period))
        for number, chars in enumerate(pages_chars(pdf), start=1):
            assert collisions(chars) == [], f"{period:%Y-%m} page {number}"
    if os.environ.get("BILL_PDF_OUT"):  # BILL_PDF_OUT=/tmp/bill.pdf to look at one
        with open(os.environ["BILL_PDF_OUT"], "wb") as handle:
            handle.write(pdf)


def test_a_draft_prints_as_a_draft_with_no_account_section(noah):
    bill_run_compute(period=JULY_2019, actor_label="test", today=TODAY)
    draft = bill_of(noah, JULY_2019)
    text = squashed(page_text(pages_chars(render_bill_pdf(draft))[0]))
    assert "Draft(notissued)" in text and "Thisisadraft" in text and "Previousbalance" not in text


def test_the_envelope_shows_the_business_then_street_and_city_lines(db):
    customer = make_customer(
        "LOC-9", "Dana Diaz", business_name="Diaz Dental", mailing_address="12 Elm St, Suite 4, Plano, TX 75024"
    )
    assert address_lines(customer) == ("Diaz Dental", "12 Elm St", "Suite 4", "Plano, TX 75024")


def test_the_print_file_has_every_bill_from_a_new_page_in_the_order_given(db):
    people = [
        make_customer("300000003", "Carla Cruz", mailing_address="3 Oak St, Austin, TX 73301"),
        make_customer("300000001", "Ada Alvarez", mailing_address="1 Elm St, Dallas, TX 75201"),
        make_customer("300000002", "Ben Brooks " * 12, mailing_address="2 Pine St, Houston, TX 77001"),
    ]
    for customer in people:
        add_month(customer, JUNE_2019, "12.5")
        add_month(customer, JULY_2019, "14")
    issue(JUNE_2019, datetime.date(2019, 7, 1))
    issue(JULY_2019, datetime.date(2019, 8, 1))
    order = [bill_of(customer, JULY_2019).pk for customer in people]
    bills = sorted(documents_queryset(Bill.objects.filter(pk__in=order)), key=lambda b: order.index(b.pk))
    pdf, manifest = bills_print_file(bills)
    chars = pages_chars(pdf)
    assert [row["location_id"] for row in manifest] == ["300000003", "300000001", "300000002"]
    assert manifest[0]["first_page"] == 1
    for row, following in zip(manifest, [*manifest[1:], None], strict=True):
        if following:
            assert following["first_page"] == row["first_page"] + row["pages"]
    assert sum(row["pages"] for row in manifest) == len(chars)
    for row in manifest:
        first = chars[row["first_page"] - 1]
        block = RECIPIENT_BLOCK
        window = squashed(page_text(inside(first, block.x, block.y, block.right, block.bottom)))
        assert window.startswith(squashed(row["name"])[:20])
        assert f"Page1of{row['pages']}" in squashed(page_text(first))
        assert row["bill_number"] in squashed(page_text(first))
    assert manifest[1] == {
        "location_id": "300000001",
        "bill_number": bill_of(people[1], JULY_2019).number,
        "name": "Ada Alvarez",
        "mailing_address": "1 Elm St, Dallas, TX 75201",
        "first_page": manifest[0]["pages"] + 1,
        "pages": manifest[1]["pages"],
    }


def test_the_print_file_reads_a_fixed_number_of_queries_whatever_the_number_of_bills(db, django_assert_max_num_queries):
    customers = [make_customer(f"4000000{i:02d}", f"Customer {i}", cycle_number=1) for i in range(6)]
    for customer in customers:
        add_month(customer, JUNE_2019, "9")
        add_month(customer, JULY_2019, "11")
    issue(JULY_2019, datetime.date(2019, 8, 1))
    bills = list(documents_queryset(Bill.objects.filter(period=JULY_2019).order_by("customer__location_id")))
    # 13 grouped usage queries (one a month of the chart), 2 + 3 for the statements (billing.statements)
    with django_assert_max_num_queries(13 + 5):
        pdf, manifest = bills_print_file(bills)
    assert len(manifest) == 6 and pdf.startswith(b"%PDF")


def test_usage_histories_for_many_bills_match_each_bills_own_history(noah):
    for period in (JUNE_2019, JULY_2019):
        issue(period)
    bills = list(documents_queryset(Bill.objects.filter(customer=noah)))
    histories = usage_histories(bills)
    for bill in bills:
        assert histories[bill.pk] == usage_history(bill)


def test_the_bill_context_has_thirteen_months_of_history(noah):
    issue(JULY_2019)
    context = bill_document_context(bill_of(noah, JULY_2019))
    assert len(context["history"]) == 11  # the export starts in September 2018
    assert context["history"][-1][0] == JULY_2019
    assert context["doc"].usage_gallons == 9731  # 13.01 CCF x 748
    assert "<svg" in context["chart_svg"]


def test_a_cancelled_bill_prints_as_cancelled_and_its_page_says_so(noah, biller, client_for):
    from billing.rebilling import bill_cancel

    issue(JULY_2019, datetime.date(2019, 8, 1))
    july = bill_of(noah, JULY_2019)
    bill_cancel(bill=july, reason="meter misread", actor=biller, on=datetime.date(2019, 8, 5), today=TODAY)
    cancelled = bill_detail(Bill.objects.filter(pk=july.pk))
    with pdfplumber.open(io.BytesIO(render_bill_pdf(cancelled))) as document:
        assert "CANCELLED" in "".join(char["text"] for char in document.pages[0].chars)  # the watermark
    page = client_for(biller).get(reverse("billing:bill", args=[july.pk])).content.decode()
    assert '<span class="badge fs-6 text-bg-secondary">Cancelled</span>' in page
