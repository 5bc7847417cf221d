"""The bill PDF for a screen reader (issue 17): what fpdf2 can write (language, title shown by the viewer,
subject) and the reading order of page one, which is the order the text is drawn in (fpdf2 cannot tag text)."""

import datetime
import io

import pdfplumber
import pytest

from billing.documents import render_bill_pdf
from billing.models import Bill
from billing.selectors import bill_detail
from billing.services import bill_run_compute
from billing.tests.conftest import add_month

SEPTEMBER = datetime.date(2026, 9, 1)


@pytest.fixture
def pdf(alice_account):
    add_month(alice_account, datetime.date(2026, 8, 1), "9")
    add_month(alice_account, SEPTEMBER, "12")
    bill_run_compute(period=SEPTEMBER, issue=True, actor_label="test", today=datetime.date(2026, 10, 3))
    bill = Bill.objects.get(customer=alice_account, period=SEPTEMBER)
    return bill, pdfplumber.open(io.BytesIO(render_bill_pdf(bill_detail(Bill.objects.filter(pk=bill.pk)))))


def test_the_bill_pdf_names_its_language_subject_and_shows_its_title(pdf):
    bill, document = pdf
    catalog = document.doc.catalog
    assert catalog["Lang"] == b"en-US"
    preferences = catalog["ViewerPreferences"]
    assert getattr(preferences, "resolve", lambda: preferences)()["DisplayDocTitle"] is True
    assert document.metadata["Title"] == f"HydroSpark Water water bill {bill.number}"
    assert document.metadata["Subject"] == "Water bill for Alice Archer, September 2026"


def stream_text(page) -> str:
    """The page's text in the order it is drawn: the order a screen reader reads an untagged PDF."""
    return "".join(char["text"] for char in page.chars)


def test_page_one_reads_from_the_amount_due_down_to_the_stub(pdf):
    bill, document = pdf
    text = stream_text(document.pages[0])
    order = ["Water bill", "Amount due", "Your account", "Total amount due", "How to pay", "Please detach"]
    places = [text.index(words) for words in order]
    assert places == sorted(places), "page one is read out of order"
    assert text.index(bill.number) < text.index("Your account")  # the summary names the bill first
