"""The bill documents: PDF, HTML partial and what they print."""

import datetime
import os
from decimal import Decimal as D

from billing.documents import bill_document_context, render_bill_pdf
from billing.models import Bill
from billing.selectors import bill_detail
from billing.services import bill_run_compute, payment_record

JULY_2019 = datetime.date(2019, 7, 1)


def issued_bill(customer, period):
    bill_run_compute(period=period, issue=True, actor_label="test", today=datetime.date(2025, 1, 1))
    return bill_detail(Bill.objects.filter(customer=customer, period=period))


def test_the_pdf_is_a_pdf_with_the_bill_number(noah, biller):
    bill = issued_bill(noah, JULY_2019)
    payment_record(bill=bill, amount=D("10.00"), paid_on=datetime.date(2019, 8, 20), method="card", actor=biller)
    bill = bill_detail(Bill.objects.filter(pk=bill.pk))
    pdf = render_bill_pdf(bill)
    assert pdf.startswith(b"%PDF")
    if os.environ.get("BILL_PDF_OUT"):
        with open(os.environ["BILL_PDF_OUT"], "wb") as handle:
            handle.write(pdf)


def test_the_bill_context_has_thirteen_months_of_history(noah):
    bill = issued_bill(noah, JULY_2019)
    context = bill_document_context(bill)
    assert len(context["history"]) == 11  # the export starts in September 2018
    assert context["history"][-1][0] == JULY_2019
    assert context["usage_gallons"] == 9731  # 13.01 CCF x 748
    assert "<svg" in context["chart_svg"]


def test_a_paid_bill_says_paid_in_full(noah, biller, client_for):
    from django.urls import reverse

    bill = issued_bill(noah, JULY_2019)
    payment_record(bill=bill, amount=bill.total_amount, paid_on=datetime.date(2019, 8, 20), method="card", actor=biller)
    bill = bill_detail(Bill.objects.filter(pk=bill.pk))
    assert render_bill_pdf(bill).startswith(b"%PDF")
    assert "Paid in full" in client_for(biller).get(reverse("billing:bill", args=[bill.pk])).content.decode()
