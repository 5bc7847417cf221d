"""Operations' incident queue and pages (SPEC §3a, §5): costliest first, filters, actions and who may do them."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, CustomerType
from anomalies.models import Incident, Resolution, Status
from anomalies.tests.factories import make_anomaly, make_incident, store_reads
from billing.models import LedgerEntry
from conftest import make_customer

pytestmark = pytest.mark.django_db
QUEUE = reverse("anomalies:queue")
JULY = datetime.date(2026, 7, 1)


@pytest.fixture
def carol(db):
    customer = make_customer("300000001", "Carol Commerce", customer_type=CustomerType.COMMERCIAL, cycle_number=7)
    store_reads(customer, datetime.date(2026, 6, 1), [0.5] * 60)
    return customer


@pytest.fixture
def incidents(alice_account, carol):
    leak_days = [make_anomaly(carol, JULY + datetime.timedelta(days=n), method="leak") for n in range(9, 14)]
    return {
        "cheap": make_incident(alice_account, datetime.date(2026, 5, 2), cost="3.10"),
        "leak": make_incident(carol, leak_days[0].date, end=leak_days[-1].date, kind="leak", cost="48.00"),
        "spike": make_incident(carol, datetime.date(2026, 7, 25), cost="12.40"),
        "done": make_incident(
            alice_account,
            datetime.date(2026, 6, 1),
            cost="99.00",
            status=Status.REVIEWED,
            resolution=Resolution.FALSE_ALARM,
        ),
    }


def listed(response) -> list[int]:
    return [incident.pk for incident in response.context["page"].object_list]


def test_the_queue_lists_open_incidents_costliest_first(client_for, ops, incidents):
    response = client_for(ops).get(QUEUE)
    assert response.status_code == 200
    assert listed(response) == [incidents["leak"].pk, incidents["spike"].pk, incidents["cheap"].pk]
    assert b"$48.00" in response.content


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "", "kind": "leak"}, ["leak"]),
        ({"status": "open", "kind": "spike"}, ["spike", "cheap"]),
        ({"status": "reviewed"}, ["done"]),
        ({"status": "", "cycle": "7"}, ["leak", "spike"]),
        ({"status": "", "customer_type": "residential"}, ["done", "cheap"]),
        ({"status": "", "customer": "Alice"}, ["done", "cheap"]),
        ({"status": "", "cycle": "99999999999999999999"}, []),
    ],
)
def test_the_queue_filters_by_kind_status_cycle_type_and_customer(client_for, ops, incidents, query, expected):
    response = client_for(ops).get(QUEUE, query)
    assert response.status_code == 200
    assert listed(response) == [incidents[name].pk for name in expected]


def test_the_queue_is_paginated_and_makes_a_fixed_number_of_queries(
    client_for, ops, alice_account, django_assert_max_num_queries
):
    for n in range(60):
        make_incident(alice_account, datetime.date(2025, 1, 1) + datetime.timedelta(days=3 * n), cost=f"{n}.00")
    client = client_for(ops)
    with django_assert_max_num_queries(14):
        response = client.get(QUEUE)
    assert response.status_code == 200 and len(listed(response)) == 50
    assert len(listed(client.get(QUEUE, {"status": "open", "page": 2}))) == 10


@pytest.mark.parametrize("role", ["operations", "billing", "support"])
def test_every_staff_role_can_view_the_queue_and_an_incident_with_its_chart_days_and_contact(
    client_for, people, incidents, role
):
    client = client_for(people[role])
    assert client.get(QUEUE).status_code == 200
    response = client.get(reverse("anomalies:incident", args=[incidents["leak"].pk]))
    assert response.status_code == 200
    assert b"<svg" in response.content and b"(214) 555-0001" in response.content
    assert len(response.context["days"]) == 5


@pytest.mark.parametrize("role", ["customer", "anonymous"])
def test_customers_and_strangers_cannot_see_incidents(client_for, people, incidents, role):
    response = client_for(people[role]).get(reverse("anomalies:incident", args=[incidents["leak"].pk]))
    assert response.status_code in (302, 403)
    assert client_for(people[role]).get(QUEUE).status_code in (302, 403)


@pytest.mark.parametrize("role", ["billing", "support", "customer"])
def test_only_operations_resolve_contact_and_offer(client_for, people, incidents, role):
    client = client_for(people[role])
    pk = incidents["leak"].pk
    assert (
        client.post(reverse("anomalies:incident_review", args=[pk]), {"resolution": "false_alarm"}).status_code == 403
    )
    assert (
        client.post(reverse("anomalies:incident_contact", args=[pk]), {"channel": "phone", "note": "x"}).status_code
        == 403
    )
    assert client.post(reverse("anomalies:incident_allowance_offer", args=[pk]), {"amount": "5"}).status_code == 403
    bulk = client.post(reverse("anomalies:incidents_bulk_review"), {"incidents": [pk], "resolution": "false_alarm"})
    assert bulk.status_code == 403
    assert Incident.objects.get(pk=pk).status == Status.OPEN


def test_operations_resolve_an_incident_and_its_days_with_a_note(client_for, ops, incidents):
    leak = incidents["leak"]
    response = client_for(ops).post(
        reverse("anomalies:incident_review", args=[leak.pk]), {"resolution": "leak_confirmed", "note": "Pipe burst"}
    )
    assert response.status_code == 302
    leak.refresh_from_db()
    assert (leak.status, leak.resolution, leak.note, leak.reviewed_by) == (
        "reviewed",
        "leak_confirmed",
        "Pipe burst",
        ops,
    )
    assert set(leak.customer.anomalies.values_list("status", flat=True)) == {"reviewed"}


def test_bulk_resolve_reviews_every_ticked_incident(client_for, ops, incidents):
    ticked = [incidents["spike"].pk, incidents["cheap"].pk]
    client_for(ops).post(
        reverse("anomalies:incidents_bulk_review"), {"incidents": ticked, "resolution": "expected_use"}
    )
    assert set(Incident.objects.filter(pk__in=ticked).values_list("resolution", flat=True)) == {"expected_use"}
    assert Incident.objects.get(pk=incidents["leak"].pk).status == Status.OPEN


def test_operations_record_a_contact_with_the_customer(client_for, ops, incidents):
    leak = incidents["leak"]
    client_for(ops).post(
        reverse("anomalies:incident_contact", args=[leak.pk]), {"channel": "phone", "note": "Will call a plumber"}
    )
    [contact] = leak.contacts.all()
    assert (contact.channel, contact.note, contact.contacted_by) == ("phone", "Will call a plumber", ops)
    assert AuditEvent.objects.filter(action="incident.contact").count() == 1
    page = client_for(ops).get(reverse("anomalies:incident", args=[leak.pk]))
    assert b"Will call a plumber" in page.content


def test_operations_offer_a_leak_allowance_and_billing_credits_it_once(client_for, ops, biller, incidents):
    leak = incidents["leak"]
    offer = reverse("anomalies:incident_allowance_offer", args=[leak.pk])
    decide = reverse("anomalies:incident_allowance_decide", args=[leak.pk])
    client_for(ops).post(offer, {"amount": "40.00", "note": "Repaired, invoice seen"})
    leak.refresh_from_db()
    assert (leak.allowance, leak.allowance_amount, leak.allowance_offered_by) == ("offered", Decimal("40.00"), ops)
    assert not LedgerEntry.objects.exists()  # Operations offer; only Billing posts to the account
    assert client_for(ops).post(decide, {"decision": "post"}).status_code == 403
    client_for(biller).post(decide, {"decision": "post"})
    [entry] = LedgerEntry.objects.all()
    assert (entry.amount, entry.reason, entry.customer_id) == (Decimal("-40.00"), "leak_allowance", leak.customer_id)
    leak.refresh_from_db()
    assert (leak.allowance, leak.allowance_entry, leak.allowance_decided_by) == ("posted", entry, biller)
    client_for(biller).post(decide, {"decision": "post"})
    client_for(ops).post(offer, {"amount": "40.00"})
    assert LedgerEntry.objects.count() == 1


def test_an_allowance_is_offered_on_leaks_only_and_for_a_real_amount(client_for, ops, incidents):
    client = client_for(ops)
    spike = client.post(
        reverse("anomalies:incident_allowance_offer", args=[incidents["spike"].pk]), {"amount": "5"}, follow=True
    )
    assert b"leak incidents only" in spike.content
    bad = client.post(
        reverse("anomalies:incident_allowance_offer", args=[incidents["leak"].pk]), {"amount": "-3"}, follow=True
    )
    assert bad.status_code == 200 and b"positive amount" in bad.content
    assert not Incident.objects.exclude(allowance="").exists()


def test_billing_declines_an_offer(client_for, ops, biller, incidents):
    leak = incidents["leak"]
    client_for(ops).post(reverse("anomalies:incident_allowance_offer", args=[leak.pk]), {"amount": "12.00"})
    client_for(biller).post(reverse("anomalies:incident_allowance_decide", args=[leak.pk]), {"decision": "decline"})
    leak.refresh_from_db()
    assert leak.allowance == "declined" and not LedgerEntry.objects.exists()


def test_the_admin_lets_operations_resolve_incidents_in_bulk(client_for, ops, incidents):
    changelist = reverse("admin:anomalies_incident_changelist")
    client = client_for(ops)
    assert client.get(changelist).status_code == 200
    ticked = [incidents["leak"].pk, incidents["spike"].pk]
    confirm = client.post(changelist, {"action": "resolve_selected", "_selected_action": ticked})
    assert b"incidents (and their days)" in confirm.content
    client.post(
        changelist, {"action": "resolve_selected", "_selected_action": ticked, "resolution": "meter_fault", "note": ""}
    )
    assert set(Incident.objects.filter(pk__in=ticked).values_list("resolution", flat=True)) == {"meter_fault"}
