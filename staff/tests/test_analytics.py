import csv
import datetime
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import CustomerType
from anomalies.tests.factories import store_reads
from conftest import make_customer
from staff import analytics, tasks

from .conftest import make_bill, make_payment

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 6, 15)
ON_TODAY = time_machine.travel(datetime.datetime(2026, 6, 15, 9, tzinfo=ZoneInfo("America/Chicago")), tick=False)


def d(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def days(start: str, end: str) -> int:
    return (d(end) - d(start)).days + 1


def reads(customer, start: str, end: str, ccf_per_day) -> None:
    store_reads(customer, d(start), [ccf_per_day] * days(start, end))


@pytest.fixture
def usage(db):
    """Spring reads of 2025 and 2026: Alice doubles, Carl grows 10 %, Dora falls, Tiny's use is negligible,
    Bea (commercial) is new in 2026."""
    alice = make_customer("100000001", "Alice Archer")
    bea = make_customer("100000002", "Bea Brown", customer_type=CustomerType.COMMERCIAL)
    carl = make_customer("100000003", "Carl Cruz")
    dora = make_customer("100000004", "Dora Diaz", customer_type=CustomerType.MUNICIPAL)
    tiny = make_customer("100000005", "Tiny Tim")
    for customer, before, after in [(alice, 0.5, 1.0), (carl, 1.0, 1.1), (dora, 2.0, 0.9), (tiny, 0.01, 0.05)]:
        reads(customer, "2025-03-01", "2025-05-31", before)
        reads(customer, "2026-03-01", "2026-05-31", after)
    reads(bea, "2026-03-01", "2026-06-14", 2.0)
    return {"alice": alice, "bea": bea, "carl": carl, "dora": dora, "tiny": tiny}


def tables():
    return analytics.snapshot_refresh(kind="consumption", today=TODAY).tables


def row(table, first_cell):
    return next(r for r in table.rows if r[0] == first_cell)


def test_consumption_by_month_sums_each_customer_type(usage):
    table = tables()["consumption-by-month"]
    assert table.columns == ["Month", "Residential", "Commercial", "Municipal", "Total", "Customers read"]
    assert row(table, "2026-05") == pytest.approx(("2026-05", 31 * 2.15, 62.0, 27.9, 31 * 2.15 + 89.9, 5))
    assert row(table, "2026-06 (to date)") == ("2026-06 (to date)", 0.0, 28.0, 0.0, 28.0, 1)
    assert table.rows[0][0] == "2024-06" and len(table.rows) == 25


def test_this_year_against_last_compares_complete_months_only(usage):
    table = tables()["year-over-year"]
    may = row(table, "May")
    assert may[1] == pytest.approx(31 * 3.51) and may[2] == pytest.approx(31 * 3.05 + 62)
    assert may[3] == pytest.approx(round((31 * 3.05 + 62 - 31 * 3.51) / (31 * 3.51) * 100, 1))
    assert row(table, "June (to date)")[3] is None
    assert row(table, "July") == ("July", None, None, None)


def test_top_consumers_rank_the_last_twelve_complete_months(usage):
    table = tables()["top-consumers"]
    assert [r[0] for r in table.rows] == ["100000002", "100000003", "100000001", "100000004", "100000005"]
    assert table.rows[0][:4] == ("100000002", "Bea Brown", "Commercial", 2.0 * days("2026-03-01", "2026-05-31"))


def test_rising_fastest_compares_daily_use_with_the_same_months_a_year_earlier(usage):
    table = tables()["rising-fastest"]
    # Dora fell, Tiny's baseline is too small to mean anything, Bea has no year-earlier reads
    assert [(r[0], r[-1]) for r in table.rows] == [("100000001", 100.0), ("100000003", 10.0)]
    assert table.rows[0][3:5] == (46.0, 92.0)


def test_rising_fastest_leaves_out_customers_read_on_too_few_days(usage):
    late = make_customer("100000006", "Lou Late")
    reads(late, "2025-03-01", "2025-05-31", 1.0)
    reads(late, "2026-05-01", "2026-05-31", 5.0)  # a month of three: not a fair comparison
    assert "100000006" not in [r[0] for r in tables()["rising-fastest"].rows]


def test_tables_download_as_csv_with_usage_to_four_decimals(client_for, support, usage):
    with ON_TODAY:
        response = client_for(support).get("/staff/analytics/top-consumers.csv")
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="top-consumers-2026-06-15.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Location ID", "Customer", "Type", "CCF", "CCF per day"]
    assert rows[1] == ["100000002", "Bea Brown", "Commercial", "184.0000", "2.0000"]


def test_an_unknown_table_or_chart_is_404(client_for, support):
    assert client_for(support).get("/staff/analytics/nothing.csv").status_code == 404
    assert client_for(support).get("/staff/analytics/charts/nothing.svg").status_code == 404


@pytest.mark.parametrize("slug", ["consumption-by-month", "year-over-year", "revenue-by-month", "receivables-aging"])
def test_each_chart_is_an_svg(client_for, support, usage, slug):
    make_payment(make_bill(usage["alice"], d("2026-04-01"), "40.00"), "15.00", d("2026-05-10"))
    with ON_TODAY:
        response = client_for(support).get(f"/staff/analytics/charts/{slug}.svg")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert b"<svg" in response.content


def test_the_page_shows_every_table(client_for, billing_user, usage):
    with ON_TODAY:
        html = client_for(billing_user).get("/staff/analytics/").content.decode()
    for title in ["Consumption by month", "This year against last", "Top consumers", "Use rising fastest"]:
        assert title in html
    assert "Revenue billed and collected" in html and "Receivables aging" in html
    assert 'href="/staff/customers/100000002/"' in html


@pytest.fixture
def billing_user(biller):
    return biller


def test_new_reads_bring_the_figures_up_to_date(client_for, support, usage):
    client = client_for(support)
    with ON_TODAY:
        client.get("/staff/analytics/")
        reads(usage["alice"], "2026-06-01", "2026-06-14", 10.0)
        html = client.get("/staff/analytics/").content.decode()
    assert "168.0" in html  # Alice's 140 CCF in June joined Bea's 28


class FakeTask:
    """A task backend that never runs anything: what a page sees while the worker is busy."""

    def __init__(self, queued):
        self.queued = queued

    def enqueue(self, *args):
        self.queued.append(args)


def test_a_stale_snapshot_is_shown_while_a_refresh_is_queued(client_for, support, usage, monkeypatch):
    client = client_for(support)
    with ON_TODAY:
        client.get("/staff/analytics/")
        queued = []
        monkeypatch.setattr(tasks, "refresh_snapshot", FakeTask(queued))
        reads(usage["alice"], "2026-06-01", "2026-06-14", 10.0)
        html = client.get("/staff/analytics/").content.decode()
        client.get("/staff/analytics/")  # asking again does not queue a second refresh
    assert queued == [("consumption", "2026-06-15")]
    assert "being brought up to date" in html and "168.0" not in html


def test_before_the_first_snapshot_the_page_says_it_is_being_computed(client_for, support, usage, monkeypatch):
    monkeypatch.setattr(tasks, "refresh_snapshot", FakeTask([]))
    response = client_for(support).get("/staff/analytics/")
    assert response.status_code == 200 and b"being computed for the first time" in response.content
    assert client_for(support).get("/staff/analytics/top-consumers.csv").status_code == 404


# --- Revenue and receivables aging ------------------------------------------------------------------


def test_revenue_counts_issued_bills_by_period_and_payments_by_month_received(alice_account, bob_account):
    april = make_bill(alice_account, d("2026-04-01"), "51.21")
    make_bill(bob_account, d("2026-04-01"), "60.84")
    make_bill(alice_account, d("2026-05-01"), "37.26", issued=False)  # a draft is not revenue
    make_payment(april, "20.00", d("2026-05-03"))
    make_payment(april, "31.21", d("2026-06-01"))
    months = analytics.revenue_by_month(start=d("2026-03-01"), end=TODAY)
    assert months == [
        (d("2026-03-01"), Decimal("0.00"), Decimal("0.00")),
        (d("2026-04-01"), Decimal("112.05"), Decimal("0.00")),
        (d("2026-05-01"), Decimal("0.00"), Decimal("20.00")),
        (d("2026-06-01"), Decimal("0.00"), Decimal("31.21")),
    ]


@pytest.fixture
def receivables(db):
    """One account per due date around the bucket edges as of 2026-06-15, each bill part paid so that only
    `amount` is still open; one account paid up and a draft that owes nothing."""
    dues = {
        "2026-06-20": "30.00",  # not yet due
        "2026-06-15": "10.00",  # due today: not overdue yet
        "2026-06-14": "20.00",  # 1 day
        "2026-05-16": "5.00",  # 30 days
        "2026-05-15": "7.00",  # 31 days
        "2026-04-16": "8.00",  # 60 days
        "2026-04-15": "9.00",  # 61 days
        "2026-03-17": "11.00",  # 90 days
        "2026-03-16": "12.00",  # 91 days
    }
    period = d("2026-01-01")
    bills = {}
    for n, (due, amount) in enumerate(dues.items()):
        customer = make_customer(f"1000000{n:02d}", f"Owing {n}")
        bills[due] = make_bill(customer, period, Decimal(amount) + 40, due_date=d(due))
        make_payment(bills[due], "40.00", d("2026-03-01"))  # part paid: only `amount` is still open
    paid_up = make_customer("100000099", "Paid Up")
    make_payment(make_bill(paid_up, period, "80.00", due_date=d("2026-01-01")), "80.00", d("2026-01-02"))
    make_bill(paid_up, analytics.add_months(period, 1), "99.00", issued=False)
    return bills


def test_receivables_age_by_days_past_the_due_date(receivables):
    assert analytics.receivables_aging(today=TODAY) == [
        ("Current", 2, Decimal("40.00")),
        ("1–30 days", 2, Decimal("25.00")),
        ("31–60 days", 2, Decimal("15.00")),
        ("61–90 days", 2, Decimal("20.00")),
        ("90+ days", 1, Decimal("12.00")),
    ]


def test_receivables_move_to_older_buckets_as_days_pass(receivables):
    later = analytics.receivables_aging(today=d("2026-07-15"))
    assert [(label, accounts) for label, accounts, _ in later] == [
        ("Current", 0),
        ("1–30 days", 2),
        ("31–60 days", 2),
        ("61–90 days", 2),
        ("90+ days", 3),
    ]


def test_aging_follows_the_ledger_payments_settle_the_oldest_charge_first(alice_account):
    """One account: a payment settles the old bill, so only the new one is open, and current."""
    old = make_bill(alice_account, d("2026-02-01"), "100.00", due_date=d("2026-03-01"))
    make_bill(alice_account, d("2026-05-01"), "50.00", due_date=d("2026-06-20"))
    make_payment(old, "100.00", d("2026-06-10"))
    buckets, owing, overdue = analytics.aging_and_accounts(today=TODAY)
    assert buckets[0] == ("Current", 1, Decimal("50.00")) and sum(b[1] for b in buckets[1:]) == 0
    assert (owing, overdue) == (1, 0)


def test_the_aging_table_and_the_billing_home_show_overdue_totals(client_for, biller, receivables):
    with ON_TODAY:
        client = client_for(biller)
        response = client.get("/staff/analytics/receivables-aging.csv")
        home = client.get("/staff/").content.decode()
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[1:] == [
        ["Current", "2", "40.00"],
        ["1–30 days", "2", "25.00"],
        ["31–60 days", "2", "15.00"],
        ["61–90 days", "2", "20.00"],
        ["90+ days", "1", "12.00"],
        ["Total", "9", "112.00"],
    ]
    assert "$72.00" in home and "7 accounts past due" in home


def test_refresh_analytics_computes_the_figures_for_the_pages(usage, capsys, monkeypatch):
    from django.core.management import call_command

    monkeypatch.setattr(tasks, "refresh_snapshot", FakeTask([]))  # the page must not need the worker
    with ON_TODAY:
        call_command("refresh_analytics")
        shot = analytics.snapshot("consumption", today=TODAY)
    assert shot is not None and not shot.refreshing
    assert "Refreshed consumption, billing analytics" in capsys.readouterr().out


def test_customer_names_in_analytics_tables_are_escaped(client_for, support, usage):
    usage["bea"].name = '<script>alert("x")</script>'
    usage["bea"].save()
    with ON_TODAY:
        html = client_for(support).get("/staff/analytics/").content.decode()
        csv_text = client_for(support).get("/staff/analytics/top-consumers.csv").content.decode()
    assert '<script>alert("x")</script>' not in html and "&lt;script&gt;" in html
    assert '<script>alert(""x"")</script>' in csv_text  # CSV quoting, for spreadsheets: not HTML
