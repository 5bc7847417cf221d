"""Contact details changed in HydroSpark are theirs (SPEC §1, issue 10.3); Location IDs are checked (10.10)."""

import datetime

import pytest

from accounts.models import AuditEvent, Customer
from accounts.services import customer_update_contact
from conftest import make_customer
from metering.models import ImportRun

from .conftest import import_usage, row
from .test_import_command import reads, rejected_rows

pytestmark = pytest.mark.django_db
DAY = datetime.date(2024, 3, 1)
FILE_DETAILS = {"name": "Ada Lovelace", "mailing_address": "12 Elm St, Dallas, TX 75201", "phone": "(214) 555-0101"}


@pytest.fixture
def ada(db):
    return make_customer(
        "300000001",
        "Ada Lovelace",
        mailing_address=FILE_DETAILS["mailing_address"],
        phone=FILE_DETAILS["phone"],
        cycle_number=3,
    )


def test_an_import_keeps_a_phone_support_changed_and_reports_the_difference(export_file, support, ada):
    customer_update_contact(customer=ada, actor=support, data={"phone": "(214) 555-0199"})
    code, out, _ = import_usage(export_file([row(day=DAY, customer_type="Commercial", cycle_number="4")]))
    assert code == 0
    ada.refresh_from_db()
    assert ada.phone == "(214) 555-0199"  # Support's change stands
    assert (ada.customer_type, ada.cycle_number) == ("commercial", 4)  # what the export owns still follows it
    run = ImportRun.objects.get()
    assert run.contact_differences == [
        {"location_id": "300000001", "field": "phone", "kept": "(214) 555-0199", "file": "(214) 555-0101"}
    ]
    assert "1 contact detail changed in HydroSpark kept (the file differs)" in out
    event = AuditEvent.objects.filter(action="customer.update", actor_label="command import_usage").get()
    assert set(event.changes) == {"customer_type", "cycle_number"}


def test_a_customers_own_address_change_survives_the_next_import_and_unedited_fields_follow_it(export_file, ada):
    customer_update_contact(customer=ada, actor=None, data={"mailing_address": "9 Oak Ave, Plano, TX 75023"})
    assert ada.contact_edited == ["mailing_address"]
    code, _, _ = import_usage(export_file([row(day=DAY, name="Ada King")]))
    assert code == 0
    ada.refresh_from_db()
    assert (ada.mailing_address, ada.name) == ("9 Oak Ave, Plano, TX 75023", "Ada King")
    [difference] = ImportRun.objects.get().contact_differences
    assert difference["field"] == "mailing_address" and difference["file"] == FILE_DETAILS["mailing_address"]


def test_a_file_that_agrees_with_the_edit_reports_nothing(export_file, support, ada):
    customer_update_contact(customer=ada, actor=support, data={"phone": "(214) 555-0199"})
    import_usage(export_file([row(day=DAY, phone="(214) 555-0199")]))
    run = ImportRun.objects.get()
    assert run.contact_differences == [] and run.customers_updated == 0


def test_the_import_page_lists_the_kept_contact_details(client_for, ops, export_file, support, ada):
    customer_update_contact(customer=ada, actor=support, data={"phone": "(214) 555-0199"})
    import_usage(export_file([row(day=DAY)]))
    html = client_for(ops).get(f"/staff/metering/imports/{ImportRun.objects.get().pk}/").content.decode()
    assert "Contact details kept as changed in HydroSpark" in html
    assert "(214) 555-0199" in html and "(214) 555-0101" in html


def test_support_and_the_customer_phone_fields_validate_alike(client_for, support, alice_account):
    from portal.forms import ContactForm as PortalForm
    from staff.forms import ContactForm as StaffForm

    for phone in ("call me", "12", "555-0101 ext. 4"):
        staff = StaffForm({**FILE_DETAILS, "phone": phone}, instance=Customer.objects.get(pk=alice_account.pk))
        portal = PortalForm({"phone": phone, "mailing_address": "1 Main St"})
        assert not staff.is_valid() and not portal.is_valid()
        assert staff.errors["phone"] == portal.errors["phone"]
    response = client_for(support).post(
        f"/staff/customers/{alice_account.location_id}/edit/", {**FILE_DETAILS, "phone": "call me"}
    )
    assert response.status_code == 200 and b"at least 7 digits" in response.content
    alice_account.refresh_from_db()
    assert alice_account.phone == "(214) 555-0001"


@pytest.mark.parametrize("location_id", ["12/34", "12 34", 'x"y', "a\\b", "%2F", "1234567890123456789012", "é1"])
def test_a_location_id_with_other_characters_is_a_rejected_row_with_its_line(export_file, tmp_path, location_id):
    path = export_file([row(day=DAY), row(location_id=location_id, day=DAY)])
    code, _, _ = import_usage(path, "--rejects", str(tmp_path / "rejects.csv"))
    assert code == 1
    [rejected] = rejected_rows(tmp_path / "rejects.csv")
    assert rejected["line"] == "3"
    assert "Location ID" in rejected["reason"]
    assert [r[0] for r in reads()] == ["300000001"]
    assert not Customer.objects.exclude(location_id="300000001").exists()


def test_a_location_id_of_letters_digits_and_dashes_is_fine(export_file):
    code, _, _ = import_usage(export_file([row(location_id="TX-0042-a", day=DAY)]))
    assert code == 0 and Customer.objects.filter(location_id="TX-0042-a").exists()
