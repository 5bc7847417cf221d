"""List pages run a fixed number of queries, however many rows they show (no N+1): each page is
measured with 3 rows, then must not need more queries with 30."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.services import audit_record
from anomalies.tests.factories import make_anomaly
from conftest import make_customer
from staff.services import staff_note_add

from .conftest import make_bill, make_payment

pytestmark = pytest.mark.django_db


def queries_for(client, url) -> int:
    client.get(url)  # warm per-process caches (content types, sessions) so both runs compare alike
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def customers(n, start=0):
    return [make_customer(f"4000{i:05d}", f"Quinn Number {i}", f"quinn{i}@example.com") for i in range(start, n)]


def grows_not(client, url, add_rows, django_assert_max_num_queries):
    add_rows(0, 3)
    few = queries_for(client, url)
    add_rows(3, 30)
    client.get(url)  # pages with analytics refresh their snapshot once after new data
    with django_assert_max_num_queries(few):
        client.get(url)


def test_search_results(client_for, support, django_assert_max_num_queries):
    grows_not(
        client_for(support), "/staff/customers/?q=quinn", lambda a, b: customers(b, a), django_assert_max_num_queries
    )


def test_customer_page(client_for, support, ops, alice_account, django_assert_max_num_queries):
    def add(a, b):
        for i in range(a, b):
            period = datetime.date(2020, 1, 1) + datetime.timedelta(days=32 * i)
            bill = make_bill(alice_account, period.replace(day=1), "40.00")
            make_payment(bill, "10.00", period)
            make_anomaly(alice_account, period, reviewed_by=ops, status="reviewed", resolution="false_alarm")
            staff_note_add(customer=alice_account, author=support, body=f"note {i}")

    grows_not(client_for(support), "/staff/customers/100000001/", add, django_assert_max_num_queries)


def test_audit_trail(client_for, ops, django_assert_max_num_queries):
    def add(a, b):
        for customer in customers(b, a):
            audit_record(actor=ops, action="customer.update", target=customer, customer=customer, summary="x")

    grows_not(client_for(ops), "/staff/audit/", add, django_assert_max_num_queries)


def test_support_home(client_for, support, django_assert_max_num_queries):
    def add(a, b):
        for customer in customers(b, a):
            audit_record(actor=support, action="customer.update", target=customer, customer=customer)

    grows_not(client_for(support), "/staff/", add, django_assert_max_num_queries)


def test_analytics(client_for, biller, django_assert_max_num_queries):
    def add(a, b):
        for customer in customers(b, a):
            make_bill(customer, datetime.date(2026, 1, 1), "40.00")

    client = client_for(biller)
    add(0, 3)
    few = queries_for(client, "/staff/analytics/")
    add(3, 30)
    with django_assert_max_num_queries(few + 12):  # the new snapshots' computation, once
        client.get("/staff/analytics/")
    with django_assert_max_num_queries(few):
        client.get("/staff/analytics/")


@pytest.mark.parametrize("url", ["/admin/accounts/customer/", "/admin/accounts/auditevent/", "/admin/staff/staffnote/"])
def test_admin_lists(client_for, support, url, django_assert_max_num_queries):
    def add(a, b):
        for customer in customers(b, a):
            staff_note_add(customer=customer, author=support, body="called")

    grows_not(client_for(support), url, add, django_assert_max_num_queries)


def test_admin_user_list(admin_client, django_assert_max_num_queries):
    grows_not(admin_client, "/admin/accounts/user/", lambda a, b: customers(b, a), django_assert_max_num_queries)


def test_billing_home(client_for, biller, django_assert_max_num_queries):
    from billing.models import BillRun

    def add(a, b):
        for customer in customers(b, a):
            bill = make_bill(customer, datetime.date(2026, 1, 1), "40.00")
            make_payment(bill, "15.00", datetime.date(2026, 2, 10))
            BillRun.objects.create(period=datetime.date(2026, 1, 1), actor_label="command run_billing")

    grows_not(client_for(biller), "/staff/", add, django_assert_max_num_queries)


def test_operations_home(client_for, ops, alice_account, django_assert_max_num_queries):
    from django.utils import timezone

    from anomalies.models import DetectionRun

    def add(a, b):
        for i in range(a, b):
            DetectionRun.objects.create(method="zscore", started_at=timezone.now(), triggered_by=ops)
            make_anomaly(alice_account, datetime.date(2025, 1, 1) + datetime.timedelta(days=i))

    grows_not(client_for(ops), "/staff/", add, django_assert_max_num_queries)
