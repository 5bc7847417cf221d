"""How I compare (issue 16): a month's use beside similar homes' median and the efficient mark (20th percentile),
from precomputed groups of at least 20 accounts, never any other account's own figures."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from accounts.models import CustomerType
from conftest import make_customer
from metering.models import MeterRead
from portal.models import ComparisonGroup
from portal.selectors import zip_code
from portal.services import comparisons_refresh

from .conftest import give_reads

OCTOBER = datetime.date(2026, 10, 1)
D = Decimal


def neighbours(count: int, *, address="9 Elm St, Dallas, TX 75201", cycle=1, customer_type=CustomerType.RESIDENTIAL):
    """`count` accounts read every day of October: the n-th uses n × 0.1 CCF a day, 3.1 × n over the month."""
    made = []
    for n in range(1, count + 1):
        customer = make_customer(
            f"2{cycle:02d}{n:06d}",
            f"Neighbour {n}",
            mailing_address=address,
            cycle_number=cycle,
            customer_type=customer_type,
        )
        made.append(customer)
        MeterRead.objects.bulk_create(
            MeterRead(customer=customer, read_date=OCTOBER + datetime.timedelta(days=d), usage_ccf=D(n) / 10)
            for d in range(31)
        )
    return made


def test_zip_codes_are_read_from_the_end_of_the_address():
    assert zip_code("1 Main St, Dallas, TX 75201") == "75201"
    assert zip_code("PO Box 12, Plano TX 75024-1234 ") == "75024"
    assert zip_code("12345 Long Road, Austin") == ""


def test_the_groups_hold_the_median_and_the_20th_percentile(db):
    neighbours(20)
    assert comparisons_refresh(period=OCTOBER) == 2  # by ZIP code and by cycle
    group = ComparisonGroup.objects.get(basis="zip", key="75201")
    # 3.1, 6.2 … 62 CCF: the median 3.1 × 10.5, the 20th percentile (linear, as numpy) 3.1 × 4.8
    assert (group.accounts, group.median_ccf, group.efficient_ccf) == (20, D("32.5500"), D("14.8800"))


def test_a_month_not_read_every_day_and_groups_under_20_are_left_out(db):
    made = neighbours(20)
    MeterRead.objects.filter(customer=made[0], read_date=OCTOBER).delete()
    assert comparisons_refresh(period=OCTOBER) == 0 and not ComparisonGroup.objects.exists()


def test_the_dashboard_compares_with_the_zip_and_shows_no_one_elses_figures(client_for, alice, alice_reads):
    neighbours(19)  # and alice herself, read every day of October: 20 similar homes
    call_command("refresh_comparisons", "--period", "2026-10")
    page = client_for(alice).get("/portal/").content.decode()
    assert "How you compare in October" in page and "20 residential accounts in ZIP code 75201" in page
    assert "29.45 CCF" in page and "14.88 CCF" in page and "15.50 CCF" in page  # median, efficient, alice's own
    assert "Good" in page
    assert "Neighbour" not in page and "21.70 CCF" not in page  # nobody's own month (the 7th's 21.7 CCF)


def test_without_a_zip_group_the_cycle_answers(client_for, alice, alice_reads):
    neighbours(20, address="9 Elm St, Dallas, TX 75999")  # alice's ZIP has her alone
    comparisons_refresh(period=OCTOBER)
    assert "accounts on billing cycle 1" in client_for(alice).get("/portal/").content.decode()


@pytest.mark.parametrize("similar", [18, 0])
def test_under_20_similar_accounts_there_is_no_comparison(client_for, alice, alice_reads, similar):
    """18 neighbours and alice are 19 similar homes: too few to compare with."""
    neighbours(similar)
    neighbours(25, customer_type=CustomerType.COMMERCIAL, cycle=2)  # not similar: another type
    comparisons_refresh(period=OCTOBER)
    assert "How you compare" not in client_for(alice).get("/portal/").content.decode()


def test_an_efficient_home_is_told_so_in_gallons_too(client_for, alice, alice_account):
    give_reads(alice_account, usage="0.1000")
    neighbours(20)
    comparisons_refresh(period=OCTOBER)
    page = client_for(alice).get("/portal/?unit=gallons").content.decode()
    assert "Efficient" in page and "2,319 gallons" in page  # her 3.1 CCF in October


def test_refreshing_again_replaces_the_month(db):
    neighbours(20)
    comparisons_refresh(period=OCTOBER)
    comparisons_refresh(period=OCTOBER)
    assert ComparisonGroup.objects.count() == 2
