"""An address is checked against its column once normalised (issue 10.16): joining 150 lines with ", "
turned 299 typed characters into 448 stored ones, which Support's form then refused."""

import pytest

from accounts.exceptions import AccountError
from accounts.services import customer_update_contact

pytestmark = pytest.mark.django_db

MANY_LINES = "\n".join(["1 A"] * 75)  # 299 characters typed, 373 once the lines are joined with ", "


def test_an_address_too_long_once_on_one_line_is_refused_with_its_length(client_for, alice, alice_account):
    assert len(MANY_LINES) <= 300
    response = client_for(alice).post(
        "/portal/profile/", {"form": "contact", "phone": "", "mailing_address": MANY_LINES}
    )
    assert response.status_code == 200
    assert "Keep the address to 300 characters: it has 373" in response.content.decode()
    alice_account.refresh_from_db()
    assert alice_account.mailing_address == "1 Main St, Dallas, TX 75201"


def test_an_address_that_fits_once_joined_is_saved(client_for, alice, alice_account):
    address = "\n".join(["1 A"] * 60)  # 298 once joined
    response = client_for(alice).post("/portal/profile/", {"form": "contact", "phone": "", "mailing_address": address})
    assert response.status_code == 302
    alice_account.refresh_from_db()
    assert len(alice_account.mailing_address) == 298


def test_supports_form_refuses_an_address_longer_than_the_column(client_for, support, alice_account):
    url = f"/staff/customers/{alice_account.location_id}/edit/"
    data = {"name": "Alice Archer", "mailing_address": "x" * 301, "phone": "", "business_name": "", "facility_name": ""}
    response = client_for(support).post(url, data)
    assert response.status_code == 200
    alice_account.refresh_from_db()
    assert alice_account.mailing_address == "1 Main St, Dallas, TX 75201"


def test_the_service_refuses_a_value_longer_than_its_column_whatever_the_door(support, alice_account):
    with pytest.raises(AccountError, match="at most 300 fit"):
        customer_update_contact(customer=alice_account, actor=support, data={"mailing_address": "x" * 448})
