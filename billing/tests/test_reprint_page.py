"""The bill run page's reprint (Billing only): it asks first, then prints every paper bill again, the ones
printed before included; the plain print still prints only the ones not printed yet."""

import datetime

import pytest

from billing.models import BillDelivery, BillRun, PrintFile
from billing.services import bill_run_compute
from conftest import make_customer

from .conftest import add_month

JULY = datetime.date(2025, 7, 1)
ACT = "/staff/billing/runs/act/"
REPRINT = {"period": "2025-07", "cycles": "", "action": "print", "reprint": "1"}


@pytest.fixture
def printed(db, settings, tmp_path, client_for, biller, django_capture_on_commit_callbacks):
    """July issued to two paper customers, both printed once from the run page."""
    settings.MEDIA_ROOT = tmp_path
    for i in range(2):
        add_month(make_customer(f"60000000{i}", f"Paper {i}", bill_delivery="paper"), JULY, "8")
    bill_run_compute(period=JULY, issue=True, actor_label="test", today=datetime.date(2025, 8, 3))
    with django_capture_on_commit_callbacks(execute=True):
        client_for(biller).post(ACT, {"period": "2025-07", "cycles": "", "action": "print"})
    assert PrintFile.objects.get().bills == 2


def test_the_run_page_offers_a_reprint_once_bills_were_printed(client_for, biller, printed):
    page = client_for(biller).get("/staff/billing/runs/?period=2025-07").content.decode()
    assert "Reprint every paper bill" in page and 'name="reprint" value="1"' in page


def test_a_reprint_asks_first_and_prints_nothing_until_confirmed(client_for, biller, printed):
    response = client_for(biller).post(ACT, REPRINT)
    page = response.content.decode()
    assert response.status_code == 200 and "Reprint July 2025’s paper bills?" in page
    assert "Yes, reprint 2 bills" in page and "including\n      the 2 already printed" in page
    assert PrintFile.objects.count() == 1 and BillRun.objects.filter(action="print").count() == 1


def test_a_confirmed_reprint_prints_the_bills_printed_before_again(
    client_for, biller, printed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(biller).post(ACT, {**REPRINT, "confirm": "reprint"})
    again = PrintFile.objects.latest("pk")
    assert response.status_code == 302 and again.reprint and again.bills == 2
    assert BillDelivery.objects.filter(channel="paper", status="printed").count() == 4


def test_printing_again_without_reprint_prints_nothing_new(
    client_for, biller, printed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client_for(biller).post(ACT, {"period": "2025-07", "cycles": "", "action": "print"})
    assert PrintFile.objects.count() == 1


@pytest.mark.parametrize("who", ["ops", "support"])
def test_only_billing_reprints(client_for, request, printed, who):
    client = client_for(request.getfixturevalue(who))
    assert client.post(ACT, {**REPRINT, "confirm": "reprint"}).status_code == 403
    assert PrintFile.objects.count() == 1
