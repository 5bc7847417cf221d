"""detect_anomalies and export_anomalies against the database (SPEC §3, §7)."""

import csv
import datetime
import io
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import AuditEvent
from anomalies.models import Anomaly, DetectionRun, Digest, Incident, Method, Resolution, Status
from anomalies.services import AnomalyError, anomalies_detect, anomaly_review
from anomalies.tests.factories import store_reads
from conftest import make_customer, make_staff
from metering.models import MeterRead

pytestmark = pytest.mark.django_db

REAL_EXPORT = Path(__file__).resolve().parents[2] / "fixtures" / "TX_Daily_Water_Usage_101887055.xlsx"
DAY0 = datetime.date(2024, 1, 1)


@pytest.fixture
def noah(db):
    """Location 101887055 with the real export's 2,830 reads."""
    customer = make_customer("101887055", "Noah Hernandez", cycle_number=20)
    export = pd.read_excel(REAL_EXPORT, engine="calamine")
    dates = pd.to_datetime(export[["Year", "Month", "Day"]])
    MeterRead.objects.bulk_create(
        MeterRead(customer=customer, read_date=d.date(), usage_ccf=Decimal(f"{u:.4f}"))
        for d, u in zip(dates, export["Daily Water Usage (CCF)"], strict=True)
    )
    return customer


def detect(*methods, **options):
    out = io.StringIO()
    call_command("detect_anomalies", *[f"--method={m}" for m in methods], stdout=out, **options)
    return out.getvalue()


def test_zscore_over_the_real_export_records_119_days(noah):
    output = detect("zscore")
    assert Anomaly.objects.filter(customer=noah, method=Method.ZSCORE).count() == 119
    run = DetectionRun.objects.get()
    assert (run.method, run.state, run.found, run.created) == ("zscore", "finished", 119, 119)
    assert run.reads_assessed == 2830 and run.customers_assessed == 1 and run.actor_label == "command detect_anomalies"
    assert "zscore: 119 anomalous days (119 new, 0 withdrawn)" in output


def test_an_anomaly_keeps_usage_mean_std_method_and_when_found(noah):
    detect("zscore")
    first = Anomaly.objects.filter(method=Method.ZSCORE).order_by("date").first()
    assert first.date == datetime.date(2018, 9, 16) and first.usage_ccf == Decimal("0.8400")
    assert abs(first.mean_ccf - Decimal("0.307855")) < Decimal("0.000001")
    assert abs(first.std_ccf - Decimal("0.163763")) < Decimal("0.000001")
    assert first.detected_at is not None and first.status == Status.OPEN


def test_a_rerun_keeps_reviews_and_creates_nothing_new(noah, ops):
    detect("zscore", "rolling")
    anomaly = Anomaly.objects.filter(method=Method.ZSCORE).order_by("date").first()
    anomaly_review(anomaly=anomaly, reviewer=ops, resolution=Resolution.METER_FAULT, note="Meter swapped")
    before = list(Anomaly.objects.order_by("pk").values())
    output = detect("zscore", "rolling")
    assert list(Anomaly.objects.order_by("pk").values()) == before
    assert "(0 new, 0 withdrawn)" in output
    anomaly.refresh_from_db()
    assert (anomaly.status, anomaly.resolution, anomaly.reviewed_by) == ("reviewed", "meter_fault", ops)


def test_corrected_reads_refresh_figures_and_withdraw_open_days_but_never_reviewed_ones(ops):
    alice = make_customer("100000010", "Alice Archer")
    store_reads(alice, DAY0, [0.4, 0.6] * 15 + [3.0, 2.5])
    detect("zscore")
    late, early = Anomaly.objects.order_by("-date")
    anomaly_review(anomaly=late, reviewer=ops, resolution=Resolution.EXPECTED_USE)
    # Corrected reads: the last day is ordinary after all, and the other now stands out more.
    MeterRead.objects.filter(customer=alice, read_date=late.date).update(usage_ccf=Decimal("0.5"))
    output = detect("zscore")
    assert "(0 new, 0 withdrawn)" in output
    assert Anomaly.objects.filter(pk=late.pk, status=Status.REVIEWED).exists()  # the review survives
    early.refresh_from_db()
    assert early.mean_ccf < Decimal("0.6") and early.usage_ccf == Decimal("3.0000")
    MeterRead.objects.filter(customer=alice, read_date=early.date).update(usage_ccf=Decimal("0.5"))
    assert "(0 new, 1 withdrawn)" in detect("zscore")
    assert not Anomaly.objects.filter(pk=early.pk).exists()


def test_detection_without_a_method_runs_all_three_and_records_each_run(noah):
    detect()
    assert set(DetectionRun.objects.values_list("method", flat=True)) == {"zscore", "rolling", "leak"}
    assert set(Anomaly.objects.values_list("method", flat=True)) == {"zscore", "rolling", "leak"}
    assert AuditEvent.objects.filter(action="anomaly.detect").count() == 3


def test_an_unknown_method_is_refused_before_anything_runs(noah):
    with pytest.raises(CommandError):
        detect("median")
    with pytest.raises(AnomalyError):
        anomalies_detect(methods=["median"], notify=False)
    assert not DetectionRun.objects.exists()


def test_each_run_emails_one_digest_of_incidents_to_active_operations_staff(noah, ops, biller):
    make_staff("ops2@test.hydrospark.com", "Operations").__class__.objects.filter(
        email="ops2@test.hydrospark.com"
    ).update(is_active=False)
    make_staff("ops3@test.hydrospark.com", "Operations")
    detect("zscore", "rolling")
    [message] = mail.outbox
    assert sorted(message.to) == ["ops3@test.hydrospark.com", "ops@test.hydrospark.com"]
    incidents = Incident.objects.count()
    leaks = Incident.objects.filter(kind="leak").count()
    assert incidents < Anomaly.objects.count()  # runs of days, not days
    assert message.subject == f"HydroSpark: {incidents} new incidents ({leaks} possible leaks)"
    links = [line.strip() for line in message.body.splitlines() if "/staff/anomalies/" in line]
    assert len(links) == min(leaks, 20) + 20 + 1  # the leaks, the 20 costliest spikes and the queue
    costliest = Incident.objects.filter(kind="spike").order_by("-estimated_cost", "-end", "pk").first()
    spikes = message.body.split("The costliest new spikes")[1]
    assert re.search(r"/staff/anomalies/incidents/(\d+)/", spikes).group(1) == str(costliest.pk)
    assert message.alternatives[0].content.count("/staff/anomalies/") >= len(links)


def test_the_digest_lists_new_leaks_first_with_water_and_cost(ops):
    carol = make_customer("100000030", "Carol Leak")
    store_reads(carol, DAY0, [0.5, 0.55, 0.45, 0.5] * 20 + [1.6] * 12 + [0.5] * 10)
    detect("leak")
    body = mail.outbox[0].body
    assert body.index("Possible leaks, costliest first") < body.index("Open the incident queue")
    line = next(line for line in body.splitlines() if line.startswith("100000030 Carol Leak"))
    incident = Incident.objects.get()
    assert line == (
        f"100000030 Carol Leak: 12 days 2024-03-21 to 2024-04-01, {incident.excess_ccf:.2f} CCF "
        f"({incident.excess_gallons:,} gallons) above usual, about ${incident.estimated_cost} (leak)"
    )


def test_a_rerun_digest_says_there_is_nothing_new(noah, ops):
    detect("zscore")
    detect("zscore")
    assert "No new incidents" in mail.outbox[-1].body and "0 new" in mail.outbox[-1].subject


def test_a_digest_that_could_not_go_out_says_so_exits_1_and_goes_with_the_next_run(noah, ops, monkeypatch):
    from django.core.mail import EmailMultiAlternatives

    real_send = EmailMultiAlternatives.send

    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
    with pytest.raises(CommandError) as excinfo:
        detect("zscore")
    assert excinfo.value.returncode == 1 and "could not be sent" in str(excinfo.value)
    assert "Traceback" not in str(excinfo.value)
    failed = Digest.objects.get()
    assert failed.state == "failed" and "Connection refused" in failed.error
    covered = failed.incidents_covered
    assert covered == Incident.objects.count() > 0
    monkeypatch.setattr(EmailMultiAlternatives, "send", real_send)
    detect("zscore")
    [message] = mail.outbox
    assert message.subject.startswith(f"HydroSpark: {covered} new incidents")
    assert Digest.objects.filter(state="sent").get().incidents_covered == covered
    detect("zscore")
    assert mail.outbox[-1].subject.startswith("HydroSpark: 0 new incidents")


def test_no_email_option_sends_nothing(noah, ops):
    detect("zscore", no_email=True)
    assert mail.outbox == []


def test_export_writes_the_spec_columns_sorted_with_four_decimals(noah, tmp_path):
    bob = make_customer("100000002", "Bob Brown")
    store_reads(bob, DAY0, [0.5] * 29 + [3.25])
    detect("zscore", "rolling")
    target = tmp_path / "anomalies.csv"
    call_command("export_anomalies", "--method=zscore", f"--output={target}", stderr=io.StringIO())
    rows = list(csv.reader(target.open()))
    assert rows[0] == ["location_id", "date", "usage_ccf", "mean", "std", "method", "status"]
    assert len(rows) == 1 + 119 + 1
    assert rows[1] == ["100000002", "2024-01-30", "3.2500", "0.5917", "0.4936", "zscore", "open"]
    assert rows[2] == ["101887055", "2018-09-16", "0.8400", "0.3079", "0.1638", "zscore", "open"]
    dates = [r[1] for r in rows[2:]]
    assert dates == sorted(dates)


def test_export_without_a_method_writes_every_method_to_standard_output(noah):
    detect("zscore", "rolling")
    out = io.StringIO()
    call_command("export_anomalies", stdout=out, stderr=io.StringIO())
    methods = {line.split(",")[5] for line in out.getvalue().splitlines()[1:]}
    assert methods == {"zscore", "rolling"}


def test_export_to_an_unwritable_place_fails_with_exit_code_2(noah):
    with pytest.raises(CommandError) as excinfo:
        call_command("export_anomalies", "--output=/nonexistent/dir/out.csv", stderr=io.StringIO())
    assert excinfo.value.returncode == 2


def test_detection_without_any_reads_records_empty_runs(ops):
    runs = anomalies_detect(actor=ops)
    assert [(r.method, r.state, r.found, r.reads_assessed) for r in runs] == [
        ("zscore", "finished", 0, 0),
        ("rolling", "finished", 0, 0),
        ("leak", "finished", 0, 0),
    ]
    assert runs[0].triggered_by == ops and runs[0].actor_label == ops.email
    assert "No new incidents" in mail.outbox[0].body
