"""Rate schedule versions (issue 10.1): Billing adds and changes them in the admin through billing.rates,
which refuses to touch a version that priced an issued bill and audits every change in plain text."""

import datetime
import json
from decimal import Decimal as D

import pytest
from django.urls import reverse

from accounts.models import AuditEvent
from billing.exceptions import BillingError
from billing.models import Bill, RateSchedule
from billing.pricing import Fee, Tier
from billing.rates import RateVersion, rate_schedule_create, rate_schedule_delete, rate_schedule_update
from billing.services import bill_run_compute

from .conftest import add_month

pytestmark = pytest.mark.django_db

JULY = datetime.date(2025, 7, 1)
ADD = reverse("admin:billing_rateschedule_add")
VERSION_2026 = RateVersion(
    name="2026 rates",
    effective_from=datetime.date(2026, 1, 1),
    tiers=(Tier(D("10"), D("3.00")), Tier(None, D("4.00"))),
    multipliers={7: D("1.25")},
    fees=(Fee("Base service fee", D("16.00"), "base"),),
)


def _inline(prefix: str, rows: list[dict], stored=None) -> dict:
    """An inline formset's fields; the stored rows, when given, are posted as the change page shows them."""
    ids = list(stored.values_list("pk", flat=True)) if stored is not None else []
    data = {f"{prefix}-TOTAL_FORMS": max(len(rows), len(ids)), f"{prefix}-INITIAL_FORMS": len(ids)}
    for i, row in enumerate(rows):
        data.update({f"{prefix}-{i}-{key}": value for key, value in row.items()})
    for i, pk in enumerate(ids):
        data[f"{prefix}-{i}-id"] = pk
        if i >= len(rows):
            data[f"{prefix}-{i}-DELETE"] = "on"
    return data


def admin_form(schedule=None, **fields) -> dict:
    """What the admin's add page posts for a version from 2026 with two tiers, July ×1.25 and one fee
    (or its change page, for a stored schedule)."""
    data = {
        "name": "2026 rates",
        "customer_type": "",
        "effective_from": "2026-01-01",
        "late_fee_percent": "5.00",
        "late_fee_grace_days": "5",
        "notes": "",
        **fields,
    }
    tiers = [{"up_to": "10", "rate": "3.00"}, {"up_to": "", "rate": "4.00"}]
    fees = [{"code": "base", "label": "Base service fee", "amount": "16.00", "position": "0"}]
    data.update(_inline("tiers", tiers, schedule and schedule.tiers.order_by("pk")))
    data.update(_inline("multipliers", [{"month": "7", "multiplier": "1.25"}], schedule and schedule.multipliers.all()))
    data.update(_inline("fees", fees, schedule and schedule.fees.all()))
    return data


def issue_july(customer):
    add_month(customer, JULY, "5")
    bill_run_compute(period=JULY, issue=True, actor_label="test", today=datetime.date(2025, 8, 3))


def test_billing_adds_a_rate_version_in_the_admin(client_for, biller):
    response = client_for(biller).post(ADD, admin_form())
    assert response.status_code == 302, response.content.decode()[:2000]
    schedule = RateSchedule.objects.get(name="2026 rates")
    plan = schedule.to_plan()
    assert plan.tiers == (Tier(D("10"), D("3.00")), Tier(None, D("4.00")))
    assert plan.multipliers == {7: D("1.25")}
    assert [(f.label, f.amount, f.code) for f in plan.fees] == [("Base service fee", D("16.00"), "base")]
    event = AuditEvent.objects.get(action="rates.create")
    assert event.actor == biller
    assert event.changes["tiers"] == "up to 10 CCF at $3; above: $4"
    json.dumps(event.changes)  # plain keys and values


def test_an_admin_version_with_a_bad_tier_list_is_shown_again_with_the_reason(client_for, biller):
    data = admin_form()
    data["tiers-1-up_to"] = "5"  # below the first tier and bounded: no tier prices high usage
    response = client_for(biller).post(ADD, data)
    assert response.status_code == 200
    assert "must" in response.content.decode()
    assert not RateSchedule.objects.filter(name="2026 rates").exists()


def test_operations_cannot_add_a_rate_version(client_for, ops):
    assert client_for(ops).post(ADD, admin_form()).status_code == 403
    assert not RateSchedule.objects.filter(name="2026 rates").exists()


def test_changing_a_version_in_the_admin_replaces_its_tiers_and_audits_what_changed(client_for, biller):
    schedule = rate_schedule_create(version=VERSION_2026, actor=biller)
    data = admin_form(schedule, name="2026 rates, revised")
    data["tiers-0-rate"] = "3.10"
    response = client_for(biller).post(reverse("admin:billing_rateschedule_change", args=[schedule.pk]), data)
    assert response.status_code == 302
    schedule.refresh_from_db()
    assert schedule.name == "2026 rates, revised"
    assert schedule.to_plan().tiers[0].rate == D("3.10")
    assert schedule.tiers.count() == 2
    event = AuditEvent.objects.get(action="rates.change")
    assert set(event.changes) == {"name", "tiers"}  # 16.00 against 16 is no change
    assert event.changes["name"] == ["2026 rates", "2026 rates, revised"]


def test_the_admin_warns_that_drafts_priced_with_a_changed_version_need_a_new_run(client_for, biller, alice_account):
    schedule = rate_schedule_create(version=VERSION_2026, actor=biller)
    july_2026 = datetime.date(2026, 7, 1)
    add_month(alice_account, july_2026, "5")
    bill_run_compute(period=july_2026, actor_label="test", today=datetime.date(2026, 8, 3))
    url = reverse("admin:billing_rateschedule_change", args=[schedule.pk])
    response = client_for(biller).post(url, admin_form(schedule, notes="Rounded"), follow=True)
    assert "1 draft bill(s) were priced with this version" in response.content.decode()


def test_the_service_refuses_to_change_a_version_that_priced_an_issued_bill(alice_account, biller):
    issue_july(alice_account)
    schedule = Bill.objects.get().rate_schedule
    with pytest.raises(BillingError, match="priced issued bills"):
        rate_schedule_update(schedule=schedule, version=VERSION_2026, actor=biller)
    assert schedule.to_plan().tiers[0].rate == D("2.50")
    assert not AuditEvent.objects.filter(action="rates.change").exists()


def test_a_cancelled_bill_still_locks_the_version_that_priced_it(alice_account, biller):
    issue_july(alice_account)
    Bill.objects.update(status=Bill.Status.CANCELLED)  # its corrected bill is priced with the same version
    with pytest.raises(BillingError):
        rate_schedule_update(schedule=RateSchedule.objects.get(), version=VERSION_2026, actor=biller)


def test_the_admin_refuses_a_forged_change_to_a_locked_version(client_for, biller, alice_account):
    issue_july(alice_account)
    schedule = Bill.objects.get().rate_schedule
    url = reverse("admin:billing_rateschedule_change", args=[schedule.pk])
    response = client_for(biller).post(url, admin_form(schedule))
    assert response.status_code == 403
    assert schedule.to_plan().tiers[0].rate == D("2.50")


def test_the_service_refuses_a_tier_list_that_cannot_price_every_usage(biller):
    bounded = RateVersion(name="Bad", effective_from=JULY, tiers=(Tier(D("10"), D("2.00")),))
    with pytest.raises(BillingError, match="last tier"):
        rate_schedule_create(version=bounded, actor=biller)
    assert not RateSchedule.objects.filter(name="Bad").exists()


def test_the_service_refuses_a_second_version_for_the_same_type_and_day(biller):
    rate_schedule_create(version=VERSION_2026, actor=biller)
    with pytest.raises(BillingError, match="refused"):
        rate_schedule_create(version=VERSION_2026, actor=biller)


def test_a_version_that_priced_bills_cannot_be_deleted_but_an_unused_one_can(alice_account, biller):
    issue_july(alice_account)
    used = Bill.objects.get().rate_schedule
    with pytest.raises(BillingError, match="priced bills"):
        rate_schedule_delete(schedule=used, actor=biller)
    unused = rate_schedule_create(version=VERSION_2026, actor=biller)
    rate_schedule_delete(schedule=unused, actor=biller)
    assert list(RateSchedule.objects.all()) == [used]
    assert AuditEvent.objects.filter(action="rates.delete", target_id=str(unused.pk)).exists()


def test_a_new_version_prices_the_periods_from_its_date(alice_account, biller):
    rate_schedule_create(version=VERSION_2026, actor=biller)
    july_2026 = datetime.date(2026, 7, 1)
    add_month(alice_account, july_2026, "12")
    bill_run_compute(period=july_2026, actor_label="test", today=datetime.date(2026, 8, 3))
    bill = Bill.objects.get()
    # (10 × 3.00 + 2 × 4.00) × 1.25 = 47.50, + 16.00
    assert bill.total_amount == D("63.50")


@pytest.mark.parametrize("role", ["ops", "support", "alice"])
def test_only_billing_may_write_rates_whatever_the_door(role, request):
    """SPEC §5 (edit rate schedules: Billing only) held by the service, not only by admin permissions."""
    with pytest.raises(BillingError, match="Only Billing"):
        rate_schedule_create(version=VERSION_2026, actor=request.getfixturevalue(role))
    assert not RateSchedule.objects.filter(name="2026 rates").exists()


def test_a_deactivated_billing_login_may_no_longer_write_rates(biller):
    biller.is_active = False
    biller.save()
    with pytest.raises(BillingError, match="Only Billing"):
        rate_schedule_create(version=VERSION_2026, actor=biller)
