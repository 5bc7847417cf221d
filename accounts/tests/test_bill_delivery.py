"""The billing email and delivery choice of the customer account (SPEC §2b)."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from accounts.exceptions import AccountError
from accounts.models import AuditEvent, Customer, DeliveryChoice
from accounts.services import clean_billing_email, customer_update_delivery
from conftest import make_customer


def test_bills_go_to_the_billing_email_else_the_login_email(alice_account):
    assert alice_account.bill_email == "alice@example.com"
    alice_account.billing_email = "bills@alice.example"
    assert alice_account.bill_email == "bills@alice.example"


@pytest.mark.parametrize(
    ("choice", "email", "by_email", "on_paper"),
    [
        (DeliveryChoice.EMAIL, "a@b.example", True, False),
        (DeliveryChoice.PAPER_AND_EMAIL, "a@b.example", True, True),
        (DeliveryChoice.PAPER, "a@b.example", False, True),
        (DeliveryChoice.EMAIL, "", False, True),  # nothing to email: paper
    ],
)
def test_each_choice_reaches_the_customer_one_way_or_both(db, choice, email, by_email, on_paper):
    customer = make_customer("200", "Pat", billing_email=email, bill_delivery=choice)
    assert (customer.gets_bill_email, customer.gets_paper_bill) == (by_email, on_paper)


def test_a_billing_email_is_trimmed_and_its_domain_lowered():
    assert clean_billing_email("  Pat.Smith@Example.COM ") == "Pat.Smith@example.com"
    with pytest.raises(AccountError):
        clean_billing_email("pat@")


def test_an_unknown_choice_is_refused(alice_account, alice):
    with pytest.raises(AccountError):
        customer_update_delivery(customer=alice_account, actor=alice, data={"bill_delivery": "pigeon"})
    assert not AuditEvent.objects.exists()


def test_no_change_records_nothing(alice_account, alice):
    assert customer_update_delivery(customer=alice_account, actor=alice, data={"bill_delivery": "email"}) == {}
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_billing_emails_from_logins_and_keeps_opt_outs_on_paper():
    before, after = [("accounts", "0003_audit_trail_indexes")], [("accounts", "0004_billing_email_delivery")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    user = old.get_model("accounts", "User").objects.create(email="pat@example.com")
    Old = old.get_model("accounts", "Customer")
    fields = {"mailing_address": "1 Main St", "customer_type": "residential", "cycle_number": 1}
    Old.objects.create(location_id="1", name="Pat", user=user, **fields)
    Old.objects.create(location_id="2", name="Quiet", notify_bill_emails=False, **fields)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(after)
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    rows = dict(Customer.objects.values_list("location_id", "billing_email"))
    assert rows == {"1": "pat@example.com", "2": ""}
    assert Customer.objects.get(location_id="2").bill_delivery == DeliveryChoice.PAPER
