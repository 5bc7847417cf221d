"""Meter data in the admin (issue 7): a read list that stays cheap over millions of reads (no date
hierarchy, index-friendly search and date filter), import history with date drill-down on every
database, and Operations' retry of a stalled upload."""

import datetime
import re
from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.admin import time_zone_dates_work
from conftest import make_customer
from metering import admin as metering_admin
from metering.models import ImportRun, ImportStatus, MeterRead, ReadCorrection
from metering.services import meter_upload_create

from .conftest import export_text, import_usage, row

pytestmark = pytest.mark.django_db

READS = reverse("admin:metering_meterread_changelist")
RUNS = reverse("admin:metering_importrun_changelist")
TODAY = datetime.date(2024, 6, 15)


@pytest.fixture
def reads(alice_account, bob_account):
    """Alice (100000001) and Bob (100000002): a read a day, Jan 1 to Jun 14, 2024; and Carol (200000001)."""
    carol = make_customer("200000001", "Carol Cole")
    days = [datetime.date(2024, 1, 1) + datetime.timedelta(days=n) for n in range(166)]
    MeterRead.objects.bulk_create(
        MeterRead(customer=customer, read_date=day, usage_ccf=Decimal("0.5"))
        for customer in (alice_account, bob_account, carol)
        for day in days
    )


def listed(html) -> list[tuple[str, str]]:
    """(read date, location ID) of each row of the read list."""
    pattern = r'<th class="field-read_date[^"]*"><a [^>]*>([^<]+)</a></th><td class="field-location_id">(\d+)'
    return re.findall(pattern, html)


@time_machine.travel(datetime.datetime(2024, 6, 15, 17, tzinfo=datetime.UTC), tick=False)
def test_the_read_list_runs_no_distinct_over_the_reads_and_counts_once(client_for, support, reads):
    with CaptureQueriesContext(connection) as queries:
        html = client_for(support).get(READS).content.decode()
    sql = [q["sql"].upper() for q in queries if "METERING_METERREAD" in q["sql"].upper()]
    assert not any("DISTINCT" in s for s in sql)
    assert sum("COUNT(" in s for s in sql) == 1  # the page's count; no second full count, no facet counts
    assert "toplinks" not in html and "Yesterday" in html and 'type="date"' in html


def test_the_read_list_needs_no_join_or_sort_over_every_read(client_for, support, reads):
    with CaptureQueriesContext(connection) as queries:
        client_for(support).get(READS)
    page = next(q["sql"] for q in queries if q["sql"].startswith("SELECT") and "LIMIT 100" in q["sql"])
    assert "JOIN" not in page.upper() and "location_id" not in page  # newest first on the read_date index
    customers = [q for q in queries if re.search(r'FROM [`"]?accounts_customer[`"]? WHERE .*\bIN\b', q["sql"])]
    assert len(customers) == 1  # the page's customers, in one query


def test_a_big_unfiltered_read_list_takes_its_total_from_the_table_statistics(client_for, support, reads, monkeypatch):
    monkeypatch.setattr(metering_admin, "reads_count_estimate", lambda: 4_000_000)
    client = client_for(support)
    assert "4000000 meter reads" in client.get(READS).content.decode()
    assert "166 meter reads" in client.get(READS, {"q": "100000001"}).content.decode()  # filtered: exact


@time_machine.travel(datetime.datetime(2024, 6, 15, 17, tzinfo=datetime.UTC), tick=False)
def test_reads_filter_by_ready_ranges_and_by_an_inclusive_from_to(client_for, support, reads):
    client = client_for(support)
    one_day = {"read_date__gte": "2024-06-14", "read_date__lte": "2024-06-14"}
    yesterday = listed(client.get(READS, one_day).content.decode())
    assert {day for day, _ in yesterday} == {"June 14, 2024"} and len(yesterday) == 3
    html = client.get(READS, {"read_date__gte": "2024-03-01", "read_date__lte": "2024-03-02", "q": "100000001"})
    assert listed(html.content.decode()) == [("March 2, 2024", "100000001"), ("March 1, 2024", "100000001")]
    page = client.get(READS, {"read_date__gte": "", "read_date__lte": "2024-01-01"})  # an empty box is ignored
    assert page.status_code == 200 and len(listed(page.content.decode())) == 3


def test_the_from_to_form_keeps_the_search_and_the_other_parameters(client_for, support, reads):
    html = client_for(support).get(READS, {"q": "2000", "o": "1"}).content.decode()
    form = html[html.index('name="read_date__gte"') - 600 :]
    assert '<input type="hidden" name="q" value="2000">' in form and '<input type="hidden" name="o" value="1">' in form


def test_the_read_search_takes_an_exact_location_id_or_its_first_digits(client_for, support, reads):
    client = client_for(support)
    exact = listed(client.get(READS, {"q": "100000001"}).content.decode())
    assert exact and {location for _, location in exact} == {"100000001"}
    prefix = listed(client.get(READS, {"q": "1000000"}).content.decode())
    assert {location for _, location in prefix} == {"100000001", "100000002"}
    assert listed(client.get(READS, {"q": "0001"}).content.decode()) == []  # not a substring search


def test_the_read_search_uses_the_location_id_index_never_a_substring_scan(client_for, support, reads):
    with CaptureQueriesContext(connection) as queries:
        client_for(support).get(READS, {"q": "1000000"})
    lookups = [q["sql"] for q in queries if "location_id" in q["sql"] and "accounts_customer" in q["sql"]]
    assert lookups and not any("%1000000%" in s or "UPPER(" in s.upper() for s in lookups)
    assert any("1000000%" in s or "1000000\\%" in s or "LIKE" in s.upper() for s in lookups)


def test_corrections_are_found_by_location_or_import_number(client_for, ops, export_file):
    import_usage(export_file([row(usage="0.5")]))
    import_usage(export_file([row(usage="0.7")]))
    correction = ReadCorrection.objects.get()
    url = reverse("admin:metering_readcorrection_changelist")
    client = client_for(ops)
    assert f"/{correction.pk}/change/" in client.get(url, {"q": "300000001"}).content.decode()
    assert f"/{correction.pk}/change/" in client.get(url, {"q": str(correction.import_run_id)}).content.decode()
    assert f"/{correction.pk}/change/" not in client.get(url, {"q": "9999"}).content.decode()
    assert client.get(url, {"q": "abc"}).status_code == 200  # not a number: no match, no error


def test_import_runs_drill_down_by_date_on_this_database(client_for, ops, export_file):
    import_usage(export_file([row()]))
    run = ImportRun.objects.get()
    local = timezone.localtime(run.created_at)
    client = client_for(ops)
    html = client.get(RUNS).content.decode()
    assert time_zone_dates_work(), "load the time zone tables (mariadb-tzinfo-to-sql) into MariaDB"
    assert "created_at__year=" in html  # the drill-down is there
    day = {"created_at__year": local.year, "created_at__month": local.month, "created_at__day": local.day}
    assert f"/{run.pk}/change/" in client.get(RUNS, day).content.decode()
    assert f"/{run.pk}/change/" not in client.get(RUNS, {**day, "created_at__year": local.year - 1}).content.decode()


@pytest.mark.parametrize("who", ["biller", "support"])
def test_only_operations_see_the_import_history_in_the_admin(client_for, request, who):
    assert client_for(request.getfixturevalue(who)).get(RUNS).status_code == 403


def test_operations_retry_a_stalled_upload_from_the_admin(client_for, ops, django_capture_on_commit_callbacks):
    noon = datetime.datetime(2024, 6, 1, 17, tzinfo=datetime.UTC)
    with time_machine.travel(noon, tick=False) as clock:
        file = SimpleUploadedFile("march.csv", export_text([row()]).encode())
        run = meter_upload_create(uploaded_file=file, actor=ops)
        ImportRun.objects.filter(pk=run.pk).update(status=ImportStatus.RUNNING, started_at=noon)
        clock.shift(datetime.timedelta(minutes=30))
        client = client_for(ops)
        html = client.get(RUNS).content.decode()
        assert "Stalled" in html and "Retry the selected stalled or failed uploads" in html
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(RUNS, {"action": "retry", "_selected_action": [run.pk]}, follow=True)
    retry = ImportRun.objects.get(retry_of=run)
    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert f"Import #{run.pk} is retried as import #{retry.pk}." in messages
    assert retry.status == ImportStatus.DONE and MeterRead.objects.count() == 1
