"""The demo gives most generated customers a billing email, not all (SPEC §2b: both paths get exercised)."""

from accounts.services import clean_billing_email
from hydrospark.demo.generator import generate_customers


def test_most_generated_customers_have_a_valid_billing_email_and_some_none():
    frame = generate_customers(1_000)
    with_email = frame[frame["billing_email"] != ""]
    assert 0.75 < len(with_email) / len(frame) < 0.9
    assert all(clean_billing_email(e) == e for e in with_email["billing_email"])
    assert set(with_email["bill_delivery"]) == {"email", "paper_and_email", "paper"}

