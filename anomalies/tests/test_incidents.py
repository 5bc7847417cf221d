"""Incidents kept up to date by detection (SPEC §3a): idempotent, reviews kept, extended by new days, exported."""

import csv
import datetime
import io
import threading
from decimal import Decimal

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import connection, connections

from accounts.models import AuditEvent
from anomalies.incident_services import incident_contact_record, incidents_review, incidents_sync
from anomalies.models import Anomaly, Incident, Method, Resolution, Status
from anomalies.services import anomalies_detect, anomaly_review
from anomalies.tests.factories import make_anomaly, store_reads
from conftest import make_customer
from metering.models import MeterRead
from metering.selectors import reads_frame

pytestmark = pytest.mark.django_db
JULY = datetime.date(2024, 7, 1)


def day(n: int) -> datetime.date:
    return JULY + datetime.timedelta(days=n - 1)


def sync():
    return incidents_sync(reads=reads_frame())


def stored():
    return list(Incident.objects.order_by("pk").values())


@pytest.fixture
def dora(db):
    """29 days of 0.4 CCF and one of 3.4 in July: a typical month of 0.5 × 30.4375 = 15.2188 CCF (second tier)."""
    customer = make_customer("200000001", "Dora Drip")
    store_reads(customer, day(1), [0.4] * 9 + [3.4] + [0.4] * 20)
    return customer


def test_rerunning_changes_nothing(dora):
    make_anomaly(dora, day(10), usage="3.4", mean="0.4")
    make_anomaly(dora, day(12), method=Method.ROLLING, usage="1.4", mean="0.4")
    assert sync()["created"] == 1
    before = stored()
    assert sync() == {"created": 0, "updated": 0, "merged": 0, "removed": 0}
    assert stored() == before


def test_the_cost_is_the_excess_at_the_customers_tier_and_month(dora):
    make_anomaly(dora, day(10), usage="3.4", mean="0.4")  # 3 CCF above usual in July's second tier: 3 × 3.00 × 1.2
    sync()
    incident = Incident.objects.get()
    assert (incident.excess_ccf, incident.estimated_cost) == (Decimal("3.0000"), Decimal("10.80"))
    assert incident.typical_month_ccf == Decimal("15.2188") and incident.excess_gallons == 2244
    assert (incident.kind, incident.days, incident.methods, incident.notify) == ("spike", 1, "zscore", False)


def test_a_reviewed_incident_stays_reviewed_and_a_new_day_next_to_it_extends_it(dora, ops):
    make_anomaly(dora, day(10), usage="3.4", mean="0.4")
    sync()
    incident = Incident.objects.get()
    incidents_review(incidents=[incident], reviewer=ops, resolution=Resolution.EXPECTED_USE, note="Pool filled")
    make_anomaly(dora, day(12), usage="1.4", mean="0.4")  # a one-day gap: the same incident
    assert sync()["updated"] == 1
    incident.refresh_from_db()
    assert (incident.start, incident.end, incident.days, incident.excess_ccf) == (day(10), day(12), 2, Decimal("4"))
    assert (incident.status, incident.resolution, incident.note) == ("reviewed", "expected_use", "Pool filled")


def test_three_days_make_a_leak_and_a_day_two_days_away_another_incident(dora):
    for n in (10, 11, 13):
        make_anomaly(dora, day(n), usage="1.4", mean="0.4")
    make_anomaly(dora, day(16), usage="1.4", mean="0.4")
    sync()
    assert list(Incident.objects.order_by("start").values_list("start", "end", "days", "kind")) == [
        (day(10), day(13), 3, "leak"),
        (day(16), day(16), 1, "spike"),
    ]


def test_a_day_that_bridges_two_incidents_joins_them_into_the_first_keeping_contacts(dora, ops):
    make_anomaly(dora, day(10), usage="1.4", mean="0.4")
    make_anomaly(dora, day(14), usage="1.4", mean="0.4")
    sync()
    first, second = Incident.objects.order_by("start")
    incident_contact_record(incident=second, user=ops, channel="phone", note="Left a message")
    make_anomaly(dora, day(12), usage="1.4", mean="0.4")
    assert sync()["merged"] == 1
    merged = Incident.objects.get()
    assert merged.pk == first.pk and (merged.start, merged.end, merged.days, merged.kind) == (
        day(10),
        day(14),
        3,
        "leak",
    )
    assert [c.note for c in merged.contacts.all()] == ["Left a message"]


def test_an_open_incident_whose_days_are_withdrawn_is_removed(dora):
    anomaly = make_anomaly(dora, day(10), usage="3.4", mean="0.4")
    sync()
    anomaly.delete()
    assert sync()["removed"] == 1 and not Incident.objects.exists()


def test_reviewing_an_incident_reviews_its_open_days_with_who_and_why(dora, ops):
    days = [make_anomaly(dora, day(n), usage="1.4", mean="0.4") for n in (10, 11)]
    elsewhere = make_anomaly(dora, day(20), usage="1.4", mean="0.4")
    sync()
    incident = Incident.objects.get(start=day(10))
    incidents_review(incidents=[incident], reviewer=ops, resolution=Resolution.LEAK_CONFIRMED, note="Toilet")
    for anomaly in days:
        anomaly.refresh_from_db()
        assert (anomaly.status, anomaly.resolution, anomaly.note, anomaly.reviewed_by) == (
            "reviewed",
            "leak_confirmed",
            "Toilet",
            ops,
        )
    elsewhere.refresh_from_db()
    assert elsewhere.status == "open"
    assert AuditEvent.objects.filter(action="incident.review", actor=ops).count() == 1


def test_a_refresh_of_changed_figures_never_reopens_a_reviewed_day(dora, ops):
    anomalies_detect(methods=["zscore"], notify=False)
    spike = Anomaly.objects.get(date=day(10))
    anomaly_review(anomaly=spike, reviewer=ops, resolution=Resolution.METER_FAULT, note="Meter swapped")
    MeterRead.objects.filter(customer=dora, read_date=day(1)).update(usage_ccf=Decimal("0.1"))  # a correction
    anomalies_detect(methods=["zscore"], notify=False)
    spike.refresh_from_db()
    assert spike.mean_ccf != Decimal("0.5")  # the figures were refreshed...
    assert (spike.status, spike.resolution, spike.note) == (
        "reviewed",
        "meter_fault",
        "Meter swapped",
    )  # not the review


def test_export_incidents_writes_the_spec_columns_sorted_by_location_then_start(dora, ops, tmp_path):
    eve = make_customer("100000005", "Eve Early")
    make_anomaly(dora, day(20), usage="1.4", mean="0.4")
    make_anomaly(dora, day(10), usage="3.4", mean="0.4")
    make_anomaly(dora, day(10), method=Method.ROLLING, usage="3.4", mean="0.5")
    for n in (3, 4, 5):
        make_anomaly(eve, day(n), method=Method.LEAK, usage="1.0", mean="0.3")
    sync()
    incidents_review(incidents=Incident.objects.filter(start=day(20)), reviewer=ops, resolution="false_alarm")
    target = tmp_path / "incidents.csv"
    call_command("export_incidents", f"--output={target}", stderr=io.StringIO())
    rows = list(csv.reader(target.open()))
    assert rows[0] == [
        "location_id",
        "kind",
        "start",
        "end",
        "days",
        "methods",
        "excess_ccf",
        "estimated_cost",
        "status",
    ]
    assert rows[1][:7] == ["100000005", "leak", "2024-07-03", "2024-07-05", "3", "leak", "2.1000"]
    assert rows[2] == [
        "200000001",
        "spike",
        "2024-07-10",
        "2024-07-10",
        "1",
        "rolling+zscore",
        "2.9000",
        "10.44",
        "open",
    ]
    assert rows[3][0:3] == ["200000001", "spike", "2024-07-20"] and rows[3][-1] == "reviewed"
    out = io.StringIO()
    call_command("export_incidents", "--status=reviewed", stdout=out, stderr=io.StringIO())
    assert [line.split(",")[2] for line in out.getvalue().splitlines()[1:]] == ["2024-07-20"]


# --- two detections at once (issue 11.7): PostgreSQL and MariaDB --------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_detections_at_once_report_each_new_day_and_incident_once():
    if connection.vendor not in ("postgresql", "mysql"):
        pytest.skip("SQLite runs one writer at a time; the race needs PostgreSQL or MariaDB")
    customers = [make_customer(f"40000000{i}", f"Racer {i}", f"racer{i}@example.com") for i in range(4)]
    today = datetime.date.today()
    for customer in customers:
        store_reads(customer, today - datetime.timedelta(days=60), [0.4, 0.5] * 29 + [9.0, 0.45])
    results, errors = [], []
    barrier = threading.Barrier(2)

    def detect():
        try:
            barrier.wait()
            results.append(anomalies_detect(methods=["zscore", "rolling"]))
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=detect) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    created = sum(run.created for runs in results for run in runs)
    assert created == Anomaly.objects.count() > 0
    assert Incident.objects.count() == len(customers)
    emails = [m for m in mail.outbox if m.to[0].startswith("racer")]
    assert sorted(m.to[0] for m in emails) == sorted(c.user.email for c in customers)
    assert Incident.objects.filter(status=Status.OPEN, customer_emailed_at__isnull=False).count() == len(customers)
