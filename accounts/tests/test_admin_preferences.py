"""Support edits a customer's contact details in the admin, never their preferences (issue 10.14, SPEC §5)."""

import pytest
from django.urls import reverse

from accounts.exceptions import AccountError
from accounts.models import AuditEvent
from accounts.services import customer_update_contact

pytestmark = pytest.mark.django_db


def change_url(customer):
    return reverse("admin:accounts_customer_change", args=[customer.pk])


def contact_form(customer, **changes) -> dict:
    data = {f: getattr(customer, f) for f in ("name", "mailing_address", "phone", "business_name", "facility_name")}
    return {**data, **changes}


def test_support_sees_preferences_but_cannot_edit_them(client_for, support, alice_account):
    page = client_for(support).get(change_url(alice_account)).content.decode()
    assert 'name="name"' in page
    for field in ("notify_usage_alerts", "bill_delivery", "billing_email"):
        assert f'name="{field}"' not in page
    assert "own choices (SPEC §5)" in page


def test_a_forged_post_changes_contact_details_but_not_preferences(client_for, support, alice_account):
    data = contact_form(alice_account, phone="(214) 555-0199", bill_delivery="paper", billing_email="x@evil.test")
    # notify_usage_alerts left out: an unticked box, i.e. "turn alerts off"
    response = client_for(support).post(change_url(alice_account), data)
    assert response.status_code == 302
    alice_account.refresh_from_db()
    assert alice_account.phone == "(214) 555-0199"
    assert alice_account.notify_usage_alerts is True
    assert alice_account.bill_delivery != "paper" and alice_account.billing_email != "x@evil.test"
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["customer.update"]


def test_superusers_do_not_change_a_customers_preferences_in_the_admin_either(client, alice_account, django_user_model):
    root = django_user_model.objects.create_superuser(email="root@test.hydrospark.com", password="x" * 12)
    client.force_login(root)
    page = client.get(change_url(alice_account)).content.decode()
    assert 'name="notify_usage_alerts"' not in page


def test_the_service_refuses_staff_changing_a_customers_alert_preferences(support, alice_account):
    with pytest.raises(AccountError, match="customer's own"):
        customer_update_contact(
            customer=alice_account, actor=support, data={"notify_usage_alerts": False}, fields=("notify_usage_alerts",)
        )
    alice_account.refresh_from_db()
    assert alice_account.notify_usage_alerts is True


def test_the_customer_changes_their_own_preferences(alice_account, alice):
    changes = customer_update_contact(
        customer=alice_account, actor=alice, data={"notify_usage_alerts": False}, fields=("notify_usage_alerts",)
    )
    assert changes == {"notify_usage_alerts": ["True", "False"]}
