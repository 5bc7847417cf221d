"""SPEC §5's table of capabilities, exactly: each role has what the table gives it and nothing more,
and a deactivated login keeps no role (issue 10, surviving mistakes)."""

import pytest

from accounts.roles import CAPABILITIES, is_staff_member, user_can, user_roles

pytestmark = pytest.mark.django_db

# SPEC §5, row by row (customers reach their own data through the portal, never a staff capability).
SPEC_TABLE = {
    "view_customers": {"ops", "biller", "support"},
    "edit_customer_contact": {"support"},
    "import_meter_data": {"ops"},
    "review_anomalies": {"ops"},
    "view_anomalies": {"ops", "biller", "support"},
    "edit_rates": {"biller"},
    "manage_bills": {"biller"},
    "import_payments": {"ops", "biller"},  # issue 12: the bank's payments file, uploaded by either
    "view_bills": {"ops", "biller", "support"},
    "view_analytics": {"ops", "biller", "support"},
}
PEOPLE = ("ops", "biller", "support", "alice")


def test_every_capability_is_in_the_spec_table():
    assert set(CAPABILITIES) == set(SPEC_TABLE)


@pytest.mark.parametrize("capability", sorted(SPEC_TABLE))
def test_each_capability_belongs_to_exactly_the_roles_of_the_spec(capability, request):
    allowed = {who for who in PEOPLE if user_can(request.getfixturevalue(who), capability)}
    assert allowed == SPEC_TABLE[capability]


def test_a_deactivated_staff_login_keeps_no_role(biller):
    biller.is_active = False
    biller.save()
    assert user_roles(biller) == frozenset()
    assert not is_staff_member(biller)
    assert not any(user_can(biller, capability) for capability in CAPABILITIES)


def test_a_deactivated_superuser_keeps_no_role(django_user_model):
    root = django_user_model.objects.create_superuser(email="root@test.hydrospark.com", password="x" * 12)
    root.is_active = False
    assert user_roles(root) == frozenset()
