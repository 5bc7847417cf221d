"""Issuing a whole period from the bill-run page asks first, with the count and the total (issue 10.7)."""

import datetime

import pytest
from django.urls import reverse

from billing.models import Bill
from billing.services import bill_run_compute
from conftest import make_customer

from .conftest import add_month

pytestmark = pytest.mark.django_db

JULY = datetime.date(2025, 7, 1)
ACT = reverse("billing:run_action")


@pytest.fixture
def drafts(alice_account, bob_account):
    """July drafts: Alice 8 CCF ($44.00: 20.00 × 1.2 + fees), Bob 25.5 CCF ($109.10)."""
    add_month(alice_account, JULY, "8")
    add_month(bob_account, JULY, "25.5")
    bill_run_compute(period=JULY, actor_label="test", today=datetime.date(2025, 8, 3))


def issue(client, **extra):
    return client.post(ACT, {"period": "2025-07", "cycles": "", "action": "issue", **extra})


def test_issuing_asks_first_with_the_count_and_the_total(biller, client_for, drafts):
    page = issue(client_for(biller))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Issue 2 final bills for July 2025?" in text
    assert "$153.10" in text  # 44.00 + 109.10
    assert 'name="confirm" value="2:153.10"' in text
    assert not Bill.objects.filter(status="issued").exists()


def test_the_confirmed_issue_issues_the_drafts(biller, client_for, drafts):
    response = issue(client_for(biller), confirm="2:153.10")
    assert response.status_code == 302
    assert Bill.objects.filter(status="issued").count() == 2


def test_drafts_that_changed_since_the_question_are_asked_about_again(biller, client_for, drafts):
    client = client_for(biller)
    add_month(make_customer("100000003", "Carol Chen"), JULY, "3")  # a late export, then someone recomputes
    bill_run_compute(period=JULY, actor_label="test", today=datetime.date(2025, 8, 3))
    page = issue(client, confirm="2:153.10")
    assert page.status_code == 200
    assert "The drafts changed since you looked" in page.content.decode()
    assert not Bill.objects.filter(status="issued").exists()


def test_nothing_to_issue_needs_no_question(biller, client_for, db):
    response = issue(client_for(biller))
    assert response.status_code == 302
