"""Meter reads partitioned by month on PostgreSQL (issue 18, item 1): routing, months made before an import
writes (never refused), detaching old months. SQLite and MariaDB keep one plain table: the commands say so."""

import datetime
import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from conftest import make_customer
from metering.models import ImportRun, MeterRead
from metering.partitions import DEFAULT, is_partitioned, partition_name, read_partitions, read_partitions_ensure
from metering.selectors import reads_count_estimate

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="partitions are PostgreSQL's")
HEADER = "Customer Name,Mailing Address,Location ID,Customer Type,Cycle Number,Year,Month,Day,Daily Water Usage (CCF)\n"


def _partition_of(read: MeterRead) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {MeterRead._meta.db_table} WHERE id = %s", [read.pk])
        return cursor.fetchone()[0]


def _export(tmp_path, *days: datetime.date, usage="0.5") -> str:
    path = tmp_path / "export.csv"
    rows = "".join(
        f'Pat Doe,"1 Elm St, Dallas, TX 75201",700000001,Residential,1,{d.year},{d.month},{d.day},{usage}\n'
        for d in days
    )
    path.write_text(HEADER + rows)
    return str(path)


def _import(path: str) -> ImportRun:
    call_command("import_usage", path, stdout=io.StringIO())  # the command's path: COPY on PostgreSQL
    return ImportRun.objects.latest("pk")


@on_postgresql
def test_the_reads_table_is_partitioned_with_this_month_and_a_default(db):
    assert is_partitioned()
    assert datetime.date.today().replace(day=1) in read_partitions()


@on_postgresql
def test_a_read_lands_in_its_months_partition(db):
    customer = make_customer("700000009", "Sam Doe")
    month = datetime.date.today().replace(day=1)
    read = MeterRead.objects.create(customer=customer, read_date=month, usage_ccf=Decimal("1.5"))
    assert _partition_of(read) == partition_name(month)


@on_postgresql
def test_an_import_of_a_month_without_a_partition_creates_it_and_is_not_refused(db, tmp_path):
    march_2019 = datetime.date(2019, 3, 1)
    assert march_2019 not in read_partitions()
    run = _import(_export(tmp_path, datetime.date(2019, 3, 5), datetime.date(2019, 4, 30)))
    assert (run.reads_created, run.rows_rejected) == (2, 0)
    assert {march_2019, datetime.date(2019, 4, 1)} <= set(read_partitions())
    partitions = {_partition_of(read) for read in MeterRead.objects.all()}
    assert partitions == {"metering_meterread_p2019_03", "metering_meterread_p2019_04"}


@on_postgresql
def test_a_correction_through_copy_and_on_conflict_stays_in_its_partition(db, tmp_path):
    day = datetime.date(2019, 6, 10)
    _import(_export(tmp_path, day, usage="0.5"))
    run = _import(_export(tmp_path, day, usage="0.75"))
    read = MeterRead.objects.get()
    assert (run.reads_corrected, read.usage_ccf, _partition_of(read)) == (1, Decimal("0.7500"), partition_name(day))


@on_postgresql
def test_a_read_written_before_its_month_exists_moves_out_of_the_default_partition(db):
    customer = make_customer("700000010", "Lee Doe")
    read = MeterRead.objects.create(customer=customer, read_date=datetime.date(2018, 1, 9), usage_ccf=Decimal("2"))
    assert _partition_of(read) == DEFAULT  # accepted, never refused
    out = io.StringIO()
    call_command("ensure_read_partitions", "--months-ahead", "1", stdout=out)  # this month and the next: exist
    assert out.getvalue().strip() == "Nothing to do."
    assert read_partitions_ensure(first=datetime.date(2018, 1, 1), last=datetime.date(2018, 1, 31)) == [
        "metering_meterread_p2018_01"
    ]
    assert _partition_of(read) == "metering_meterread_p2018_01"
    assert MeterRead.objects.get(pk=read.pk).usage_ccf == Decimal("2.0000")


@on_postgresql
def test_ensure_read_partitions_makes_the_months_ahead(db):
    out = io.StringIO()
    call_command("ensure_read_partitions", "--months-ahead", "6", stdout=out)
    six_ahead = datetime.date.today().replace(day=1)
    for _ in range(6):
        six_ahead = (six_ahead + datetime.timedelta(days=32)).replace(day=1)
    assert six_ahead in read_partitions() and "Created" in out.getvalue()


@on_postgresql
def test_archive_reads_detaches_the_old_months_and_keeps_the_others(db, tmp_path, settings):
    settings.READS_RETENTION_MONTHS = 12
    _import(_export(tmp_path, datetime.date(2019, 1, 5), datetime.date(2019, 2, 5), datetime.date.today()))
    out = io.StringIO()
    call_command("archive_reads", "--before", "2019-02", stdout=out)
    assert out.getvalue().startswith("Detached 1 month(s) before 2019-02: metering_meterread_p2019_01")
    assert sorted(MeterRead.objects.values_list("read_date", flat=True)) == [
        datetime.date(2019, 2, 5),
        datetime.date.today(),
    ]
    with connection.cursor() as cursor:  # the month is a table of its own, to dump and drop
        cursor.execute("SELECT count(*) FROM metering_meterread_p2019_01")
        assert cursor.fetchone()[0] == 1


@on_postgresql
def test_archive_reads_refuses_a_month_inside_the_retention(db, settings):
    settings.READS_RETENTION_MONTHS = 12
    with pytest.raises(CommandError, match="inside the 12 months kept") as refused:
        call_command("archive_reads", "--before", f"{datetime.date.today():%Y-%m}")
    assert refused.value.returncode == 2


@on_postgresql
def test_the_reads_count_estimate_adds_up_the_partitions(db, tmp_path):
    _import(_export(tmp_path, datetime.date(2019, 1, 5), datetime.date(2019, 2, 5)))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE metering_meterread")
    assert reads_count_estimate() == 2


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the plain table of SQLite and MariaDB")
def test_elsewhere_the_reads_stay_one_plain_table(db):
    assert not is_partitioned() and read_partitions() == {}
    out = io.StringIO()
    call_command("ensure_read_partitions", stdout=out)
    assert "one plain table" in out.getvalue()
    with pytest.raises(CommandError, match="one plain table") as refused:
        call_command("archive_reads", "--before", "2000-01")
    assert refused.value.returncode == 2


@on_postgresql
def test_the_import_makes_its_months_before_its_write_transaction(db, tmp_path, monkeypatch):
    # Attaching a partition locks the default one: inside the import's transaction it would be held (and block
    # every reader of the reads table) until the whole file is written.
    from metering import services

    seen = {}
    save = services._save

    def recording_save(run, batch, progress):
        seen["months"] = set(read_partitions())
        return save(run, batch, progress)

    monkeypatch.setattr(services, "_save", recording_save)
    _import(_export(tmp_path, datetime.date(2017, 5, 2)))
    assert datetime.date(2017, 5, 1) in seen["months"]
