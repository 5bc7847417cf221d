"""Access by construction: a customer asking for anything of another customer's gets 404, and staff
pages refuse customers. The walk covers every URL pattern of the site, so new pages are checked too."""

import datetime
import re
from decimal import Decimal

import pytest
from django.urls import URLResolver, get_resolver

from anomalies.models import Anomaly
from billing.services import payment_record

STAFF_PREFIXES = ("staff/", "admin/")
PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def all_routes(patterns=None, prefix=""):
    """(route, name) of every URL pattern, with the prefixes of the includes (regex parts unwrapped)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        route = str(pattern.pattern).lstrip("^").rstrip("$").replace("\\Z", "")
        if isinstance(pattern, URLResolver):
            yield from all_routes(pattern.url_patterns, prefix + route)
        else:
            yield prefix + route, pattern.name


def fill(route, ids):
    """The route with every parameter given one of bob's ids (picked by the parameter's name)."""

    def value(match):
        name = match.group("name")
        for key, found in ids.items():
            if key in name:
                return str(found)
        return str(ids["location_id"] if match.group("converter") in ("str", "slug", "path") else ids["bill"])

    route = PARAM.sub(value, route)
    route = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: str(ids.get(m.group(1), ids["bill"])), route)  # admin regexes
    return "/" + route


@pytest.fixture
def bobs_ids(bills, bob_account, bob):
    bill = bills["bob"]
    payment = payment_record(  # a payment to bob's account (SPEC §2a), dated before the bill: a credit
        customer=bob_account, amount=Decimal("5.00"), paid_on=datetime.date(2026, 11, 10), method="card",
        confirm_credit=True, actor=None,
    )
    anomaly = Anomaly.objects.create(
        customer=bob_account,
        date=datetime.date(2026, 11, 1),
        method="zscore",
        usage_ccf=Decimal("4"),
        mean_ccf=Decimal("1"),
        std_ccf=Decimal("0.5"),
        detected_at=datetime.datetime(2026, 11, 2, tzinfo=datetime.UTC),
    )
    return {
        "bill": bill.pk,
        "pk": bill.pk,
        "payment": payment.pk,
        "anomaly": anomaly.pk,
        "customer": bob_account.pk,
        "location_id": bob_account.location_id,
        "user": bob.pk,
        "object_id": bob_account.pk,
        "app_label": "accounts",
        "model_name": "customer",
    }


def _request(client, url):
    response = client.get(url)
    if response.status_code == 405:  # POST-only actions must refuse too
        response = client.post(url, {})
    return response


def test_a_customer_gets_404_for_everything_of_another_customers_in_the_portal(client_for, alice, bobs_ids):
    client = client_for(alice)
    checked = []
    for route, name in all_routes():
        if not route.startswith("portal/") or "<" not in route:
            continue
        url = fill(route, bobs_ids)
        response = _request(client, url)
        assert response.status_code == 404, f"{url} ({name}) answered {response.status_code}"
        assert b"Bob Brown" not in response.content
        checked.append(url)
    assert "/portal/bills/{}/pdf/".format(bobs_ids["bill"]) in checked


def test_staff_pages_and_the_admin_refuse_customers(client_for, alice, bobs_ids):
    client = client_for(alice)
    checked = 0
    for route, name in all_routes():
        if not route.startswith(STAFF_PREFIXES) or route.startswith(("admin/login", "admin/logout")):
            continue
        url = fill(route, bobs_ids)
        response = _request(client, url)
        assert response.status_code == 403, f"{url} ({name}) answered {response.status_code}"
        assert b"Bob Brown" not in response.content
        checked += 1
    assert checked > 10


def test_the_portals_own_pages_show_only_the_signed_in_customer(client_for, alice, bobs_ids):
    client = client_for(alice)
    for route, name in all_routes():
        if route.startswith("portal/") and "<" not in route:
            response = client.get("/" + route)
            assert response.status_code == 200, f"/{route} ({name})"
            assert b"Bob Brown" not in response.content and b"100000002" not in response.content


def test_staff_are_refused_the_portal(client_for, support):
    assert client_for(support).get("/portal/").status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client_for, db):
    response = client_for(None).get("/portal/bills/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_a_login_holding_several_accounts_still_gets_404_for_another_customers(client_for, alice, bobs_ids):
    """A landlord's second account chosen in the switcher: every portal URL with bob's ids is still a 404."""
    from conftest import make_customer

    second = make_customer("100000009", "Alice Archer", mailing_address="7 Oak Ave, Dallas, TX 75202")
    second.user = alice
    second.save()
    client = client_for(alice)
    assert client.post(f"/portal/accounts/{second.pk}/switch/").status_code == 302
    checked = 0
    for route, name in all_routes():
        if route.startswith("portal/") and "<" in route:
            url = fill(route, bobs_ids)
            response = _request(client, url)
            assert response.status_code == 404, f"{url} ({name}) answered {response.status_code}"
            assert b"Bob Brown" not in response.content
            checked += 1
    assert "100000009" in client.get("/portal/").content.decode()  # the chosen account stayed chosen
    assert checked >= 4  # the bill, its PDF, a chart and the switch itself
