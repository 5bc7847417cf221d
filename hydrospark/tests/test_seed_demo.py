import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.models import Customer, User
from metering.models import MeterRead

pytestmark = pytest.mark.django_db


def snapshot():
    return (
        list(Customer.objects.order_by("location_id").values_list("location_id", "name", "user__email")),
        MeterRead.objects.count(),
        list(User.objects.order_by("email").values_list("email", "is_staff")),
    )


def test_seed_demo_twice_changes_nothing(settings):
    settings.DEBUG = True
    call_command("seed_demo", customers=3)
    first = snapshot()
    call_command("seed_demo", customers=3)
    assert snapshot() == first


def test_seed_demo_creates_the_spec_logins_and_noahs_history(settings, client):
    settings.DEBUG = True
    call_command("seed_demo", customers=2)
    noah = Customer.objects.get(location_id="101887055")
    assert noah.name == "Noah Hernandez" and noah.cycle_number == 20 and noah.user.email == "noah@example.com"
    assert noah.reads.filter(read_date__lte="2026-05-31").count() == 2830
    for email, home in [
        ("ops@hydrospark.com", "/staff/"),
        ("billing@hydrospark.com", "/staff/"),
        ("support@hydrospark.com", "/staff/"),
        ("noah@example.com", "/portal/"),
    ]:
        client.logout()
        response = client.post("/accounts/login/", {"login": email, "password": "password123"})
        assert response["Location"] == home, email


def test_seed_demo_refuses_with_debug_off(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError) as excinfo:
        call_command("seed_demo", customers=1)
    assert excinfo.value.returncode == 2


def test_seed_demo_if_empty_leaves_an_existing_database_alone(settings):
    settings.DEBUG = True
    call_command("seed_demo", customers=1)
    MeterRead.objects.filter(customer__location_id="101887055", read_date__gte="2026-01-01").delete()
    before = snapshot()
    call_command("seed_demo", customers=1, if_empty=True)
    assert snapshot() == before
