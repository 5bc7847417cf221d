"""Sending bills against a real SMTP conversation (issue 11.1, SPEC §2b): a bill is marked sent only once the
mail server accepted it; refusals, hung servers and killed senders leave it unsent, recorded, and on paper."""

import datetime
import time

import pytest
from django.utils import timezone

from accounts.models import AuditEvent
from billing.delivery import STALE_SENDING, bills_for_paper
from billing.models import Bill, BillDelivery
from billing.services import bill_run_compute, bills_send

from .conftest import add_month
from .fake_smtp import FakeSMTP, closed_port

JULY = datetime.date(2025, 7, 1)
SMTP = "django.core.mail.backends.smtp.EmailBackend"


@pytest.fixture
def issued(alice_account, bob_account):
    for customer in (alice_account, bob_account):
        add_month(customer, JULY, "12")
    bill_run_compute(period=JULY, issue=True, actor_label="test", today=datetime.date(2025, 8, 3))
    return Bill.objects.order_by("customer__location_id")


@pytest.fixture
def smtp_server(settings):
    """smtp_server(mode) -> a FakeSMTP that the default mailer talks to (timeout 1 s)."""
    servers = []

    def start(mode: str, timeout: float | None = 1.0):
        server = FakeSMTP(mode)
        servers.append(server)
        options = {"host": "127.0.0.1", "port": server.port, **({"timeout": timeout} if timeout else {})}
        settings.MAILERS = {"default": {"BACKEND": SMTP, "OPTIONS": options}}
        return server

    yield start
    for server in servers:
        server.close()


def statuses():
    return sorted(BillDelivery.objects.values_list("bill__customer__location_id", "status"))


def test_a_bill_accepted_by_the_mail_server_is_marked_sent(issued, smtp_server):
    server = smtp_server("accept")
    report = bills_send(period=JULY, actor_label="test")
    assert len(report.sent) == 2 and len(server.messages) == 2
    assert b"alice@example.com" in b"".join(server.messages)
    assert statuses() == [("100000001", "sent"), ("100000002", "sent")]
    assert Bill.objects.filter(sent_at__isnull=False).count() == 2


def test_a_refused_address_is_recorded_not_sent_and_goes_to_print(issued, smtp_server):
    smtp_server("refuse")
    report = bills_send(period=JULY, actor_label="test")
    assert len(report.failed) == 2 and "address refused" in report.failed[0][1] and "550" in report.failed[0][1]
    assert Bill.objects.filter(sent_at__isnull=False).count() == 0
    failure = BillDelivery.objects.filter(status="failed").first()
    assert failure.channel == "email" and "No such user" in failure.error and failure.finished_at
    assert AuditEvent.objects.filter(action="bill.send_failed").count() == 2
    assert sorted(bills_for_paper(period=JULY)) == sorted(issued.values_list("pk", flat=True))


def test_a_server_that_never_answers_times_out_and_marks_nothing_sent(issued, smtp_server):
    smtp_server("silent")
    started = time.monotonic()
    report = bills_send(period=JULY, actor_label="test")
    assert time.monotonic() - started < 10  # two bills, a one-second timeout each: it does not hang
    assert [reason for _bill, reason in report.failed] == ["the mail server did not answer in time"] * 2
    assert Bill.objects.filter(sent_at__isnull=False).count() == 0
    assert statuses() == [("100000001", "failed"), ("100000002", "failed")]


def test_the_timeout_setting_applies_when_the_mailer_has_none(issued, smtp_server, settings):
    smtp_server("silent", timeout=None)
    settings.MAIL_TIMEOUT = 0.5
    started = time.monotonic()
    report = bills_send(period=JULY, actor_label="test")
    assert time.monotonic() - started < 5 and len(report.failed) == 2


def test_a_run_stops_trying_a_dead_server_and_leaves_the_rest_for_the_next_run(db, smtp_server, settings):
    from conftest import make_customer

    for i in range(5):
        add_month(make_customer(f"30000000{i}", f"Person {i}", f"p{i}@example.com"), JULY, "5")
    bill_run_compute(period=JULY, issue=True, actor_label="test", today=datetime.date(2025, 8, 3))
    settings.MAILERS = {"default": {"BACKEND": SMTP, "OPTIONS": {"host": "127.0.0.1", "port": closed_port()}}}
    report = bills_send(period=JULY, actor_label="test")
    assert (len(report.failed), report.not_attempted) == (3, 2)
    assert "refused the connection" in report.stopped and "stopped with 2 not tried" in report.summary()


def test_failed_bills_are_retried_by_the_next_run(issued, smtp_server):
    smtp_server("refuse")
    bills_send(period=JULY, actor_label="test")
    server = smtp_server("accept")
    report = bills_send(period=JULY, actor_label="test")
    assert len(report.sent) == 2 and len(server.messages) == 2
    assert bills_for_paper(period=JULY) == []  # emailed in the end: nothing left for paper


def test_a_sender_killed_mid_send_leaves_the_bill_unsent_and_a_later_run_sends_it(issued, smtp_server, monkeypatch):
    server = smtp_server("accept")

    def killed(self, messages):
        raise KeyboardInterrupt  # what kill does to a worker: nothing after this line runs

    monkeypatch.setattr("django.core.mail.backends.smtp.EmailBackend.send_messages", killed)
    with pytest.raises(KeyboardInterrupt):
        bills_send(period=JULY, actor_label="test")
    monkeypatch.undo()
    assert Bill.objects.filter(sent_at__isnull=False).count() == 0
    assert statuses() == [("100000001", "sending")]
    # A run right after sends Bob's but not a second copy of Alice's while her sender might still be talking...
    again = bills_send(period=JULY, actor_label="test")
    assert (again.already_sent, [b.customer.location_id for b in again.sent]) == (1, ["100000002"])
    # ...but once that claim is stale, Alice's is sent and the old claim is recorded as interrupted.
    BillDelivery.objects.filter(status="sending").update(started_at=timezone.now() - STALE_SENDING * 2)
    report = bills_send(period=JULY, actor_label="test")
    assert [b.customer.location_id for b in report.sent] == ["100000001"] and len(server.messages) == 2
    assert BillDelivery.objects.filter(status="failed", error__startswith="interrupted").count() == 1
