import csv
import datetime
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine

from accounts.models import AuditEvent
from accounts.services import audit_record
from conftest import make_customer

pytestmark = pytest.mark.django_db
CHICAGO = ZoneInfo("America/Chicago")


@pytest.fixture
def trail(ops, biller, support, alice_account, bob_account):
    """Changes across customers, bills, payments and anomaly reviews on three days."""
    events = [
        (datetime.datetime(2026, 5, 1, 9, tzinfo=CHICAGO), support, "customer.update", alice_account, "Changed phone"),
        (datetime.datetime(2026, 5, 2, 23, 30, tzinfo=CHICAGO), biller, "payment.record", bob_account, "$20.00 paid"),
        (datetime.datetime(2026, 5, 3, 0, 30, tzinfo=CHICAGO), ops, "anomaly.review", alice_account, "Leak confirmed"),
        (datetime.datetime(2026, 5, 3, 8, tzinfo=CHICAGO), None, "bill_run.issue", None, "Issued 2 bills"),
    ]
    for at, actor, action, customer, summary in events:
        with time_machine.travel(at, tick=False):
            audit_record(
                actor=actor,
                actor_label="" if actor else "command run_billing",
                action=action,
                target=customer,
                customer=customer,
                summary=summary,
            )
    return events


def row(action: str) -> str:
    return f'<code class="small">{action}</code>'


def actions(client, **filters):
    html = client.get("/staff/audit/", filters).content.decode()
    return [a for a in ["customer.update", "payment.record", "anomaly.review", "bill_run.issue"] if row(a) in html]


def test_the_trail_lists_every_change_newest_first(client_for, ops, trail):
    html = client_for(ops).get("/staff/audit/").content.decode()
    positions = [html.index(row(a)) for a in ["bill_run.issue", "anomaly.review", "payment.record"]]
    assert positions == sorted(positions)
    assert "command run_billing" in html and "4 events" in html


def test_the_trail_filters_by_actor_action_record_type_and_customer(client_for, ops, trail, alice_account):
    client = client_for(ops)
    assert actions(client, actor="billing@") == ["payment.record"]
    assert actions(client, actor="command") == ["bill_run.issue"]
    assert actions(client, action="anomaly.review") == ["anomaly.review"]
    assert actions(client, target_type="accounts.customer") == ["customer.update", "payment.record", "anomaly.review"]
    assert actions(client, location_id=alice_account.location_id) == ["customer.update", "anomaly.review"]


def test_the_trail_filters_by_local_dates_inclusive(client_for, ops, trail):
    client = client_for(ops)
    # 23:30 on May 2 in Chicago is May 3 in UTC: it still belongs to May 2
    assert actions(client, since="2026-05-02", until="2026-05-02") == ["payment.record"]
    assert actions(client, since="2026-05-03") == ["anomaly.review", "bill_run.issue"]
    assert actions(client, until="2026-05-01") == ["customer.update"]


def test_bad_filters_are_explained_and_show_nothing(client_for, ops, trail):
    client = client_for(ops)
    html = client.get("/staff/audit/", {"since": "2026-05-03", "until": "2026-05-01"}).content.decode()
    assert "The start date is after the end date." in html and "0 events" in html
    html = client.get("/staff/audit/", {"action": "no.such.action"}).content.decode()
    assert "Select a valid choice" in html
    assert client.get("/staff/audit/export.csv", {"since": "yesterday"}).status_code == 400


def test_the_trail_downloads_as_csv_with_the_same_filters(client_for, ops, trail, alice_account):
    response = client_for(ops).get("/staff/audit/export.csv", {"location_id": alice_account.location_id})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["at", "actor", "action", "target_type", "target_id", "target", "location_id", "summary"]
    assert [(r[0], r[1], r[2], r[6]) for r in rows[1:]] == [
        ("2026-05-03T00:30:00-05:00", "ops@test.hydrospark.com", "anomaly.review", alice_account.location_id),
        ("2026-05-01T09:00:00-05:00", "support@test.hydrospark.com", "customer.update", alice_account.location_id),
    ]


def test_the_trail_pages_through_many_events(client_for, ops, alice_account):
    AuditEvent.objects.bulk_create(
        AuditEvent(actor_label="command import_usage", action="import.run", summary=f"run {i}") for i in range(120)
    )
    client = client_for(ops)
    first = client.get("/staff/audit/").content.decode()
    third = client.get("/staff/audit/", {"action": "import.run", "page": 3}).content.decode()
    assert "page 1 of 3" in first and "Older" in first
    assert "page 3 of 3" in third and third.count(row("import.run")) == 20
    assert "action=import.run&amp;page=2" in third


def test_a_contact_change_shows_old_and_new_values_and_html_stays_text(client_for, support, db):
    customer = make_customer("100000003", "Carl <b>Cruz</b>")
    client = client_for(support)
    client.post(
        f"/staff/customers/{customer.location_id}/edit/",
        {"name": "Carl Cruz", "mailing_address": "<img src=x onerror=alert(1)>", "phone": ""},
    )
    html = client.get("/staff/audit/").content.decode()
    assert "Carl &lt;b&gt;Cruz&lt;/b&gt; → Carl Cruz" in html
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_the_csv_keeps_spreadsheets_from_running_formulas(client_for, support, alice_account):
    audit_record(actor=support, action="customer.note", customer=alice_account, summary='=HYPERLINK("http://x")')
    response = client_for(support).get("/staff/audit/export.csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[1][7] == '\'=HYPERLINK("http://x")'
