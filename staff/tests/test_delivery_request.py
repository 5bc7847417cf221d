"""Support records a customer's spoken request about their bills (SPEC §2b), audited as such."""

from accounts.models import AuditEvent, DeliveryChoice

URL = "/staff/customers/{}/delivery/"


def test_support_records_a_phoned_request_for_paper_with_what_the_customer_said(client_for, support, alice_account):
    data = {"billing_email": "alice@work.example", "bill_delivery": "paper_and_email", "request_note": "Phoned 3 May"}
    response = client_for(support).post(URL.format(alice_account.location_id), data)
    assert response.status_code == 302
    alice_account.refresh_from_db()
    assert (alice_account.bill_delivery, alice_account.billing_email) == ("paper_and_email", "alice@work.example")
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.customer) == ("customer.delivery_request", support, alice_account)
    assert event.changes["request"] == "Phoned 3 May" and "Phoned 3 May" in event.summary


def test_a_request_without_what_the_customer_said_is_refused(client_for, support, alice_account):
    data = {"billing_email": "", "bill_delivery": "paper", "request_note": " "}
    page = client_for(support).post(URL.format(alice_account.location_id), data).content.decode()
    assert "This field is required" in page or "Say what the customer asked for" in page
    alice_account.refresh_from_db()
    assert alice_account.bill_delivery == DeliveryChoice.EMAIL and not AuditEvent.objects.exists()


def test_a_bad_billing_email_is_refused(client_for, support, alice_account):
    data = {"billing_email": "not an address", "bill_delivery": "email", "request_note": "asked by phone"}
    page = client_for(support).post(URL.format(alice_account.location_id), data).content.decode()
    assert "is not an email address" in page
    assert not AuditEvent.objects.exists()


def test_only_support_records_requests(client_for, biller, ops, alice, alice_account):
    data = {"billing_email": "", "bill_delivery": "paper", "request_note": "x"}
    for user in (biller, ops):
        assert client_for(user).post(URL.format(alice_account.location_id), data).status_code == 403
    assert client_for(alice).post(URL.format(alice_account.location_id), data).status_code in (403, 404)
    alice_account.refresh_from_db()
    assert alice_account.bill_delivery == DeliveryChoice.EMAIL


def test_the_customer_page_says_how_bills_go(client_for, support, alice_account):
    page = client_for(support).get(f"/staff/customers/{alice_account.location_id}/").content.decode()
    assert "Email only · alice@example.com" in page
