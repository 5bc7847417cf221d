"""A customer's reads for staff: on a staff page and in the admin, filterable, never editable (issue 3)."""

import datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from metering.models import MeterRead

pytestmark = pytest.mark.django_db


@pytest.fixture
def alice_reads(alice_account):
    MeterRead.objects.bulk_create(
        MeterRead(
            customer=alice_account,
            read_date=datetime.date(2024, 1, 1) + datetime.timedelta(days=n),
            usage_ccf=Decimal("0.25"),
        )
        for n in range(150)
    )
    return alice_account


def reads_url(customer, **query):
    url = reverse("metering:customer_reads", args=[customer.location_id])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


@pytest.mark.parametrize("who", ["operations", "billing", "support"])
def test_any_staff_role_sees_a_customers_reads(people, client_for, alice_reads, who):
    response = client_for(people[who]).get(reads_url(alice_reads))
    assert response.status_code == 200
    page = response.content.decode()
    assert "2024-05-29" in page and "Page 1 of 2" in page and "37.5000" in page


@pytest.mark.parametrize(("who", "expected"), [("anonymous", 302), ("customer", 403)])
def test_customers_and_strangers_cannot_see_the_staff_reads_page(people, client_for, alice_reads, who, expected):
    assert client_for(people[who]).get(reads_url(alice_reads)).status_code == expected


def test_reads_are_filtered_by_date(support, client_for, alice_reads):
    page = client_for(support).get(reads_url(alice_reads, start="2024-01-10", end="2024-01-12")).content.decode()
    assert "2024-01-10" in page and "2024-01-12" in page and "2024-01-13" not in page
    assert "<strong>3</strong> days read, <strong>0.7500</strong> CCF" in page


def test_a_backwards_date_range_is_explained(support, client_for, alice_reads):
    page = client_for(support).get(reads_url(alice_reads, start="2024-02-01", end="2024-01-01")).content.decode()
    assert "“From” must be on or before “To”." in page


def test_the_lookup_finds_a_customer_by_location_id(support, client_for, alice_reads):
    client = client_for(support)
    response = client.get(reverse("metering:reads"), {"location_id": " 100000001 "})
    assert response["Location"] == reads_url(alice_reads)
    page = client.get(reverse("metering:reads"), {"location_id": "999"}).content.decode()
    assert "No customer has the Location ID 999." in page


def test_reads_in_the_admin_can_be_listed_but_never_added_changed_or_deleted(ops, client_for, alice_reads):
    client = client_for(ops)
    read = alice_reads.reads.first()
    changelist = client.get(reverse("admin:metering_meterread_changelist"), {"q": "100000001"})
    assert changelist.status_code == 200 and "100000001" in changelist.content.decode()
    assert client.get(reverse("admin:metering_meterread_add")).status_code == 403
    change = client.get(reverse("admin:metering_meterread_change", args=[read.pk]))
    assert change.status_code == 200 and 'name="_save"' not in change.content.decode()
    assert (
        client.post(reverse("admin:metering_meterread_change", args=[read.pk]), {"usage_ccf": "9"}).status_code == 403
    )
    assert client.get(reverse("admin:metering_meterread_delete", args=[read.pk])).status_code == 403
    assert MeterRead.objects.get(pk=read.pk).usage_ccf == Decimal("0.2500")


def test_import_runs_in_the_admin_are_read_only(ops, client_for):
    client = client_for(ops)
    assert client.get(reverse("admin:metering_importrun_changelist")).status_code == 200
    assert client.get(reverse("admin:metering_importrun_add")).status_code == 403
