"""The bill run page's print button (a background print run), its downloads and the delivery report."""

import datetime

import pytest

from billing.models import BillRun, PrintFile
from billing.services import bill_run_compute
from conftest import make_customer

from .conftest import add_month

JULY = datetime.date(2025, 7, 1)


@pytest.fixture
def issued(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    for i, choice in enumerate(["paper", "email"]):
        customer = make_customer(f"50000000{i}", f"P{i}", billing_email=f"p{i}@example.com", bill_delivery=choice)
        add_month(customer, JULY, "8")
    bill_run_compute(period=JULY, issue=True, actor_label="test", today=datetime.date(2025, 8, 3))


def test_billing_prints_from_the_run_page_and_downloads_the_file(
    client_for, biller, issued, django_capture_on_commit_callbacks
):
    client = client_for(biller)
    with django_capture_on_commit_callbacks(execute=True):  # the worker's part, run here
        response = client.post("/staff/billing/runs/act/", {"period": "2025-07", "cycles": "", "action": "print"})
    run = BillRun.objects.get(action="print")
    assert response.status_code == 302 and run.status == "done"
    printed = PrintFile.objects.get()
    assert (printed.run, printed.bills) == (run, 1)
    page = client.get(f"/staff/billing/runs/{run.pk}/").content.decode()
    assert "Download the print file" in page and "1 printed" in page and "1 reached nobody" in page
    pdf = client.get(f"/staff/billing/print-files/{printed.pk}/bills.pdf")
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content)[:4] == b"%PDF"
    manifest = b"".join(client.get(f"/staff/billing/print-files/{printed.pk}/manifest.csv").streaming_content)
    assert manifest.startswith(b"location_id,bill_number,name,mailing_address,first_page,pages")


def test_the_run_page_shows_the_periods_delivery_report(client_for, biller, issued):
    page = client_for(biller).get("/staff/billing/runs/?period=2025-07").content.decode()
    assert "2 issued · 0 emailed · 0 printed" in page and "2 reached nobody" in page
    assert 'value="print"' in page


def test_only_billing_prints_and_downloads(client_for, support, issued):
    client = client_for(support)
    assert client.post("/staff/billing/runs/act/", {"period": "2025-07", "action": "print"}).status_code == 403
    assert client.get("/staff/billing/print-files/1/bills.pdf").status_code == 403
