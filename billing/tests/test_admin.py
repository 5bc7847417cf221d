"""Bills, payments and runs in the admin (issue 7): payment status at a glance without a query per bill,
and Billing's actions going through the same services as the pages; other roles only look (SPEC §5)."""

import datetime
from decimal import Decimal as D

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import AuditEvent
from billing import admin as billing_admin
from billing.models import Bill, BillRun, Payment
from billing.services import bill_run_compute, bill_send, payment_record
from conftest import make_customer

from .conftest import add_month

pytestmark = pytest.mark.django_db

JULY = datetime.date(2025, 7, 1)
AUGUST_3 = datetime.date(2025, 8, 3)
BILLS = reverse("admin:billing_bill_changelist")


def compute(period=JULY, issue=False, today=AUGUST_3):
    bill_run_compute(period=period, issue=issue, actor_label="test", today=today)


def act(client, action, bills, url=BILLS, **data):
    data = {"action": action, "_selected_action": [b.pk for b in bills], **data}
    return client.post(url, data, follow=True)


def confirmed(client, action, bills):
    """An action that asks first (issuing), answered yes."""
    return act(client, action, bills, confirmed="yes")


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def drafts(alice_account, bob_account):
    """July drafts for Alice (12 CCF) and Bob (25.5 CCF)."""
    add_month(alice_account, JULY, "12")
    add_month(bob_account, JULY, "25.5")
    compute()
    return list(Bill.objects.order_by("customer__location_id"))


@pytest.fixture
def issued(drafts):
    compute(issue=True)
    return list(Bill.objects.order_by("customer__location_id"))


# --- What every role sees -------------------------------------------------------------------------


def test_the_bill_list_shows_payment_status_and_open_balance(client_for, support, issued, biller):
    alice_bill = issued[0]  # 12 CCF in July: $57.20
    payment_record(
        customer=alice_bill.customer, amount="20.00", paid_on=datetime.date(2025, 8, 5), method="card", actor=biller
    )
    with time_machine.travel(datetime.datetime(2025, 8, 10, 12, tzinfo=datetime.UTC), tick=False):
        html = client_for(support).get(BILLS).content.decode()
    assert "Partially paid" in html and "$37.20" in html
    assert "Unpaid" in html and "$109.10" in html  # Bob: 25.5 CCF in July, nothing paid yet


def test_the_bill_list_filters_by_payment_status_including_overdue(client_for, ops, issued, biller):
    alice_bill, bob_bill = issued
    payment_record(
        customer=alice_bill.customer, amount="57.20", paid_on=datetime.date(2025, 8, 5), method="card", actor=biller
    )
    client = client_for(ops)
    overdue = client.get(BILLS, {"payment": "overdue"}).content.decode()  # today is long after Aug 24, 2025
    paid = client.get(BILLS, {"payment": "paid"}).content.decode()
    assert bob_bill.number in overdue and alice_bill.number not in overdue
    assert alice_bill.number in paid and bob_bill.number not in paid


def test_the_bill_list_costs_the_same_queries_for_3_bills_as_for_30(client_for, biller):
    def page_queries() -> int:
        client = client_for(biller)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(BILLS).status_code == 200
        return len(queries)

    customers = [make_customer(f"2000000{i:02d}", f"Customer {i}") for i in range(30)]
    for customer in customers[:3]:
        add_month(customer, JULY, "10")
    compute(issue=True)
    first = Bill.objects.first()
    payment_record(customer=first.customer, amount="5.00", paid_on=AUGUST_3, method="cash", actor=biller)
    few = page_queries()
    for customer in customers[3:]:
        add_month(customer, JULY, "10")
    compute()  # 27 more drafts: the list mixes drafts and issued bills
    assert Bill.objects.count() == 30
    assert page_queries() == few


def test_bills_are_found_by_number_or_by_their_customer(client_for, support, issued):
    alice_bill, bob_bill = issued
    client = client_for(support)
    by_number = client.get(BILLS, {"q": bob_bill.number.lower()}).content.decode()
    assert bob_bill.number in by_number and alice_bill.number not in by_number
    for term in ("100000001", "Alice", "alice@example.com"):
        html = client.get(BILLS, {"q": term}).content.decode()
        assert alice_bill.number in html and bob_bill.number not in html, term


def test_bills_filter_by_one_of_the_recent_periods_or_earlier(client_for, support, issued):
    client = client_for(support)
    with time_machine.travel(datetime.datetime(2025, 8, 10, 12, tzinfo=datetime.UTC), tick=False):
        july = client.get(BILLS, {"period": "2025-07"}).content.decode()
        june = client.get(BILLS, {"period": "2025-06"}).content.decode()
    assert "July 2025" in july and "August 2024" in july and "July 2024" not in july  # 13 periods offered
    assert issued[0].number in july and issued[1].number in july
    assert issued[0].number not in june
    with time_machine.travel(datetime.datetime(2026, 9, 10, 12, tzinfo=datetime.UTC), tick=False):
        assert issued[0].number in client.get(BILLS, {"period": "earlier"}).content.decode()


def test_payments_list_with_their_customer_searchable_by_location_id(client_for, support, issued, biller):
    payment_record(
        customer=issued[1].customer, amount="9.10", paid_on=AUGUST_3, method="check", reference="CHK 881", actor=biller
    )
    client = client_for(support)
    url = reverse("admin:billing_payment_changelist")
    html = client.get(url, {"q": "100000002"}).content.decode()
    assert "Bob Brown (100000002)" in html and "CHK 881" in html
    assert "CHK 881" not in client.get(url, {"q": "100000001"}).content.decode()
    in_august = {"paid_on__gte": "2025-08-01", "paid_on__lte": "2025-08-31"}
    assert "CHK 881" in client.get(url, in_august).content.decode()
    assert "CHK 881" not in client.get(url, {"paid_on__gte": "2025-08-04"}).content.decode()


def test_bill_runs_filter_and_drill_down_by_date(client_for, ops, issued):
    run = BillRun.objects.first()
    url = reverse("admin:billing_billrun_changelist")
    client = client_for(ops)
    on_the_day = {"created_at__year": run.created_at.year, "created_at__month": run.created_at.month}
    assert f"/{run.pk}/change/" in client.get(url, on_the_day).content.decode()
    assert f"/{run.pk}/change/" not in client.get(url, {"created_at__year": 2001}).content.decode()
    assert f"/{run.pk}/change/" in client.get(url, {"created_at__gte": "2000-01-01 00:00:00+00:00"}).content.decode()


# --- Billing's actions ------------------------------------------------------------------------------


def test_billing_issues_selected_drafts_through_the_bill_run_service(client_for, biller, drafts):
    alice_draft, bob_draft = drafts
    response = confirmed(client_for(biller), "issue_drafts", [bob_draft])
    assert "July 2025: issued 1 of 1 selected draft(s), due in 21 days." in texts(response)
    bob_draft.refresh_from_db()
    alice_draft.refresh_from_db()
    assert bob_draft.number == "HS-202507-000001"
    assert bob_draft.due_date == bob_draft.issue_date + datetime.timedelta(days=21)
    assert not alice_draft.is_issued
    run = BillRun.objects.get(action=BillRun.Action.ISSUE)
    assert (run.bills_issued, run.requested_by) == (1, biller)
    event = AuditEvent.objects.get(action="billing.issue")
    assert event.actor == biller and event.changes["bill_ids"] == [bob_draft.pk]


def test_issuing_from_the_admin_asks_first_with_the_count_and_total(client_for, biller, drafts):
    response = act(client_for(biller), "issue_drafts", drafts)
    page = response.content.decode()
    total = sum(bill.total_amount for bill in drafts)
    assert "Issue 2 drafts" in page and f"${total:.2f} in all" in page and 'name="confirmed" value="yes"' in page
    assert not Bill.objects.issued().exists()


def test_issuing_names_the_bills_already_issued_and_leaves_them_alone(client_for, biller, issued, alice_account):
    before = {b.pk: (b.number, b.issue_date) for b in issued}
    response = confirmed(client_for(biller), "issue_drafts", issued)
    assert any("2 selected bill(s) were already issued" in t and issued[0].number in t for t in texts(response))
    assert {b.pk: (b.number, b.issue_date) for b in Bill.objects.all()} == before
    assert not BillRun.objects.filter(action=BillRun.Action.ISSUE, requested_by=biller).exists()


def test_issuing_a_period_that_is_not_over_is_refused_with_the_first_allowed_day(client_for, biller, alice_account):
    with time_machine.travel(datetime.datetime(2025, 7, 20, 12, tzinfo=datetime.UTC), tick=False):
        add_month(alice_account, JULY, "6", days=19)
        compute(today=datetime.date(2025, 7, 20))
        response = confirmed(client_for(biller), "issue_drafts", Bill.objects.all())
    assert any("July 2025 is not over yet" in t and "2025-08-01" in t for t in texts(response))
    assert not Bill.objects.issued().exists()


def test_billing_sends_selected_bills_and_is_told_which_were_refused_and_why(client_for, biller, issued):
    alice_bill, bob_bill = issued
    nobody = make_customer("100000009", "No Login")
    add_month(nobody, JULY, "3")
    compute()  # a draft for the customer without a login
    bill_send(bill=bob_bill, actor=biller)  # Bob's was sent before
    mail.outbox.clear()
    draft = Bill.objects.get(customer=nobody)
    response = act(client_for(biller), "send_bills", [alice_bill, bob_bill, draft])
    messages = texts(response)
    assert f"Emailed 1 bill(s): {alice_bill.number}." in messages
    assert any("were sent before" in t and bob_bill.number in t for t in messages)
    assert any("are drafts: issue them first" in t and "No Login" in t for t in messages)
    assert [m.to for m in mail.outbox] == [["alice@example.com"]]
    sent = AuditEvent.objects.filter(action="bill.send", actor=biller).values_list("target_id", flat=True)
    assert sorted(sent) == sorted([str(alice_bill.pk), str(bob_bill.pk)])


def test_bills_of_customers_without_an_email_or_with_emails_off_are_not_sent(client_for, biller, issued, bob_account):
    bob_account.bill_delivery = "paper"
    bob_account.save()
    nobody = make_customer("100000009", "No Login")
    add_month(nobody, JULY, "3")
    compute(issue=True)
    response = act(client_for(biller), "send_bills", Bill.objects.exclude(customer__location_id="100000001"))
    messages = texts(response)
    assert any("without a billing email" in t and "No Login" in t for t in messages)
    assert any("chose paper only" in t and "Bob Brown" in t for t in messages)
    assert mail.outbox == [] and not Bill.objects.filter(sent_at__isnull=False).exists()


def test_sending_too_many_at_once_points_to_the_bill_run_page(client_for, biller, issued, monkeypatch):
    monkeypatch.setattr(billing_admin, "SEND_LIMIT", 1)
    response = act(client_for(biller), "send_bills", issued)
    assert any("select at most 1 bills" in t and reverse("billing:runs") in t for t in texts(response))
    assert mail.outbox == []


def test_billing_issues_and_sends_one_bill_from_its_admin_page(client_for, biller, drafts):
    client = client_for(biller)
    bill = drafts[0]
    url = reverse("admin:billing_bill_change", args=[bill.pk])
    html = client.get(url).content.decode()
    assert "Issue this draft" in html and "Send this bill by email" in html
    asked = client.post(url, {"CHANGE_FORM-action": "issue_drafts", "_selected_action": [bill.pk]})
    assert "Issue 1 draft," in asked.content.decode() and not Bill.objects.issued().exists()
    confirmed(client, "issue_drafts", [bill])  # the question's answer goes to the list's action
    client.post(url, {"CHANGE_FORM-action": "send_bills", "_selected_action": [bill.pk]})
    bill.refresh_from_db()
    assert bill.is_issued and bill.sent_to == "alice@example.com" and len(mail.outbox) == 1


@pytest.mark.parametrize("role", ["ops", "support"])
def test_other_roles_neither_see_nor_can_run_the_actions(client_for, request, role, drafts):
    client = client_for(request.getfixturevalue(role))
    html = client.get(BILLS).content.decode()
    assert html.count(drafts[0].customer.name) == 1  # they do see the list
    assert "issue_drafts" not in html and "send_bills" not in html
    change = client.get(reverse("admin:billing_bill_change", args=[drafts[0].pk])).content.decode()
    assert "Issue this draft" not in change
    for action in ("issue_drafts", "send_bills"):
        act(client, action, drafts)
    assert not Bill.objects.issued().exists() and mail.outbox == []
    assert not AuditEvent.objects.filter(action__in=["billing.issue", "bill.send"]).exists()


def test_payments_recorded_in_the_admin_still_refuse_more_than_the_balance(client_for, biller, issued):
    url = reverse("admin:billing_payment_add")
    data = {"customer": issued[0].customer_id, "amount": "57.21", "paid_on": "2025-08-05", "method": "card"}
    html = client_for(biller).post(url, data).content.decode()
    assert "more than the account&#x27;s balance of $57.20" in html
    assert not Payment.objects.exists()
    data["amount"] = "57.20"
    client_for(biller).post(url, data)
    assert Payment.objects.get().amount == D("57.20")
