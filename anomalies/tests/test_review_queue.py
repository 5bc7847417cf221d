"""The Operations review queue and the admin (SPEC §3 review, §5 roles)."""

import datetime

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, CustomerType
from anomalies.models import Anomaly, DetectionRun, Method, Resolution, Status
from anomalies.tests.factories import make_anomaly, store_reads
from conftest import make_customer

pytestmark = pytest.mark.django_db
QUEUE = reverse("anomalies:days")


@pytest.fixture
def carol(db):
    customer = make_customer("300000001", "Carol Commerce", customer_type=CustomerType.COMMERCIAL, cycle_number=7)
    store_reads(customer, datetime.date(2026, 6, 1), [0.5] * 60)
    return customer


@pytest.fixture
def anomalies(alice_account, carol):
    return {
        "old": make_anomaly(alice_account, datetime.date(2026, 5, 2)),
        "new": make_anomaly(carol, datetime.date(2026, 7, 14), method=Method.ROLLING, usage="3.2", mean="0.5"),
        "leak": make_anomaly(carol, datetime.date(2026, 7, 10), method=Method.LEAK),
        "done": make_anomaly(
            alice_account, datetime.date(2026, 7, 1), status=Status.REVIEWED, resolution=Resolution.FALSE_ALARM
        ),
    }


def listed(response) -> list[int]:
    return [a.pk for a in response.context["page"].object_list]


def test_the_queue_shows_open_anomalies_newest_first(client_for, ops, anomalies):
    response = client_for(ops).get(QUEUE)
    assert response.status_code == 200
    assert listed(response) == [anomalies["new"].pk, anomalies["leak"].pk, anomalies["old"].pk]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": ""}, ["new", "leak", "done", "old"]),
        ({"status": "reviewed"}, ["done"]),
        ({"status": "", "method": "rolling"}, ["new"]),
        ({"status": "", "customer_type": "residential"}, ["done", "old"]),
        ({"status": "", "cycle": "7"}, ["new", "leak"]),
        ({"status": "", "date_from": "2026-07-01", "date_to": "2026-07-10"}, ["leak", "done"]),
        ({"status": "", "customer": "Carol"}, ["new", "leak"]),
        ({"status": "", "customer": "1000"}, ["done", "old"]),
    ],
)
def test_the_queue_filters(client_for, ops, anomalies, query, expected):
    response = client_for(ops).get(QUEUE, query)
    assert listed(response) == [anomalies[name].pk for name in expected]


def test_an_impossible_date_range_is_explained(client_for, ops, anomalies):
    response = client_for(ops).get(QUEUE, {"date_from": "2026-08-01", "date_to": "2026-07-01"})
    assert listed(response) == [] and "The start date is after the end date." in response.content.decode()


@pytest.mark.parametrize("role", ["operations", "billing", "support"])
def test_every_staff_role_can_view_the_queue_and_an_anomaly_with_its_chart(client_for, people, anomalies, role):
    client = client_for(people[role])
    assert client.get(QUEUE).status_code == 200
    response = client.get(reverse("anomalies:detail", args=[anomalies["new"].pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body and "60 days from Jun 1, 2026" in body
    assert ("Mark reviewed" in body) == (role == "operations")


@pytest.mark.parametrize("role", ["customer", "anonymous"])
def test_customers_and_strangers_cannot_see_the_queue(client_for, people, anomalies, role):
    response = client_for(people[role]).get(QUEUE)
    assert response.status_code == (403 if role == "customer" else 302)


@pytest.mark.parametrize("role", ["billing", "support", "customer"])
def test_only_operations_can_review(client_for, people, anomalies, role):
    anomaly = anomalies["new"]
    client = client_for(people[role])
    url = reverse("anomalies:review", args=[anomaly.pk])
    assert client.post(url, {"resolution": "false_alarm"}).status_code == 403
    bulk = client.post(reverse("anomalies:bulk_review"), {"anomalies": [anomaly.pk], "resolution": "false_alarm"})
    assert bulk.status_code == 403
    assert client.post(reverse("anomalies:run")).status_code == 403
    anomaly.refresh_from_db()
    assert anomaly.status == Status.OPEN and not DetectionRun.objects.exists()


def test_operations_review_with_a_resolution_and_note_keeping_who_and_when(client_for, ops, anomalies):
    anomaly = anomalies["new"]
    response = client_for(ops).post(
        reverse("anomalies:review", args=[anomaly.pk]), {"resolution": "leak_confirmed", "note": "Toilet flapper"}
    )
    assert response.status_code == 302
    anomaly.refresh_from_db()
    assert (anomaly.status, anomaly.resolution, anomaly.note) == ("reviewed", "leak_confirmed", "Toilet flapper")
    assert anomaly.reviewed_by == ops and anomaly.reviewed_at is not None
    event = AuditEvent.objects.get(action="anomaly.review")
    assert event.actor == ops and event.customer == anomaly.customer
    assert event.changes["resolution"] == ["", "leak_confirmed"]


def test_a_review_can_cover_the_customers_other_open_days_nearby(client_for, ops, anomalies):
    carol = anomalies["new"].customer
    far = make_anomaly(carol, datetime.date(2026, 3, 1))
    client_for(ops).post(
        reverse("anomalies:review", args=[anomalies["leak"].pk]),
        {"resolution": "leak_confirmed", "note": "Irrigation pipe", "with_nearby": "on"},
    )
    reviewed = set(Anomaly.objects.filter(status=Status.REVIEWED, note="Irrigation pipe").values_list("pk", flat=True))
    assert reviewed == {anomalies["leak"].pk, anomalies["new"].pk}
    assert Anomaly.objects.get(pk=far.pk).status == Status.OPEN


def test_a_review_without_a_resolution_changes_nothing(client_for, ops, anomalies):
    anomaly = anomalies["new"]
    client_for(ops).post(reverse("anomalies:review", args=[anomaly.pk]), {"note": "?"})
    anomaly.refresh_from_db()
    assert anomaly.status == Status.OPEN and not AuditEvent.objects.filter(action="anomaly.review").exists()


def test_bulk_resolve_reviews_every_ticked_anomaly(client_for, ops, anomalies):
    ticked = [anomalies["new"].pk, anomalies["old"].pk]
    response = client_for(ops).post(
        reverse("anomalies:bulk_review"),
        {"anomalies": ticked, "resolution": "expected_use", "note": "Pool filling", "back": "?method=rolling"},
    )
    assert response["Location"] == QUEUE + "?method=rolling"
    reviewed = Anomaly.objects.filter(pk__in=ticked)
    assert {(a.status, a.resolution, a.note, a.reviewed_by_id) for a in reviewed} == {
        ("reviewed", "expected_use", "Pool filling", ops.pk)
    }
    assert Anomaly.objects.get(pk=anomalies["leak"].pk).status == Status.OPEN
    assert AuditEvent.objects.filter(action="anomaly.review").count() == 2


def test_bulk_resolve_without_a_selection_says_so(client_for, ops, anomalies):
    response = client_for(ops).post(reverse("anomalies:bulk_review"), {"resolution": "false_alarm"}, follow=True)
    assert "Tick the anomalies to resolve first." in response.content.decode()


def test_run_detection_now_runs_the_detection_task(client_for, ops, carol, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # queued on commit, run by the (immediate) worker
        response = client_for(ops).post(reverse("anomalies:run"), {"method": "rolling"}, follow=True)
    assert "Detection started" in response.content.decode()
    run = DetectionRun.objects.get()
    assert run.method == "rolling" and run.triggered_by == ops and run.state == "finished"


def test_the_queue_page_makes_a_fixed_number_of_queries(client_for, ops, anomalies, django_assert_max_num_queries):
    client = client_for(ops)
    client.get(QUEUE)
    for day in range(20):
        make_anomaly(anomalies["new"].customer, datetime.date(2026, 1, 1) + datetime.timedelta(days=day))
    with django_assert_max_num_queries(12):
        client.get(QUEUE)


def test_the_admin_lets_operations_resolve_in_bulk(client_for, ops, anomalies):
    ops.is_staff = True
    ops.save()
    client = client_for(ops)
    changelist = reverse("admin:anomalies_anomaly_changelist")
    assert client.get(changelist, {"method__exact": "leak"}).status_code == 200
    selected = [anomalies["leak"].pk]
    page = client.post(changelist, {"action": "resolve_selected", "_selected_action": selected})
    assert "Mark reviewed" in page.content.decode()
    client.post(
        changelist,
        {"action": "resolve_selected", "_selected_action": selected, "resolution": "meter_fault", "note": "Stuck"},
    )
    anomaly = Anomaly.objects.get(pk=selected[0])
    assert (anomaly.status, anomaly.resolution, anomaly.reviewed_by) == ("reviewed", "meter_fault", ops)


def test_the_admin_shows_billing_anomalies_but_not_the_resolve_action(client_for, biller, anomalies):
    client = client_for(biller)
    changelist = reverse("admin:anomalies_anomaly_changelist")
    response = client.get(changelist)
    assert response.status_code == 200 and "resolve_selected" not in response.content.decode()
    client.post(
        changelist,
        {"action": "resolve_selected", "_selected_action": [anomalies["leak"].pk], "resolution": "meter_fault"},
    )
    assert Anomaly.objects.get(pk=anomalies["leak"].pk).status == Status.OPEN
