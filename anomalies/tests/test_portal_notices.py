import datetime
from decimal import Decimal

import pytest
import time_machine

from anomalies.models import Method, Resolution, Status
from anomalies.selectors import open_notices_for_customer
from anomalies.tests.factories import make_anomaly

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def in_august_2026():
    with time_machine.travel(datetime.datetime(2026, 8, 1, 12, tzinfo=datetime.UTC), tick=False):
        yield


def test_an_open_anomaly_becomes_a_notice_with_a_ready_message(alice_account):
    make_anomaly(alice_account, datetime.date(2026, 7, 14), usage="3.2", mean="0.8")
    [notice] = open_notices_for_customer(alice_account)
    assert notice.date == datetime.date(2026, 7, 14)
    assert notice.usage_ccf == Decimal("3.2") and notice.typical_ccf == Decimal("0.8")
    assert notice.ratio == Decimal("4.0")
    assert notice.message == "Unusually high use on 14 July: 3.2 CCF, about 4× your usual"


def test_a_reviewed_anomaly_is_no_longer_a_notice(alice_account, ops):
    make_anomaly(alice_account, datetime.date(2026, 7, 14), status=Status.REVIEWED, resolution=Resolution.FALSE_ALARM)
    assert open_notices_for_customer(alice_account) == []


def test_notices_show_only_the_customers_own_anomalies(alice_account, bob_account):
    make_anomaly(bob_account, datetime.date(2026, 7, 14))
    assert open_notices_for_customer(alice_account) == []


def test_a_day_flagged_by_two_methods_is_one_notice_with_the_rolling_baseline(alice_account):
    day = datetime.date(2026, 7, 20)
    make_anomaly(alice_account, day, method=Method.ZSCORE, usage="1.5", mean="0.5")
    make_anomaly(alice_account, day, method=Method.ROLLING, usage="1.5", mean="0.6")
    [notice] = open_notices_for_customer(alice_account)
    assert notice.typical_ccf == Decimal("0.6") and notice.ratio == Decimal("2.5")
    assert notice.methods == ("rolling", "zscore")
    assert notice.message.endswith("about 2.5× your usual")


def test_consecutive_leak_days_make_one_leak_notice(alice_account):
    for offset in range(6):
        make_anomaly(
            alice_account,
            datetime.date(2026, 7, 3) + datetime.timedelta(days=offset),
            method=Method.LEAK,
            usage="1.1",
            mean="0.44",
        )
    [notice] = open_notices_for_customer(alice_account)
    assert notice.kind == "leak" and notice.days == 6
    assert notice.since == datetime.date(2026, 7, 3) and notice.date == datetime.date(2026, 7, 8)
    assert notice.message == (
        "Possible leak: your use has stayed high for 6 days since 3 July (1.1 CCF on 8 July, about 2.5× your usual)"
    )


def test_notices_come_newest_first_limited_and_name_the_year_when_not_this_year(alice_account):
    for day in (datetime.date(2025, 12, 30), datetime.date(2026, 3, 1), datetime.date(2026, 5, 2)):
        make_anomaly(alice_account, day, usage="0.99", mean="0.33")
    notices = open_notices_for_customer(alice_account, limit=2)
    assert [n.date for n in notices] == [datetime.date(2026, 5, 2), datetime.date(2026, 3, 1)]
    assert len(open_notices_for_customer(alice_account, limit=None)) == 3
    assert open_notices_for_customer(alice_account, limit=None)[-1].message == (
        "Unusually high use on 30 December 2025: 0.99 CCF, about 3× your usual"
    )
