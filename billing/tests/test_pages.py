"""Staff billing pages (SPEC §5): only Billing runs, issues, sends and records payments; staff view bills."""

import datetime
from decimal import Decimal as D

import pytest
from django.core import mail
from django.urls import reverse

from billing.models import Bill, BillRun, Payment
from billing.services import bill_run_compute

from .conftest import add_month

JULY = datetime.date(2025, 7, 1)


@pytest.fixture
def issued_bill(alice_account):
    add_month(alice_account, JULY, "25.5")
    bill_run_compute(period=JULY, issue=True, actor_label="test", today=datetime.date(2025, 8, 3))
    return Bill.objects.get()


def test_only_billing_reaches_the_bill_run_page(people, client_for):
    url = reverse("billing:runs")
    expected = {"anonymous": 302, "operations": 403, "billing": 200, "support": 403, "customer": 403}
    assert {role: client_for(user).get(url).status_code for role, user in people.items()} == expected


def test_every_staff_role_sees_bills_but_customers_do_not(people, client_for, issued_bill):
    for url in (reverse("billing:bills"), reverse("billing:bill", args=[issued_bill.pk])):
        codes = {role: client_for(user).get(url).status_code for role, user in people.items()}
        assert codes == {"anonymous": 302, "operations": 200, "billing": 200, "support": 200, "customer": 403}


@pytest.mark.parametrize("role", ["ops", "support", "alice"])
def test_other_roles_cannot_run_issue_send_or_record_payments(role, request, client_for, issued_bill):
    client = client_for(request.getfixturevalue(role))
    posts = [
        (reverse("billing:run_action"), {"period": "2025-07", "cycles": "", "action": "compute"}),
        (reverse("billing:run_action"), {"period": "2025-07", "cycles": "", "action": "issue"}),
        (reverse("billing:bill_send", args=[issued_bill.pk]), {}),
        (
            reverse("billing:payment_add", args=[issued_bill.pk]),
            {"amount": "10", "paid_on": "2025-08-10", "method": "card"},
        ),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403
    assert not Payment.objects.exists() and not mail.outbox and BillRun.objects.count() == 1


def test_billing_computes_and_issues_from_the_page(biller, client_for, alice_account):
    add_month(alice_account, JULY, "8")
    client = client_for(biller)
    client.post(reverse("billing:run_action"), {"period": "2025-07", "cycles": "", "action": "compute"})
    assert Bill.objects.get().status == "draft"
    page = client.get(reverse("billing:runs"), {"period": "2025-07"})
    assert page.status_code == 200 and b"Issue 1 draft" in page.content
    confirm = client.post(reverse("billing:run_action"), {"period": "2025-07", "cycles": "", "action": "issue"})
    assert Bill.objects.get().status == "draft"  # the page asks first (issue 10.7)
    client.post(
        reverse("billing:run_action"),
        {"period": "2025-07", "cycles": "", "action": "issue", "confirm": confirm.context["expected"]},
    )
    assert Bill.objects.get().status == "issued"


def test_sending_from_the_page_goes_through_the_worker_and_reports(
    biller, client_for, issued_bill, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(biller).post(
            reverse("billing:run_action"), {"period": "2025-07", "cycles": "", "action": "send"}
        )
    run = BillRun.objects.get(action="send")
    assert response.url == reverse("billing:run", args=[run.pk])
    assert (run.status, run.bills_sent, len(mail.outbox)) == ("done", 1, 1)


def test_the_preview_flags_a_bill_far_above_the_usual(biller, client_for, alice_account):
    for month, usage in ((4, "5"), (5, "6"), (6, "5.5")):
        add_month(alice_account, datetime.date(2025, month, 1), usage)
        bill_run_compute(period=datetime.date(2025, month, 1), actor_label="test")
    add_month(alice_account, JULY, "40")
    bill_run_compute(period=JULY, actor_label="test")
    page = client_for(biller).get(reverse("billing:runs"), {"period": "2025-07"})
    assert "7.3× the usual 5.50 CCF" in page.content.decode()


def test_a_payment_from_the_bill_page_is_recorded(biller, client_for, issued_bill):
    client = client_for(biller)
    client.post(
        reverse("billing:payment_add", args=[issued_bill.pk]),
        {"amount": "100.00", "paid_on": "2025-08-10", "method": "check", "reference": "1042"},
    )
    assert Payment.objects.get().amount == D("100.00")


def test_an_overpayment_from_the_page_is_refused_with_a_clear_message(biller, client_for, issued_bill):
    client = client_for(biller)
    response = client.post(
        reverse("billing:payment_add", args=[issued_bill.pk]),
        {"amount": "200.00", "paid_on": "2025-08-10", "method": "card", "next": "/staff/"},
        follow=True,
    )
    assert "more than the account&#x27;s balance of $109.10" in response.content.decode()
    assert not Payment.objects.exists()


def test_an_overpayment_confirmed_as_a_credit_is_recorded_on_the_account(biller, client_for, issued_bill):
    client = client_for(biller)
    data = {"amount": "200.00", "paid_on": "2025-08-10", "method": "card", "confirm_credit": "on"}
    client.post(reverse("billing:payment_add", args=[issued_bill.pk]), data)
    payment = Payment.objects.get()
    assert (payment.customer, payment.amount, payment.ledger_entry.amount) == (
        issued_bill.customer, D("200.00"), D("-200.00")
    )


def test_the_bill_page_offers_the_bills_open_amount(biller, client_for, issued_bill):
    page = client_for(biller).get(reverse("billing:bill", args=[issued_bill.pk])).content.decode()
    assert 'name="amount" value="109.10"' in page and 'name="confirm_credit"' in page


def test_the_bill_page_and_pdf_render(biller, client_for, issued_bill):
    client = client_for(biller)
    page = client.get(reverse("billing:bill", args=[issued_bill.pk])).content.decode()
    assert "Summer surcharge (July)" in page and "$109.10" in page and "19,074 gallons" in page
    assert "20% of $74.25" in page and "$14.85" in page and "××" not in page  # the extra 20%, not ×1.2
    pdf = client.get(reverse("billing:bill_pdf", args=[issued_bill.pk]))
    assert pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")


def test_the_bill_list_filters_by_payment_status(biller, client_for, issued_bill):
    client = client_for(biller)
    assert issued_bill.number in client.get(reverse("billing:bills"), {"payment": "overdue"}).content.decode()
    assert issued_bill.number not in client.get(reverse("billing:bills"), {"payment": "paid"}).content.decode()


def test_the_bill_list_runs_a_fixed_number_of_queries(biller, client_for, issued_bill, django_assert_max_num_queries):
    client = client_for(biller)
    with django_assert_max_num_queries(8):
        client.get(reverse("billing:bills"))
