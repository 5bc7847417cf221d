import pytest
from django.urls import reverse

from conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("who", "home"),
    [("ops", "/staff/"), ("biller", "/staff/"), ("support", "/staff/"), ("alice", "/portal/")],
)
def test_each_login_lands_on_its_home(client, request, who, home):
    user = request.getfixturevalue(who)
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == home
    assert client.get(home).status_code == 200


def test_wrong_password_is_refused_with_a_message(client, alice):
    response = client.post(reverse("account_login"), {"login": alice.email, "password": "nope"})
    assert response.status_code == 200
    assert b"not correct" in response.content


def test_login_failures_are_throttled(client, alice):
    for _ in range(6):
        response = client.post(reverse("account_login"), {"login": alice.email, "password": "nope"})
    assert b"Too many failed login attempts" in response.content or response.status_code == 429
    response = client.post(reverse("account_login"), {"login": alice.email, "password": PASSWORD})
    assert response.status_code != 302


def test_there_is_no_open_sign_up(client, db):
    response = client.post(
        reverse("account_signup"), {"email": "new@example.com", "password1": "x9!kLmq2#a", "password2": "x9!kLmq2#a"}
    )
    assert response.status_code == 200
    assert b"Sign Up Closed" in response.content or b"closed" in response.content.lower()
    from accounts.models import User

    assert not User.objects.filter(email="new@example.com").exists()


def test_root_sends_signed_out_visitors_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("who", ["ops", "biller", "support"])
def test_staff_reach_the_staff_home(client_for, request, who):
    assert client_for(request.getfixturevalue(who)).get("/staff/").status_code == 200


def test_customer_is_refused_staff_pages(client_for, alice):
    assert client_for(alice).get("/staff/").status_code == 403


def test_customer_gets_no_admin(client_for, alice):
    assert client_for(alice).get("/admin/").status_code == 403
    assert client_for(alice).get("/admin/accounts/customer/").status_code in (302, 403)


def test_signed_out_visitor_is_sent_to_login_from_staff_and_portal(client):
    for url in ("/staff/", "/portal/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


def test_admin_login_goes_through_allauth(client):
    response = client.get("/admin/")
    assert response.status_code == 302
    assert (
        reverse("account_login") in client.get(response["Location"]).wsgi_request.path
        or "next=" in response["Location"]
    )


@pytest.mark.parametrize("who", ["ops", "biller", "support"])
def test_staff_are_refused_the_customer_portal(client_for, request, who):
    assert client_for(request.getfixturevalue(who)).get("/portal/").status_code == 403


def test_role_groups_carry_the_spec_permissions(db):
    from django.contrib.auth.models import Group

    support = Group.objects.get(name="Support")
    assert support.permissions.filter(codename="change_customer").exists()
    assert not Group.objects.get(name="Operations").permissions.filter(codename="change_customer").exists()


def test_a_login_the_utility_creates_has_a_verified_email(db):
    from allauth.account.models import EmailAddress

    from accounts.services import login_create

    user = login_create(email="Carol@Example.com", password=PASSWORD)
    assert user.email == "carol@example.com"
    assert EmailAddress.objects.filter(user=user, email="carol@example.com", verified=True, primary=True).exists()


def test_account_pages_link_back_to_the_customers_profile(client_for, alice):
    response = client_for(alice).get(reverse("account_change_password"))
    assert response.status_code == 200
    assert reverse("portal:profile").encode() in response.content
