"""Sending bills (SPEC §2): HTML + text + PDF, recorded, never twice unless asked."""

import datetime

import pytest
from django.core import mail
from django.core.management import call_command

from billing.models import Bill
from billing.services import bill_run_compute, bill_send, bills_send
from conftest import make_customer

from .conftest import add_month

JULY = datetime.date(2025, 7, 1)


@pytest.fixture
def issued(alice_account, bob_account):
    nobody = make_customer("100000009", "No Login")
    for customer in (alice_account, bob_account, nobody):
        add_month(customer, JULY, "12")
    bill_run_compute(period=JULY, issue=True, actor_label="test", today=datetime.date(2025, 8, 3))
    return Bill.objects.order_by("customer__location_id")


def test_each_issued_bill_is_emailed_with_html_text_and_pdf(issued, alice_account):
    report = bills_send(period=JULY, actor_label="test")
    assert len(report.sent) == 2
    message = next(m for m in mail.outbox if m.to == ["alice@example.com"])
    assert "July 2025" in message.subject
    assert "$57.20" in message.body  # 12 CCF in July: (25.00 + 6.00) x 1.2 + 20.00
    assert message.alternatives[0].mimetype == "text/html"
    name, content, mimetype = message.attachments[0]
    assert (mimetype, content[:4]) == ("application/pdf", b"%PDF")
    bill = Bill.objects.get(customer=alice_account)
    assert bill.sent_at is not None and bill.sent_to == "alice@example.com"


def test_customers_without_an_email_are_listed(issued):
    report = bills_send(period=JULY, actor_label="test")
    assert [b.customer.location_id for b in report.without_email] == ["100000009"]


def test_a_bill_is_never_sent_twice_unless_asked(issued):
    bills_send(period=JULY, actor_label="test")
    again = bills_send(period=JULY, actor_label="test")
    assert (len(again.sent), again.already_sent, len(mail.outbox)) == (0, 2, 2)
    resent = bills_send(period=JULY, resend=True, actor_label="test")
    assert len(resent.sent) == 2 and len(mail.outbox) == 4


def test_a_double_click_sends_once(issued, alice_account, biller):
    bill = Bill.objects.get(customer=alice_account)
    first = bill_send(bill=bill, actor=biller)
    second = bill_send(bill=bill, actor=biller)  # the stale object still says "not sent"
    assert (len(first.sent), second.already_sent, len(mail.outbox)) == (1, 1, 1)


def test_customers_who_turned_bill_emails_off_get_none(issued, bob_account):
    bob_account.bill_delivery = "paper"
    bob_account.save()
    report = bills_send(period=JULY, actor_label="test")
    assert [b.customer_id for b in report.opted_out] == [bob_account.pk]
    assert all(m.to != ["bob@example.com"] for m in mail.outbox)


def test_send_bills_command_sends_and_summarises(issued, capsys):
    call_command("send_bills", "--period", "2025-07")
    out = capsys.readouterr().out
    assert "2 sent" in out and "100000009" in out
    assert len(mail.outbox) == 2


def test_sending_is_audited(issued):
    from accounts.models import AuditEvent

    bills_send(period=JULY, actor_label="command send_bills")
    assert AuditEvent.objects.filter(action="bill.send").count() == 2
