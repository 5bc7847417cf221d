"""Account emails speak as the utility, and changing the login email takes the password and tells the old
address (issue 10.8, 10.13)."""

import re
import subprocess

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from django.urls import reverse

from conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_login(alice):
    """Alice's login as the utility creates them: her address recorded as verified and primary."""
    EmailAddress.objects.create(user=alice, email=alice.email, verified=True, primary=True)
    return alice


def sign_in(client, user):
    response = client.post(reverse("account_login"), {"login": user.email, "password": PASSWORD})
    assert response.status_code == 302


def ask_for_new_email(client, email="alice.new@example.com"):
    return client.post(reverse("account_email"), {"action_add": "", "email": email})


def test_the_password_reset_email_is_signed_by_the_utility_not_the_host(client, alice_login):
    client.post(reverse("account_reset_password"), {"email": "alice@example.com"})
    (message,) = mail.outbox
    assert message.body.startswith("Hello Alice Archer,")
    assert "testserver!" not in message.body and "Hello from" not in message.body
    assert f"{settings.UTILITY_NAME}\nCustomer service {settings.UTILITY_PHONE} · {settings.SITE_URL}" in message.body
    assert "http://testserver/accounts/password/reset/key/" in message.body  # the link of the site as served


def test_a_reset_for_an_unknown_address_offers_customer_service_not_a_sign_up(client, db):
    client.post(reverse("account_reset_password"), {"email": "stranger@example.com"})
    (message,) = mail.outbox
    assert "call customer service" in message.body and "sign up" not in message.body


def test_changing_the_login_email_asks_for_the_password_first(client, alice_login):
    sign_in(client, alice_login)
    response = ask_for_new_email(client)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_reauthenticate"))
    assert not EmailAddress.objects.filter(email="alice.new@example.com").exists()
    assert not mail.outbox


def test_a_wrong_password_changes_nothing(client, alice_login):
    sign_in(client, alice_login)
    reauthenticate = ask_for_new_email(client)["Location"]
    response = client.post(reauthenticate, {"password": "not-her-password"})
    assert response.status_code == 200
    assert not EmailAddress.objects.filter(email="alice.new@example.com").exists()


def test_the_changed_email_is_confirmed_by_the_new_address_and_told_to_the_old_one(client, alice_login):
    sign_in(client, alice_login)
    client.post(ask_for_new_email(client)["Location"], {"password": PASSWORD})
    (confirmation,) = mail.outbox
    assert confirmation.to == ["alice.new@example.com"]
    alice_login.refresh_from_db()
    assert alice_login.email == "alice@example.com"  # unchanged until the new address confirms
    client.post(re.search(r"http://testserver(\S+)", confirmation.body).group(1))
    alice_login.refresh_from_db()
    assert alice_login.email == "alice.new@example.com"
    notice = mail.outbox[-1]
    assert notice.to == ["alice@example.com"]
    assert "changed from alice@example.com to alice.new@example.com" in notice.body
    assert f"call customer service at {settings.UTILITY_PHONE}" in notice.body


def test_make_run_serves_and_links_on_the_same_port():
    result = subprocess.run(
        ["make", "-n", "run", "PORT=8811"], cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=60
    )
    runserver = next(line for line in result.stdout.splitlines() if "runserver" in line)
    assert "SITE_URL=http://127.0.0.1:8811" in runserver and "127.0.0.1:8811" in runserver
