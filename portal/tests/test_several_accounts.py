"""Several accounts under one login (issue 16): a landlord switches between them; each page shows the chosen
account only; an account not the login's is a 404 and changes nothing."""

import pytest

from accounts.models import Customer
from billing.models import Bill
from conftest import make_customer


@pytest.fixture
def landlord(alice, bills):
    """alice (billed for October) holds a second account too: a rental on Oak Ave, read every day."""
    from .conftest import give_reads

    rental = make_customer(
        "100000007", "Alice Archer", mailing_address="7 Oak Ave, Dallas, TX 75202", facility_name="Oak Ave rental"
    )
    rental.user = alice
    rental.save()
    give_reads(rental, usage="2.0000")
    return rental


def test_the_first_account_is_shown_and_the_switcher_lists_both(client_for, alice, landlord):
    page = client_for(alice).get("/portal/").content.decode()
    assert "Account 100000001 · 1 Main St" in page and 'id="account-switcher"' in page
    assert "100000007 · Oak Ave rental" in page


def test_switching_shows_the_other_account_on_every_page(client_for, alice, landlord, bills):
    client = client_for(alice)
    response = client.post(f"/portal/accounts/{landlord.pk}/switch/", follow=True)
    page = response.content.decode()
    assert "Showing account 100000007" in page and "Account 100000007 · 7 Oak Ave" in page
    assert "100000001 · 1 Main St" not in page.split('id="account-switcher"')[0]  # the header names the rental
    # the first account's bill is not the rental's: a 404 until alice switches back
    assert client.get(f"/portal/bills/{bills['alice'].pk}/").status_code == 404
    client.post(f"/portal/accounts/{bills['alice'].customer_id}/switch/")
    assert client.get(f"/portal/bills/{bills['alice'].pk}/").status_code == 200


def test_switching_to_an_account_not_the_logins_is_a_404_and_changes_nothing(client_for, alice, landlord, bob_account):
    client = client_for(alice)
    assert client.post(f"/portal/accounts/{bob_account.pk}/switch/").status_code == 404
    assert client.post("/portal/accounts/999999/switch/").status_code == 404
    assert client.get(f"/portal/accounts/{landlord.pk}/switch/").status_code == 405  # a switch is a POST
    assert "Account 100000001" in client.get("/portal/").content.decode()


def test_a_single_account_login_has_no_switcher(client_for, alice, alice_account):
    assert 'id="account-switcher"' not in client_for(alice).get("/portal/").content.decode()


def test_an_account_taken_from_the_login_falls_back_to_one_it_still_holds(client_for, alice, landlord):
    client = client_for(alice)
    client.post(f"/portal/accounts/{landlord.pk}/switch/")
    Customer.objects.filter(pk=landlord.pk).update(user=None)  # Support moved the rental to its new owner
    page = client.get("/portal/").content.decode()
    assert "Account 100000001 · 1 Main St" in page and "100000007 · Oak Ave" not in page


def test_bills_by_login_cover_the_accounts_it_holds_only(alice, landlord, bills, bob):
    from django.http import Http404

    from billing.selectors import bill_for_customer

    assert bill_for_customer(alice, bills["alice"].pk) == bills["alice"]
    with pytest.raises(Http404):
        bill_for_customer(alice, bills["bob"].pk)
    assert Bill.objects.filter(customer__user=alice).count() == 1
