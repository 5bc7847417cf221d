"""Alerts a customer chooses (issue 16): a monthly budget told at 75%, 90% and 100% of the anticipated bill, and
use while away; each recorded and emailed once, checked only for the accounts that set one."""

import datetime
from decimal import ROUND_DOWN, Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import IntegrityError, transaction

from accounts.models import AuditEvent
from forecast.selectors import anticipated_bill
from metering.models import MeterRead
from portal import services
from portal.alert_rules import budget_share, budget_steps_reached
from portal.models import AlertEvent, AlertKind, AlertSetting

from .conftest import TODAY

D = Decimal


def set_alerts(customer, **fields):
    return AlertSetting.objects.update_or_create(customer=customer, defaults=fields)[0]


def budget_at(customer, share: str) -> Decimal:
    """A budget the anticipated bill is `share` of (0.92: 92%), rounded down so the share is not below it."""
    total = anticipated_bill(customer=customer, as_of=TODAY).total
    return (total / D(share)).quantize(D("0.01"), ROUND_DOWN)


def test_budget_steps_are_reached_at_75_90_and_100_percent():
    assert budget_steps_reached(D("74.99"), D("100")) == []
    assert budget_steps_reached(D("75.00"), D("100")) == [75]
    assert budget_steps_reached(D("90.00"), D("100")) == [75, 90]
    assert budget_steps_reached(D("130.00"), D("100")) == [75, 90, 100]
    assert budget_steps_reached(D("50"), None) == []
    assert budget_share(D("89.99"), D("100")) == 89  # never says 90% before it is


def test_a_budget_crossing_90_percent_is_told_once_with_its_figures(alice_reads):
    budget = budget_at(alice_reads, "0.92")
    set_alerts(alice_reads, budget=budget)
    assert services.alerts_check(today=TODAY) == {"budget": 2, "vacation": 0, "emailed": 1}
    steps = sorted(AlertEvent.objects.filter(kind=AlertKind.BUDGET).values_list("threshold", flat=True))
    assert steps == [75, 90]
    (message,) = mail.outbox
    assert message.to == ["alice@example.com"] and "92% of your" in message.body and "at 90%" in message.body
    assert f"${budget:,.2f} budget" in message.body

    assert services.alerts_check(today=TODAY) == {"budget": 0, "vacation": 0, "emailed": 0}
    assert len(mail.outbox) == 1 and AlertEvent.objects.count() == 2


def test_the_next_step_is_told_when_the_bill_reaches_it(alice_reads):
    setting = set_alerts(alice_reads, budget=budget_at(alice_reads, "0.80"))
    services.alerts_check(today=TODAY)
    setting.budget = budget_at(alice_reads, "1.05")
    setting.save()
    assert services.alerts_check(today=TODAY)["budget"] == 2  # 90 and 100; 75 was told already
    assert len(mail.outbox) == 2 and "at 100%" in mail.outbox[1].body


def test_one_event_per_account_kind_period_and_step_even_for_a_concurrent_check(alice_reads):
    event = {"customer": alice_reads, "kind": AlertKind.BUDGET, "period": TODAY.replace(day=1), "threshold": 90}
    event["day"] = TODAY
    AlertEvent.objects.create(**event)
    with pytest.raises(IntegrityError), transaction.atomic():
        AlertEvent.objects.create(**event)


def test_away_use_above_the_threshold_is_one_alert_for_the_vacation(alice_reads):
    set_alerts(alice_reads, away_from=datetime.date(2026, 11, 10), away_until=datetime.date(2026, 11, 16))
    MeterRead.objects.filter(customer=alice_reads, read_date__range=("2026-11-10", "2026-11-16")).update(
        usage_ccf=D("0.0100")
    )
    MeterRead.objects.filter(customer=alice_reads, read_date__in=["2026-11-13", "2026-11-14"]).update(
        usage_ccf=D("0.3000")
    )
    assert services.alerts_check(today=TODAY)["vacation"] == 1
    event = AlertEvent.objects.get(kind=AlertKind.VACATION)
    assert (event.period, event.day, event.usage_ccf) == (
        datetime.date(2026, 11, 10),
        datetime.date(2026, 11, 13),
        D("0.6"),
    )
    assert "0.60 CCF from November 13 on" in mail.outbox[0].body
    assert services.alerts_check(today=TODAY)["vacation"] == 0 and len(mail.outbox) == 1


def test_a_quiet_vacation_or_one_long_over_alerts_nobody(alice_reads, bob_account):
    MeterRead.objects.filter(customer=alice_reads, read_date__range=("2026-11-10", "2026-11-16")).update(
        usage_ccf=D("0.0200")  # at the threshold, not above it
    )
    set_alerts(alice_reads, away_from=datetime.date(2026, 11, 10), away_until=datetime.date(2026, 11, 16))
    set_alerts(bob_account, away_from=datetime.date(2026, 9, 1), away_until=datetime.date(2026, 9, 30))
    assert services.alerts_check(today=TODAY)["vacation"] == 0


def test_an_account_that_asked_for_no_email_sees_the_alert_on_its_dashboard_only(client_for, alice, alice_reads):
    set_alerts(alice_reads, budget=budget_at(alice_reads, "0.95"), email=False)
    assert services.alerts_check(today=TODAY)["emailed"] == 0 and mail.outbox == []
    page = client_for(alice).get("/portal/").content.decode()
    assert "95% of your" in page and "you asked to hear at 90%" in page  # the highest step reached only
    assert "at 75%)" not in page


def test_only_the_accounts_with_an_alert_are_forecast(alice_reads, bob_account, monkeypatch):
    asked = []
    real = services.anticipated_bills
    monkeypatch.setattr(
        services, "anticipated_bills", lambda **kw: asked.append(list(kw["customer_ids"])) or real(**kw)
    )
    set_alerts(alice_reads, budget=D("500"))
    set_alerts(bob_account, away_from=TODAY, away_until=TODAY)  # a vacation only: no forecast needed
    services.alerts_check(today=TODAY)
    assert asked == [[{"customer_id": alice_reads.pk}]]


def test_the_command_checks_and_says_what_it_found(alice_reads, capsys):
    set_alerts(alice_reads, budget=budget_at(alice_reads, "1.2"))
    call_command("check_alerts", "--date", TODAY.isoformat())
    assert "3 budget and 0 vacation alerts recorded, 1 emailed." in capsys.readouterr().out
    with pytest.raises(Exception, match="not a date"):
        call_command("check_alerts", "--date", "tomorrow")


def test_the_alerts_page_saves_the_choices_audited(client_for, alice, alice_account):
    client = client_for(alice)
    assert client.get("/portal/alerts/").status_code == 200
    data = {"budget": "80.00", "away_from": "2026-12-20", "away_until": "2026-12-27", "email": "on"}
    response = client.post("/portal/alerts/", data, follow=True)
    assert "Your alerts are saved." in response.content.decode()
    setting = AlertSetting.objects.get(customer=alice_account)
    assert (setting.budget, setting.away_until, setting.email) == (D("80.00"), datetime.date(2026, 12, 27), True)
    event = AuditEvent.objects.get(action="portal.alerts_set")
    assert event.actor == alice and event.customer == alice_account and "budget" in event.changes


@pytest.mark.parametrize(
    "data, error",
    [
        ({"away_from": "2026-12-20"}, "Enter both dates you are away, or neither."),
        (
            {"away_from": "2026-12-20", "away_until": "2026-12-01"},
            "The day you are back comes after the day you leave.",
        ),
        ({"budget": "0"}, "greater than or equal to 1"),
        ({"budget": "lots"}, "Enter a number."),
    ],
)
def test_bad_alert_choices_get_a_clear_error(client_for, alice, alice_account, data, error):
    response = client_for(alice).post("/portal/alerts/", data)
    assert response.status_code == 200 and error in response.content.decode()
    assert not AlertSetting.objects.exists()


def test_an_import_checks_the_alerts_at_once(alice_reads, tmp_path, django_capture_on_commit_callbacks, monkeypatch):
    import portal.tasks

    refreshed = []
    monkeypatch.setattr(portal.tasks, "comparisons_refresh", lambda period: refreshed.append(period) or 0)
    from metering.services import meter_file_import

    set_alerts(alice_reads, away_from=datetime.date(2026, 11, 18), away_until=datetime.date(2026, 11, 25))
    MeterRead.objects.filter(customer=alice_reads, read_date__gte="2026-11-18").update(usage_ccf=0)
    path = tmp_path / "reads.csv"
    path.write_text(
        "Location ID,Year,Month,Day,Daily Water Usage (CCF),Customer Type,Cycle Number,Customer Name,Mailing Address\n"
        '100000001,2026,11,19,0.9,Residential,1,Alice Archer,"1 Main St, Dallas, TX 75201"\n'
    )
    with django_capture_on_commit_callbacks(execute=True):
        meter_file_import(path=path, actor_label="test")
    assert AlertEvent.objects.filter(kind=AlertKind.VACATION, customer=alice_reads).exists()
    assert refreshed == [datetime.date(2026, 10, 1)]  # last month's similar homes recomputed too


def test_a_refused_email_is_sent_by_the_next_check(alice_reads, monkeypatch):
    set_alerts(alice_reads, budget=budget_at(alice_reads, "0.8"))

    def refuse(*args, **kwargs):
        raise OSError("connection refused")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refuse)
    assert services.alerts_check(today=TODAY)["emailed"] == 0
    assert AlertEvent.objects.get().emailed_at is None
    monkeypatch.undo()
    assert services.alerts_check(today=TODAY) == {"budget": 0, "vacation": 0, "emailed": 1}
    assert "at 75%" in mail.outbox[0].body and AlertEvent.objects.get().emailed_at is not None


def test_support_sees_an_accounts_alerts_in_the_admin_and_changes_none(client_for, support, alice_reads):
    set_alerts(alice_reads, budget=budget_at(alice_reads, "0.8"))
    services.alerts_check(today=TODAY)
    client = client_for(support)
    page = client.get("/admin/portal/alertevent/").content.decode()
    assert "100000001" in page and "Budget" in page
    event = AlertEvent.objects.get()
    assert client.post(f"/admin/portal/alertevent/{event.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get("/admin/portal/alertsetting/").status_code == 200
