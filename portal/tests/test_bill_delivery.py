"""The customer's own bill delivery choice and billing email (SPEC §2b), on the portal profile."""

from accounts.models import AuditEvent, DeliveryChoice


def test_the_profile_offers_the_login_email_for_bills_when_there_is_no_billing_email(client_for, alice):
    page = client_for(alice).get("/portal/profile/").content.decode()
    assert 'value="alice@example.com"' in page and "Paper and email" in page


def test_a_customer_chooses_paper_and_another_billing_email(client_for, alice, alice_account):
    data = {"form": "delivery", "bill_delivery": "paper_and_email", "billing_email": " Alice@Home.EXAMPLE "}
    response = client_for(alice).post("/portal/profile/", data, follow=True)
    assert "Your bill delivery choice is saved." in response.content.decode()
    alice_account.refresh_from_db()
    assert (alice_account.bill_delivery, alice_account.billing_email) == ("paper_and_email", "Alice@home.example")
    event = AuditEvent.objects.get(action="customer.delivery")
    assert event.actor == alice and event.customer == alice_account
    assert set(event.changes) == {"bill_delivery", "billing_email"}


def test_a_bad_billing_email_is_refused_and_changes_nothing(client_for, alice, alice_account):
    data = {"form": "delivery", "bill_delivery": "email", "billing_email": "alice at home"}
    page = client_for(alice).post("/portal/profile/", data).content.decode()
    assert "is not an email address" in page
    alice_account.refresh_from_db()
    assert alice_account.billing_email == "" and not AuditEvent.objects.exists()


def test_email_delivery_needs_an_address(client_for, alice, alice_account):
    data = {"form": "delivery", "bill_delivery": "email", "billing_email": ""}
    page = client_for(alice).post("/portal/profile/", data).content.decode()
    assert "or choose paper only" in page


def test_paper_only_needs_no_email(client_for, alice, alice_account):
    client_for(alice).post("/portal/profile/", {"form": "delivery", "bill_delivery": "paper", "billing_email": ""})
    alice_account.refresh_from_db()
    assert alice_account.bill_delivery == DeliveryChoice.PAPER


def test_a_customer_changes_only_their_own_choice(client_for, alice, alice_account, bob_account):
    client_for(alice).post("/portal/profile/", {"form": "delivery", "bill_delivery": "paper", "billing_email": ""})
    bob_account.refresh_from_db()
    assert bob_account.bill_delivery == DeliveryChoice.EMAIL
    assert list(AuditEvent.objects.values_list("customer", flat=True)) == [alice_account.pk]
