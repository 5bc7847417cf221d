import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import AuditEvent
from anomalies.models import Resolution, Status
from anomalies.tests.factories import make_anomaly, store_reads
from conftest import make_customer
from staff.models import StaffNote

from .conftest import make_bill, make_payment

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script>'
CONTACT = {
    "name": "Alice Archer-Smith",
    "mailing_address": "2 Elm St, Dallas, TX 75202",
    "phone": "(214) 555-0199",
    "business_name": "",
    "facility_name": "",
}


def page(client, customer):
    return client.get(f"/staff/customers/{customer.location_id}/").content.decode()


def test_support_changes_contact_details_and_the_change_is_recorded(client_for, support, alice_account):
    response = client_for(support).post(f"/staff/customers/{alice_account.location_id}/edit/", CONTACT)
    assert response.status_code == 302
    alice_account.refresh_from_db()
    assert (alice_account.name, alice_account.phone) == ("Alice Archer-Smith", "(214) 555-0199")
    event = AuditEvent.objects.get(action="customer.update")
    assert event.actor == support and event.customer == alice_account
    assert event.changes["name"] == ["Alice Archer", "Alice Archer-Smith"]
    assert set(event.changes) == {"name", "mailing_address", "phone"}


def test_the_history_of_changes_shows_who_changed_what(client_for, support, alice_account):
    client = client_for(support)
    client.post(f"/staff/customers/{alice_account.location_id}/edit/", CONTACT)
    html = page(client, alice_account)
    assert "support@test.hydrospark.com" in html
    assert "Alice Archer → Alice Archer-Smith" in html


def test_saving_unchanged_details_records_nothing(client_for, support, alice_account):
    data = {**CONTACT, "name": alice_account.name, "mailing_address": alice_account.mailing_address}
    data["phone"] = alice_account.phone
    client_for(support).post(f"/staff/customers/{alice_account.location_id}/edit/", data)
    assert not AuditEvent.objects.exists()


def test_invalid_contact_details_are_refused_and_nothing_changes(client_for, support, alice_account):
    response = client_for(support).post(
        f"/staff/customers/{alice_account.location_id}/edit/", {**CONTACT, "name": "  ", "phone": "9" * 50}
    )
    assert response.status_code == 200
    assert b"This field is required" in response.content
    alice_account.refresh_from_db()
    assert alice_account.name == "Alice Archer" and not AuditEvent.objects.exists()


def test_staff_add_a_note_which_is_recorded_and_shown(client_for, ops, alice_account):
    client = client_for(ops)
    response = client.post(f"/staff/customers/{alice_account.location_id}/notes/", {"body": "Called about a leak."})
    assert response.status_code == 302 and response["Location"].endswith("#notes")
    note = StaffNote.objects.get()
    assert (note.author, note.author_label, note.customer) == (ops, ops.email, alice_account)
    event = AuditEvent.objects.get(action="customer.note")
    assert event.actor == ops and event.customer == alice_account and "Called about a leak." in event.summary
    assert "Called about a leak." in page(client, alice_account)


def test_an_empty_note_is_refused_with_a_message(client_for, ops, alice_account):
    client = client_for(ops)
    response = client.post(f"/staff/customers/{alice_account.location_id}/notes/", {"body": "   "}, follow=True)
    assert b"This field is required" in response.content
    assert not StaffNote.objects.exists() and not AuditEvent.objects.exists()


def test_html_in_names_and_notes_is_escaped_everywhere(client_for, support, db):
    customer = make_customer("100000009", f"Eve {XSS}", business_name=XSS)
    client = client_for(support)
    client.post(f"/staff/customers/{customer.location_id}/notes/", {"body": XSS})
    client.post(f"/staff/customers/{customer.location_id}/edit/", {**CONTACT, "name": f"Eve {XSS}!", "phone": XSS})
    for url in [
        f"/staff/customers/{customer.location_id}/",
        f"/staff/customers/{customer.location_id}/edit/",
        "/staff/customers/?q=eve",
        "/staff/audit/",
        "/staff/",
    ]:
        html = client.get(url).content.decode()
        assert XSS not in html, url
    assert "&lt;script&gt;" in client.get(f"/staff/customers/{customer.location_id}/").content.decode()


@time_machine.travel(datetime.datetime(2026, 10, 10, 12, tzinfo=ZoneInfo("America/Chicago")), tick=False)
def test_the_customer_page_shows_bills_payments_and_the_open_balance(client_for, biller, alice_account):
    paid = make_bill(alice_account, datetime.date(2026, 8, 1), "51.21")
    part = make_bill(alice_account, datetime.date(2026, 9, 1), "60.84")
    make_payment(paid, "51.21", datetime.date(2026, 9, 5), reference="CHK-1001")
    make_payment(part, "10.00", datetime.date(2026, 10, 5))
    make_bill(alice_account, datetime.date(2026, 10, 1), "37.26", issued=False)
    html = page(client_for(biller), alice_account)
    assert paid.number in html and part.number in html and "draft" in html
    assert "CHK-1001" in html and "Partially paid" in html and "Paid" in html
    assert "$50.84" in html  # 60.84 - 10.00 still owed; the draft owes nothing yet


def test_the_customer_page_shows_anomalies_and_their_reviews(client_for, support, ops, alice_account):
    make_anomaly(alice_account, datetime.date(2026, 7, 4), usage="9.5")
    make_anomaly(
        alice_account,
        datetime.date(2026, 6, 1),
        status=Status.REVIEWED,
        resolution=Resolution.LEAK_CONFIRMED,
        note="Toilet flapper",
        reviewed_by=ops,
    )
    html = page(client_for(support), alice_account)
    assert "Jul 4, 2026" in html and "Open" in html
    assert "Leak confirmed" in html and "Toilet flapper" in html and ops.email in html


def test_the_usage_chart_is_an_svg_of_the_customers_months(client_for, support, alice_account):
    store_reads(alice_account, datetime.date.today() - datetime.timedelta(days=60), [1.5] * 60)
    response = client_for(support).get(f"/staff/customers/{alice_account.location_id}/usage.svg")
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.lstrip().startswith(b"<?xml") or b"<svg" in response.content[:500]
    assert "default-src 'none'" in response["Content-Security-Policy"]
    html = page(client_for(support), alice_account)
    assert "Reads from" in html and "CCF" in html


def test_the_edit_link_is_shown_to_support_only(client_for, support, ops, alice_account):
    edit = f'href="/staff/customers/{alice_account.location_id}/edit/"'
    assert edit in page(client_for(support), alice_account)
    assert edit not in page(client_for(ops), alice_account)
