"""The portal's month ranges are right on every day: the 1st (when this month has no reads yet), the
15th, the last day of a month and 29 February, with time frozen at noon in Chicago."""

import csv
import datetime
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache

from hydrospark import periods
from metering import charts

from .conftest import give_reads

CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()


def freeze(time_machine, day: datetime.date):
    time_machine.move_to(datetime.datetime.combine(day, datetime.time(12), tzinfo=CHICAGO), tick=False)


def reads_until_yesterday(customer, today):
    give_reads(customer, first=periods.add_months(today.replace(day=1), -27), last=today - periods.ONE_DAY)


def month_labels(rows):
    return [f"{row.start:%Y-%m}" for row in rows]


# (today, the last 12 months shown, oldest and newest)
DAYS = [
    (datetime.date(2026, 12, 1), "2025-12", "2026-11"),  # the 1st: December has no reads yet
    (datetime.date(2026, 11, 15), "2025-12", "2026-11"),
    (datetime.date(2026, 11, 30), "2025-12", "2026-11"),  # the last day
    (datetime.date(2024, 2, 29), "2023-03", "2024-02"),  # leap day
    (datetime.date(2024, 3, 1), "2023-03", "2024-02"),  # the 1st after a leap day
    (datetime.date(2027, 1, 1), "2026-01", "2026-12"),  # the 1st of a year
]


@pytest.mark.parametrize(("today", "first", "last"), DAYS)
def test_last_12_months_shows_twelve_months_on_every_day(
    client_for, alice, alice_account, time_machine, today, first, last
):
    freeze(time_machine, today)
    reads_until_yesterday(alice_account, today)
    response = client_for(alice).get("/portal/usage/?range=12m")
    shown = month_labels(response.context["series"].rows)
    assert len(shown) == 12 and shown[0] == first and shown[-1] == last
    assert "12 months from" in response.context["chart_summary"]


@pytest.mark.parametrize(("today", "first", "last"), DAYS)
def test_the_dashboard_shows_13_months_and_highlights_one_that_is_there(
    client_for, alice, alice_account, time_machine, today, first, last
):
    freeze(time_machine, today)
    reads_until_yesterday(alice_account, today)
    client = client_for(alice)
    response = client.get("/portal/")
    series = response.context["series"]
    shown = month_labels(series.rows)
    assert len(shown) == 13 and shown[-1] == last
    assert series.highlighted == series.rows[-1].start
    assert f"{series.highlighted:%B} is highlighted" in response.content.decode()
    svg = client.get(response.context["chart_url"] + "&size=wide").content.decode()
    assert f"fill: {charts.BLUE}" in svg  # the highlighted bar is drawn


def test_on_the_1st_the_dashboard_says_no_reads_yet_this_month(client_for, alice, alice_account, time_machine):
    today = datetime.date(2026, 12, 1)
    freeze(time_machine, today)
    reads_until_yesterday(alice_account, today)
    page = client_for(alice).get("/portal/").content.decode()
    assert "Use so far in December" in page and "No reads yet this month" in page
    assert "November is highlighted" in page and "December is highlighted" not in page


def test_a_customer_without_reads_last_month_is_not_told_of_a_highlight(client_for, alice, alice_account, time_machine):
    today = datetime.date(2026, 12, 1)
    freeze(time_machine, today)
    give_reads(alice_account, first=datetime.date(2026, 1, 1), last=datetime.date(2026, 9, 30))
    response = client_for(alice).get("/portal/")
    assert response.context["series"].highlighted is None
    assert "is highlighted" not in response.content.decode()


@pytest.mark.parametrize("today", [datetime.date(2024, 3, 1), datetime.date(2024, 3, 30), datetime.date(2025, 3, 1)])
def test_30_days_around_29_february_still_compare_with_a_year_earlier(
    client_for, alice, alice_account, time_machine, today
):
    freeze(time_machine, today)
    reads_until_yesterday(alice_account, today)
    series = client_for(alice).get("/portal/usage/?range=30d").context["series"]
    assert len(series.rows) == 30 and series.rows[-1].start == today - periods.ONE_DAY
    compared = [row for row in series.rows if row.last_year_ccf is not None]
    assert len(compared) >= 29  # every day but 29 February itself has its twin a year earlier


@pytest.mark.parametrize(("today", "first", "last"), DAYS[:4])
def test_the_12_month_download_covers_the_months_the_page_shows(
    client_for, alice, alice_account, time_machine, today, first, last
):
    freeze(time_machine, today)
    reads_until_yesterday(alice_account, today)
    body = client_for(alice).get("/portal/usage/reads.csv?range=12m").content.decode()
    days = [row["date"] for row in csv.DictReader(io.StringIO(body))]
    assert days[0] == f"{first}-01" and days[-1][:7] == last
    assert len({day[:7] for day in days}) == 12


def test_the_chart_url_changes_when_a_new_month_starts_without_new_reads(
    client_for, alice, alice_account, time_machine
):
    """Same reads, next window: the browser keeps a chart for good, so its URL must change with the window."""
    give_reads(alice_account, first=datetime.date(2026, 1, 1), last=datetime.date(2026, 11, 29))
    client = client_for(alice)
    freeze(time_machine, datetime.date(2026, 11, 30))
    before = client.get("/portal/").context["chart_url"]
    freeze(time_machine, datetime.date(2026, 12, 2))
    after = client.get("/portal/").context["chart_url"]
    assert before != after
