"""The admin of accounts and staff models: what each group sees and may change (SPEC §5), changes
audited through the same service as the staff pages, history read-only."""

import pytest

from accounts.models import AuditEvent
from staff.services import staff_note_add

pytestmark = pytest.mark.django_db

CHANGE = "/admin/accounts/customer/{}/change/"


def form_data(customer, **changes):
    data = {
        "name": customer.name,
        "mailing_address": customer.mailing_address,
        "phone": customer.phone,
        "business_name": customer.business_name,
        "facility_name": customer.facility_name,
        "billing_email": customer.billing_email,
        "notify_usage_alerts": "on",
    }
    return {**data, **changes}


def test_support_changes_contact_details_in_the_admin_through_the_audited_service(client_for, support, alice_account):
    response = client_for(support).post(CHANGE.format(alice_account.pk), form_data(alice_account, phone="214-555-7777"))
    assert response.status_code == 302
    alice_account.refresh_from_db()
    assert alice_account.phone == "214-555-7777"
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.customer) == ("customer.update", support, alice_account)
    assert event.changes == {"phone": ["(214) 555-0001", "214-555-7777"]}


def test_support_cannot_change_what_the_meter_export_owns(client_for, support, alice_account):
    client = client_for(support)
    html = client.get(CHANGE.format(alice_account.pk)).content.decode()
    assert 'name="location_id"' not in html and 'name="cycle_number"' not in html
    client.post(CHANGE.format(alice_account.pk), form_data(alice_account, location_id="999", cycle_number="9"))
    alice_account.refresh_from_db()
    assert (alice_account.location_id, alice_account.cycle_number) == ("100000001", 1)


@pytest.mark.parametrize("who", ["ops", "biller"])
def test_operations_and_billing_see_customers_but_cannot_change_them(client_for, request, who, alice_account):
    client = client_for(request.getfixturevalue(who))
    assert client.get("/admin/accounts/customer/").status_code == 200
    assert client.get(CHANGE.format(alice_account.pk)).status_code == 200  # the read-only view
    response = client.post(CHANGE.format(alice_account.pk), form_data(alice_account, name="Mallory"))
    assert response.status_code == 403
    alice_account.refresh_from_db()
    assert alice_account.name == "Alice Archer" and not AuditEvent.objects.exists()


@pytest.mark.parametrize("who", ["ops", "biller", "support"])
def test_staff_groups_cannot_manage_logins(client_for, request, who):
    assert client_for(request.getfixturevalue(who)).get("/admin/accounts/user/").status_code == 403


def test_the_admin_customer_search_finds_by_phone_digits_and_email(client_for, support, alice_account, bob_account):
    client = client_for(support)
    html = client.get("/admin/accounts/customer/", {"q": "2145550001"}).content.decode()
    assert "Alice Archer" in html and "Bob Brown" in html  # both have the fixture's phone
    html = client.get("/admin/accounts/customer/", {"q": "bob@example.com"}).content.decode()
    assert "Bob Brown" in html and "Alice Archer" not in html


def test_customers_download_as_csv_from_the_admin(client_for, ops, alice_account, bob_account):
    response = client_for(ops).post(
        "/admin/accounts/customer/",
        {"action": "export_csv", "_selected_action": [alice_account.pk, bob_account.pk]},
    )
    lines = response.content.decode().splitlines()
    assert lines[0].startswith("location_id,name,customer_type,cycle_number")
    assert lines[1].startswith("100000001,Alice Archer,residential,1") and lines[1].endswith("alice@example.com")


def test_the_audit_trail_cannot_be_added_to_changed_or_deleted_even_by_a_superuser(admin_client, alice_account):
    event = AuditEvent.objects.create(actor_label="x", action="customer.update", customer=alice_account)
    assert admin_client.get("/admin/accounts/auditevent/add/").status_code == 403
    assert admin_client.get(f"/admin/accounts/auditevent/{event.pk}/change/").status_code == 200
    admin_client.post(f"/admin/accounts/auditevent/{event.pk}/change/", {"action": "forged"})
    assert admin_client.get(f"/admin/accounts/auditevent/{event.pk}/delete/").status_code == 403
    event.refresh_from_db()
    assert event.action == "customer.update"


def test_every_staff_group_reads_the_audit_trail_and_notes(client_for, ops, biller, support, alice_account):
    staff_note_add(customer=alice_account, author=support, body="<b>called</b>")
    for user in (ops, biller, support):
        client = client_for(user)
        assert client.get("/admin/accounts/auditevent/").status_code == 200
        html = client.get("/admin/staff/staffnote/").content.decode()
        assert "&lt;b&gt;called&lt;/b&gt;" in html and "<b>called</b>" not in html


def test_notes_are_view_only_in_the_admin(admin_client, support, alice_account):
    note = staff_note_add(customer=alice_account, author=support, body="called")
    assert admin_client.get("/admin/staff/staffnote/add/").status_code == 403
    assert admin_client.get(f"/admin/staff/staffnote/{note.pk}/delete/").status_code == 403


def test_a_superuser_creating_and_deleting_a_customer_is_recorded(admin_client, admin_user):
    data = {"location_id": "555", "customer_type": "residential", "cycle_number": "3", "name": "New Person"}
    data.update({"mailing_address": "1 Elm St", "bill_delivery": "paper"})
    assert admin_client.post("/admin/accounts/customer/add/", data).status_code == 302
    from accounts.models import Customer

    customer = Customer.objects.get(location_id="555")
    admin_client.post(f"/admin/accounts/customer/{customer.pk}/delete/", {"post": "yes"})
    assert list(AuditEvent.objects.order_by("id").values_list("action", "actor")) == [
        ("customer.create", admin_user.pk),
        ("customer.delete", admin_user.pk),
    ]


def test_changing_a_logins_roles_is_recorded(admin_client, ops):
    data = {"email": ops.email, "is_active": "on", "is_staff": "on", "groups": [], "date_joined_0": "2026-01-01"}
    data["date_joined_1"] = "00:00"
    admin_client.post(f"/admin/accounts/user/{ops.pk}/change/", data)
    event = AuditEvent.objects.get(action="user.roles")
    assert event.changes == {"roles": ["Operations", ""]}
