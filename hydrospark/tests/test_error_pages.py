"""403, 404 and 500 pages in the site's layout, with a sentence that helps and the way home (issue 10.9)."""

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

pytestmark = pytest.mark.django_db

MISSING = "/staff/billing/bills/999999/"


def test_a_404_for_staff_has_the_layout_and_the_way_to_the_staff_home(client_for, support):
    response = client_for(support).get(MISSING)
    text = response.content.decode()
    assert response.status_code == 404
    assert "We could not find that page" in text
    assert 'class="navbar-brand' in text  # the site's layout, navigation included
    assert f'href="{reverse("staff:home")}">Back to the staff home' in text


def test_a_404_for_a_customer_leads_back_to_their_account(client_for, alice):
    response = client_for(alice).get("/portal/bills/999999/")
    assert response.status_code == 404
    assert f'href="{reverse("portal:dashboard")}">Back to your account' in response.content.decode()


def test_a_404_for_a_visitor_offers_to_sign_in(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert f'href="{reverse("account_login")}">Sign in' in response.content.decode()


def test_a_403_says_why_and_what_to_do(client_for, support):
    response = client_for(support).get(reverse("billing:runs"))
    text = response.content.decode()
    assert response.status_code == 403
    assert "This page is not open to you" in text
    assert "Support cannot use it" in text
    assert "ask your administrator" in text
    assert "Back to the staff home" in text


def test_a_customer_on_a_staff_page_is_pointed_to_their_account_pages(client_for, alice):
    response = client_for(alice).get(reverse("staff:home"))
    assert response.status_code == 403
    assert "Your bills, usage and profile are on your account pages" in response.content.decode()


def test_a_500_page_exists_in_the_layout_without_a_request_context():
    response = server_error(RequestFactory().get("/"))
    text = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in text and 'class="navbar-brand' in text


def test_an_expired_form_is_explained(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    response = client.post(reverse("account_logout"))
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()
