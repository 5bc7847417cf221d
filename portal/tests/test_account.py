"""What I owe (issue 16): the dashboard leads with the amount due now, its due date and the last payment;
the payments page lists every entry of the signed-in customer's own account; the payment link carries the
account and the amount, and shows only when PAYMENT_URL is set."""

import datetime
from decimal import Decimal as D

import pytest
from django.urls import reverse

from billing.account_services import payment_record
from billing.adjustments import adjustment_record

from .conftest import TODAY

pytestmark = pytest.mark.django_db


def pay(customer, amount, **fields):
    return payment_record(customer=customer, amount=amount, paid_on=TODAY, method="card", actor_label="test", **fields)


def test_the_dashboard_leads_with_the_amount_due_its_date_and_the_last_payment(client_for, alice, bills):
    pay(alice.customers.get(), "20.00", reference="CARD-1")
    html = client_for(alice).get(reverse("portal:dashboard")).content.decode()
    due = html[html.index('id="amount-due"') :]
    assert html.index('id="amount-due"') < html.index("Use so far in")  # it leads the page
    assert f"${bills['alice'].total_amount - D('20.00'):,.2f}" in due[:2000]
    assert "Due by <strong>December 11, 2026</strong>" in due
    assert "Last payment: $20.00 on November 20, 2026 (Card)" in due


def test_an_overdue_amount_is_called_out(client_for, alice, alice_account, bills, time_machine):
    time_machine.move_to(datetime.datetime(2026, 12, 20, 18, 0, tzinfo=datetime.UTC), tick=False)
    html = client_for(alice).get(reverse("portal:dashboard")).content.decode()
    assert f"${bills['alice'].total_amount:,.2f} overdue</span> since December 11, 2026" in html


def test_a_credit_reads_as_nothing_to_pay(client_for, alice, bills):
    pay(alice.customers.get(), bills["alice"].total_amount + D("5.00"), confirm_credit=True)
    html = client_for(alice).get(reverse("portal:dashboard")).content.decode()
    assert "$5.00 credit" in html and "Nothing to pay" in html and 'data-testid="pay-online"' not in html


def test_the_payment_link_carries_the_account_and_the_amount_only_when_set(client_for, alice, bills, settings):
    client = client_for(alice)
    assert 'data-testid="pay-online"' not in client.get(reverse("portal:dashboard")).content.decode()
    settings.PAYMENT_URL = "https://pay.example.com/hydrospark?account={account}&amount={amount}&x={y}"
    pay(alice.customers.get(), "20.00")
    html = client.get(reverse("portal:dashboard")).content.decode()
    amount = bills["alice"].total_amount - D("20.00")
    assert f'href="https://pay.example.com/hydrospark?account=100000001&amp;amount={amount:.2f}&amp;x={{y}}"' in html


def test_the_payments_page_lists_every_entry_of_my_account_and_no_one_elses(client_for, alice, bob, bills, biller):
    pay(alice.customers.get(), "20.00", reference="CARD-1")
    adjustment_record(
        customer=alice.customers.get(), amount="-3.00", reason="goodwill", note="Late meter reader", actor=biller
    )
    pay(bob.customers.get(), "7.77", reference="BOB-1")
    html = client_for(alice).get(reverse("portal:payments")).content.decode()
    assert bills["alice"].number in html and "CARD-1" in html and "Late meter reader" in html
    assert bills["bob"].number not in html and "BOB-1" not in html and "7.77" not in html
    assert "How to pay" in html and "By check" in html and "In person" in html and "By bank transfer" in html
    assert "PO Box 2250" in html  # checks go to the utility's address (settings.UTILITY_ADDRESS)


def test_the_payments_page_is_for_customers_only(client_for, people, bills):
    codes = {role: client_for(user).get(reverse("portal:payments")).status_code for role, user in people.items()}
    assert codes == {"anonymous": 302, "operations": 403, "billing": 403, "support": 403, "customer": 200}


def test_a_customer_without_any_entry_sees_an_empty_account(client_for, alice):
    html = client_for(alice).get(reverse("portal:payments")).content.decode()
    assert "Nothing on your account yet" in html and "$0.00" in html


def test_a_cancelled_bill_shows_on_the_account_without_a_link_and_its_correction_with_one(client_for, alice, bills):
    from billing.rebilling import bill_rebill

    old = bills["alice"]
    new = bill_rebill(bill=old, reason="Meter re-read", actor_label="test")
    html = client_for(alice).get(reverse("portal:payments")).content.decode()
    assert f"/portal/bills/{old.pk}/" not in html and "(cancelled)" in html and f"Bill {old.number} cancelled" in html
    assert f"/portal/bills/{new.pk}/" in html


def test_a_corrected_bill_tells_the_customer_which_bill_it_replaces(client_for, alice, bills):
    from billing.rebilling import bill_rebill

    new = bill_rebill(bill=bills["alice"], reason="Meter re-read", actor_label="test")
    html = client_for(alice).get(reverse("portal:bill", args=[new.pk])).content.decode()
    assert f"This bill corrects bill {bills['alice'].number}, which was cancelled (Meter re-read)" in html
