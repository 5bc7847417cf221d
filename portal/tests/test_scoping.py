"""Each portal read is the signed-in customer's own: usage (daily and monthly), notices, the cached
charts and the bills. Alice and Bob share read dates, so a selector that forgot its customer filter,
or a cache key without the customer, shows up as Bob's figures on Alice's pages."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.cache import cache

from anomalies.models import Anomaly
from anomalies.selectors import open_notices_for_customer
from anomalies.tests.factories import make_incident
from billing.models import Bill
from billing.services import bill_run_compute
from metering.models import MeterRead
from metering.selectors import daily_usage, monthly_usage

from .conftest import give_reads

SPAN = (datetime.date(2026, 9, 1), datetime.date(2026, 10, 31))


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


@pytest.fixture
def both_read(alice_account, bob_account):
    give_reads(alice_account, usage="0.5000")
    give_reads(bob_account, usage="1.0000")
    return alice_account, bob_account


def test_daily_usage_is_the_customers_own(both_read):
    alice, _ = both_read
    reads = daily_usage(customer=alice, start=datetime.date(2026, 11, 1), end=datetime.date(2026, 11, 19))
    assert len(reads) == 19 and {r.customer_id for r in reads} == {alice.pk}


def test_monthly_usage_is_the_customers_own(both_read):
    alice, _ = both_read
    months = monthly_usage(customer=alice, start=datetime.date(2026, 10, 1), end=datetime.date(2026, 10, 31))
    assert months == [(datetime.date(2026, 10, 1), Decimal("15.5000"), 31)]


def test_the_portal_shows_only_alices_use(client_for, alice, both_read):
    client = client_for(alice)
    days = client.get("/portal/usage/?range=30d").context["series"].rows
    assert len(days) == 30 and {row.usage_ccf for row in days} == {Decimal("0.5000")}
    months = client.get("/portal/").context["series"].rows
    assert months[-2].usage_ccf == Decimal("15.5000")  # October: 31 days × 0.5, none of Bob's 1.0
    body = client.get("/portal/usage/reads.csv?range=12m").content.decode()
    assert {row["usage_ccf"] for row in csv.DictReader(io.StringIO(body))} == {"0.5000"}


def test_notices_are_the_customers_own(client_for, alice, both_read):
    _, bob = both_read
    Anomaly.objects.create(
        customer=bob,
        date=datetime.date(2026, 11, 18),
        method="rolling",
        usage_ccf=Decimal("4.0"),
        mean_ccf=Decimal("1.0"),
        std_ccf=Decimal("0.1"),
        detected_at=datetime.datetime(2026, 11, 19, tzinfo=datetime.UTC),
    )
    make_incident(bob, datetime.date(2026, 11, 18), excess="3", cost="9.00")
    assert open_notices_for_customer(both_read[0]) == []
    assert len(open_notices_for_customer(bob)) == 1
    assert "unusual use" not in client_for(alice).get("/portal/").content.decode()


def mirrored_reads(alice, bob):
    """The same dates, count and total for both (so the same data version), in opposite order: Alice
    used most in September, Bob in October."""
    first, last = SPAN
    days = [first + datetime.timedelta(days=i) for i in range((last - first).days + 1)]
    usage = [Decimal("2.0")] * 30 + [Decimal("0.5")] * (len(days) - 30)
    for customer, values in ((alice, usage), (bob, usage[::-1])):
        MeterRead.objects.bulk_create(
            MeterRead(customer=customer, read_date=day, usage_ccf=value)
            for day, value in zip(days, values, strict=True)
        )


def test_a_cached_chart_is_never_served_to_another_customer(client_for, alice, bob, alice_account, bob_account):
    mirrored_reads(alice_account, bob_account)
    client = client_for(alice)
    alice_page = client.get("/portal/usage/?range=12m")
    alice_svg = client.get(alice_page.context["chart_url"] + "&size=wide").content
    client = client_for(bob)
    bob_page = client.get("/portal/usage/?range=12m")
    assert bob_page.context["chart_url"] == alice_page.context["chart_url"]  # same data version, same URL
    bob_svg = client.get(bob_page.context["chart_url"] + "&size=wide").content
    assert bob_svg != alice_svg
    cache.clear()
    assert client.get(bob_page.context["chart_url"] + "&size=wide").content == bob_svg  # Bob's own drawing


@pytest.fixture
def issued_and_draft(alice_account):
    give_reads(alice_account)
    bill_run_compute(period=datetime.date(2026, 9, 1), issue=True, actor_label="test")
    bill_run_compute(period=datetime.date(2026, 10, 1), actor_label="test")  # October stays a draft
    return Bill.objects.get(status=Bill.Status.ISSUED), Bill.objects.get(status=Bill.Status.DRAFT)


def test_customers_never_see_draft_bills(client_for, alice, issued_and_draft):
    issued, draft = issued_and_draft
    client = client_for(alice)
    assert [bill.pk for bill in client.get("/portal/bills/").context["bills"]] == [issued.pk]
    assert client.get("/portal/").context["last_bill"].pk == issued.pk
    assert client.get(f"/portal/bills/{draft.pk}/").status_code == 404
    assert client.get(f"/portal/bills/{draft.pk}/pdf/").status_code == 404
