"""CSV files people open and file names built from data (issues 10.10 and 10.12): formulas stay text,
and a stored value with CR, LF or a quote never reaches a header raw."""

import csv
import datetime
import io

import pytest

from accounts.models import Customer
from metering.models import ImportRun

from .conftest import import_usage, row

pytestmark = pytest.mark.django_db
HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd", "-2+3+cmd"]


def test_the_rejected_rows_csv_keeps_formulas_as_text(client_for, ops, export_file):
    rows = [row(name=name, day=datetime.date(2024, 3, 1), usage="lots") for name in HOSTILE]
    import_usage(export_file(rows))
    run = ImportRun.objects.get()
    response = client_for(ops).get(f"/staff/metering/imports/{run.pk}/rejected-rows.csv")
    assert response.status_code == 200
    found = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["Customer Name"] for r in found] == ["'" + name for name in HOSTILE]
    assert all(r["line"].isdigit() for r in found)  # numbers stay numbers


def test_the_admins_customer_csv_keeps_formulas_as_text(client_for, support):
    for number, name in enumerate(HOSTILE, start=1):
        Customer.objects.create(
            location_id=f"90000000{number}",
            name=name,
            mailing_address="1 Main St",
            customer_type="residential",
            cycle_number=1,
            phone="-1",
        )
    response = client_for(support).post(
        "/admin/accounts/customer/",
        {"action": "export_csv", "_selected_action": list(Customer.objects.values_list("pk", flat=True))},
    )
    assert response.status_code == 200
    found = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["name"] for r in found] == ["'" + name for name in HOSTILE]
    assert {r["phone"] for r in found} == {"-1"}
    assert response["Content-Disposition"].startswith('attachment; filename="customers-')


def test_a_stored_location_id_with_a_line_break_and_a_quote_is_escaped_in_the_file_name(client_for, alice):
    # Imports and forms refuse such an ID now; one stored before must still not break (or inject) headers.
    Customer.objects.filter(pk=alice.customers.get().pk).update(location_id='1"2\r\nSet-Cookie: x')
    response = client_for(alice).get("/portal/usage/reads.csv")
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition.startswith("attachment; filename*=utf-8''hydrospark-usage-1%222%0D%0ASet-Cookie")
