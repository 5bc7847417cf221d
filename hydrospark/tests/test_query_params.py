"""Hostile query strings never answer 500: every GET page of the portal and the staff site is walked
with out-of-range dates, periods and numbers, garbage and NUL bytes in each kind of parameter, and
must answer with a page (usually with a message), a redirect or a 404, never a server error."""

import datetime
import re
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group
from django.urls import URLResolver, get_resolver

from accounts.roles import Role
from anomalies.models import Anomaly
from billing.services import bill_run_compute
from metering.models import MeterRead

PARAM = re.compile(r"<(?:\w+:)?(?P<name>\w+)>")
TODAY = datetime.date(2026, 11, 20)

# Every query parameter a page reads, by kind (the kind decides which hostile values it gets).
DATES = ["start", "end", "since", "until", "date_from", "date_to"]
PERIODS = ["period"]
NUMBERS = ["cycles", "cycle", "page"]
WORDS = ["q", "status", "payment", "method", "customer_type", "customer", "location_id", "actor", "action",
         "target_type", "range", "unit", "size", "v", "back"]  # fmt: skip

HOSTILE_DATES = ["0001-01-01", "9999-12-31", "10000-01-01", "2026-02-30", "1-1-1", "yesterday", "%00"]
HOSTILE_PERIODS = ["0001-01", "0000-01", "9999-12", "10000-01", "2026-13", "2026-00", "-2026-01", "26"]
HOSTILE_NUMBERS = ["99999999999999999999", "9223372036854775808", "-1", "0", "1e309", "NaN", "1,99999999999999999999"]
HOSTILE_WORDS = ["\x00", "x" * 5000, "%", "'; DROP TABLE x; --", "\u202e", "?a=b", "../../etc/passwd"]


def hostile_queries():
    """Each kind of parameter at once with each hostile value, plus the widest date range."""
    for names, values in ((DATES, HOSTILE_DATES), (PERIODS, HOSTILE_PERIODS), (NUMBERS, HOSTILE_NUMBERS)):
        for value in values:
            yield dict.fromkeys(names, value)
    for value in HOSTILE_WORDS:
        yield dict.fromkeys(WORDS, value)
    for name in ("q", "customer", "actor", "location_id"):  # searches read alone, past an invalid choice
        yield {name: "\x00"}
    for low, high in (("start", "end"), ("since", "until"), ("date_from", "date_to")):
        yield {low: "0001-01-01", high: "9999-12-31"}
        yield {low: "9999-12-31", high: "0001-01-01"}
    yield {"period": "0001-01", "cycles": "99999999999999999999"}
    yield {"period": "2026-10", "cycles": "99999999999999999999"}
    yield {"period": "2026-10", "cycles": "0"}


def get_routes(patterns=None, prefix=""):
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = str(pattern.pattern).lstrip("^").rstrip("$").replace("\\Z", "")
        if isinstance(pattern, URLResolver):
            yield from get_routes(pattern.url_patterns, prefix + route)
        else:
            yield prefix + route


@pytest.fixture
def site(alice_account, bob_account):
    """Reads, an issued bill and an anomaly, so that each page has something to show."""
    for customer in (alice_account, bob_account):
        MeterRead.objects.bulk_create(
            MeterRead(customer=customer, read_date=TODAY - datetime.timedelta(days=d), usage_ccf=Decimal("0.5"))
            for d in range(1, 90)
        )
    bill_run_compute(period=datetime.date(2026, 10, 1), issue=True, actor_label="test")
    anomaly = Anomaly.objects.create(
        customer=alice_account,
        date=TODAY - datetime.timedelta(days=3),
        method="zscore",
        usage_ccf=Decimal("4"),
        mean_ccf=Decimal("0.5"),
        std_ccf=Decimal("0.2"),
        detected_at=datetime.datetime(2026, 11, 18, tzinfo=datetime.UTC),
    )
    bill = alice_account.bills.get()
    return {"location_id": alice_account.location_id, "pk": bill.pk, "anomaly": anomaly.pk, "slug": "usage"}


def pages(site, prefix):
    """Every page under prefix that answers a plain GET (POST-only actions are left out)."""
    for route in get_routes():
        if route.startswith(prefix):
            yield "/" + PARAM.sub(lambda m: str(site.get(m.group("name"), site["pk"])), route)


@pytest.fixture
def everyone_staff(ops):
    """One login in every staff role, so each staff page is walked once with all its controls."""
    ops.groups.add(*Group.objects.filter(name__in=[Role.BILLING, Role.SUPPORT]))
    return ops


@pytest.fixture(autouse=True)
def fixed_today(time_machine):
    time_machine.move_to(datetime.datetime(2026, 11, 20, 18, 0, tzinfo=datetime.UTC), tick=False)


@pytest.mark.parametrize("prefix", ["portal/", "staff/"])
def test_no_page_answers_500_to_hostile_query_parameters(client, alice, everyone_staff, site, prefix):
    client.raise_request_exception = False  # collect every failure, not only the first
    client.force_login(alice if prefix == "portal/" else everyone_staff)
    failures, asked = [], 0
    for url in pages(site, prefix):
        if client.get(url).status_code == 405:
            continue
        for query in hostile_queries():
            response = client.get(f"{url}?{urlencode(query)}")
            asked += 1
            if response.status_code >= 500:
                failures.append(f"{url}?{urlencode(query)[:150]} -> {response.status_code}")
    assert not failures, f"{len(failures)} of {asked} answered 500:\n" + "\n".join(failures[:80])
    assert asked > 100
