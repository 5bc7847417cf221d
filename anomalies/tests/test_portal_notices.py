"""The customer's notices (SPEC §3a): one per incident they are told of, saying what it cost so far."""

import datetime
from decimal import Decimal

import pytest
import time_machine

from anomalies.models import Resolution, Status
from anomalies.selectors import incident_days_for_customer, open_notices_for_customer
from anomalies.tests.factories import make_anomaly, make_incident

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def in_august_2026():
    with time_machine.travel(datetime.datetime(2026, 8, 1, 12, tzinfo=datetime.UTC), tick=False):
        yield


def test_a_spike_incident_becomes_a_notice_with_water_and_money(alice_account):
    make_incident(alice_account, datetime.date(2026, 7, 14), excess="2.4", cost="7.20")
    [notice] = open_notices_for_customer(alice_account)
    assert notice.date == datetime.date(2026, 7, 14) and notice.usage_ccf == Decimal("2.4")
    assert notice.message == "Unusually high use on 14 July: 2.4 CCF more than usual, about $7.20 on your bill"
    assert notice.text("gallons") == (
        "Unusually high use on 14 July: 1,795 gallons more than usual, about $7.20 on your bill"
    )


def test_a_leak_notice_says_since_when_and_how_much_so_far(alice_account):
    make_incident(
        alice_account, datetime.date(2026, 7, 3), end=datetime.date(2026, 7, 8), kind="leak", excess="4.2", cost="12.60"
    )
    [notice] = open_notices_for_customer(alice_account)
    assert notice.kind == "leak" and notice.days == 6 and notice.since == datetime.date(2026, 7, 3)
    assert notice.message == (
        "Possible leak: your use has stayed high on 6 days since 3 July (4.2 CCF more than usual so far, "
        "about $12.60 on your bill)"
    )


def test_a_reviewed_incident_or_one_below_the_threshold_is_no_notice(alice_account):
    make_incident(alice_account, datetime.date(2026, 7, 14), status=Status.REVIEWED, resolution=Resolution.FALSE_ALARM)
    make_incident(alice_account, datetime.date(2026, 7, 20), notify=False)
    assert open_notices_for_customer(alice_account) == []


def test_notices_show_only_the_customers_own_incidents(alice_account, bob_account):
    make_incident(bob_account, datetime.date(2026, 7, 14))
    assert open_notices_for_customer(alice_account) == []


def test_notices_come_newest_first_limited_and_name_the_year_when_not_this_year(alice_account):
    for day in (datetime.date(2025, 12, 30), datetime.date(2026, 3, 1), datetime.date(2026, 5, 2)):
        make_incident(alice_account, day, excess="0.99", cost="0")
    notices = open_notices_for_customer(alice_account, limit=2)
    assert [n.date for n in notices] == [datetime.date(2026, 5, 2), datetime.date(2026, 3, 1)]
    assert open_notices_for_customer(alice_account, limit=None)[-1].message == (
        "Unusually high use on 30 December 2025: 0.99 CCF more than usual"
    )


def test_the_chart_marks_the_days_of_notified_incidents_only(alice_account, bob_account):
    told, untold = datetime.date(2026, 7, 14), datetime.date(2026, 7, 20)
    for day in (told, untold):
        make_anomaly(alice_account, day)
    make_anomaly(bob_account, told + datetime.timedelta(days=1))
    make_incident(alice_account, told, end=told + datetime.timedelta(days=1))
    make_incident(bob_account, told + datetime.timedelta(days=1))
    make_incident(alice_account, untold, notify=False)
    days = incident_days_for_customer(alice_account, start=datetime.date(2026, 7, 1), end=datetime.date(2026, 7, 31))
    assert days == [told]


def test_the_portals_daily_chart_marks_the_incident_days_and_redraws_when_one_is_resolved(
    alice_account, monkeypatch, ops
):
    from django.core.cache import cache

    from anomalies.incident_services import incidents_review
    from anomalies.tests.factories import store_reads
    from metering import charts
    from portal import selectors as portal

    cache.clear()
    today = datetime.date(2026, 8, 1)
    store_reads(alice_account, today - datetime.timedelta(days=30), [0.4] * 30)
    leak_day = today - datetime.timedelta(days=5)
    make_anomaly(alice_account, leak_day)
    incident = make_incident(alice_account, leak_day, kind="leak")
    drawn = []
    real = charts.daily_usage_chart
    monkeypatch.setattr(charts, "daily_usage_chart", lambda *a, **k: drawn.append(k.get("mark_date")) or real(*a, **k))

    def draw():
        series = portal.usage_series(customer=alice_account, range_key="30d", today=today)
        version = portal.chart_version(series, portal.data_version(alice_account), alice_account)
        portal.usage_chart(customer=alice_account, series=series, unit="ccf", version=version)

    draw()
    incidents_review(incidents=[incident], reviewer=ops, resolution=Resolution.LEAK_CONFIRMED)
    draw()
    assert drawn == [[leak_day], None]
