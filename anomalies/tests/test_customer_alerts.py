"""Customers who asked for usage alerts get one email per incident they are told of (SPEC §3a) from this week."""

import datetime

import pytest
from django.core import mail
from django.utils import timezone

from anomalies.services import anomalies_detect
from anomalies.tests.factories import store_reads
from conftest import make_customer

pytestmark = pytest.mark.django_db


def reads_with_a_spike(customer, *, days_ago: int, spike: float = 6.0):
    """40 ordinary days (0.45 CCF a day: a typical month of about 14 CCF) ending yesterday, with one high day
    `days_ago` days before today: 6 CCF is about 5.5 CCF above usual, more than a quarter of a month."""
    today = timezone.localdate()
    start = today - datetime.timedelta(days=40)
    usages = [0.4, 0.5] * 20
    usages[40 - days_ago] = spike
    store_reads(customer, start, usages)
    return today - datetime.timedelta(days=days_ago)


def test_a_customer_with_alerts_on_gets_one_email_about_a_recent_unusual_day(alice_account):
    day = reads_with_a_spike(alice_account, days_ago=2)
    anomalies_detect(methods=["zscore", "rolling"])
    [message] = [m for m in mail.outbox if m.to == ["alice@example.com"]]
    assert message.subject == "HydroSpark: unusually high water use"
    assert f"Unusually high use on {day.day} {day:%B}: 5." in message.body and " CCF more than usual" in message.body
    assert "about $" in message.body and "watch the meter for 15 minutes" in message.body
    assert "/portal/" in message.body and "/portal/profile/" in message.body
    assert "Unusually high use" in message.alternatives[0].content


def test_no_alert_when_the_customer_turned_alerts_off(alice_account):
    alice_account.notify_usage_alerts = False
    alice_account.save()
    reads_with_a_spike(alice_account, days_ago=2)
    anomalies_detect(methods=["zscore"])
    assert not [m for m in mail.outbox if m.to == ["alice@example.com"]]


def test_no_alert_about_old_days_or_for_customers_without_a_login(alice_account):
    reads_with_a_spike(alice_account, days_ago=20)
    reads_with_a_spike(make_customer("100000099", "No Login"), days_ago=1)
    anomalies_detect(methods=["zscore"])
    assert mail.outbox == []  # (no Operations staff here either, so no digest)


def test_a_rerun_does_not_alert_again(alice_account):
    reads_with_a_spike(alice_account, days_ago=1)
    anomalies_detect(methods=["zscore"])
    anomalies_detect(methods=["zscore"])
    assert len([m for m in mail.outbox if m.to == ["alice@example.com"]]) == 1


def test_detection_without_email_alerts_nobody(alice_account):
    reads_with_a_spike(alice_account, days_ago=1)
    anomalies_detect(methods=["zscore"], notify=False)
    assert mail.outbox == []


def test_no_alert_or_notice_for_a_spike_below_a_quarter_of_a_typical_month(alice_account):
    from anomalies.selectors import open_notices_for_customer

    reads_with_a_spike(alice_account, days_ago=2, spike=3.0)  # 2.5 CCF above usual, under 25% of ~14 CCF
    anomalies_detect(methods=["zscore", "rolling"])
    assert alice_account.incidents.get().notify is False
    assert not [m for m in mail.outbox if m.to == ["alice@example.com"]]
    assert open_notices_for_customer(alice_account) == []


def test_a_failed_alert_is_sent_by_the_next_run_and_then_never_again(alice_account, monkeypatch):
    from django.core.mail import EmailMultiAlternatives

    reads_with_a_spike(alice_account, days_ago=1)
    real_send = EmailMultiAlternatives.send

    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
    anomalies_detect(methods=["zscore"])
    monkeypatch.setattr(EmailMultiAlternatives, "send", real_send)
    anomalies_detect(methods=["zscore"])
    anomalies_detect(methods=["zscore"])
    assert len([m for m in mail.outbox if m.to == ["alice@example.com"]]) == 1
