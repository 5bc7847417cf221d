"""A strict Content-Security-Policy on every page, the admin included, and no browser or proxy keeping a
customer's pages, bills, CSVs or charts (issue 10.18)."""

import datetime
import re

import pytest
from django.urls import reverse

from billing.models import Bill
from billing.services import bill_run_compute
from billing.tests.conftest import add_month
from hydrospark.templatetags.svg_csp import csp_svg

pytestmark = pytest.mark.django_db

SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><style type="text/css">*{stroke-linecap: butt}'
    '</style><g id="patch_1"><path d="M0 0" style="fill: #ffffff"/></g><text class="label" style="font-size: 10px">'
    "a</text><path d='M1 1' style=\"fill: #ffffff\"/></svg>"
)


@pytest.fixture
def bill(alice_account):
    add_month(alice_account, datetime.date(2026, 9, 1), "12")
    bill_run_compute(period=datetime.date(2026, 9, 1), issue=True, actor_label="test", today=datetime.date(2026, 10, 3))
    return Bill.objects.get()


def policy(response) -> str:
    return response.headers.get("Content-Security-Policy", "")


@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/", "/no-such-page/"])
def test_every_page_has_a_strict_policy(client, url):
    value = policy(client.get(url))
    assert "default-src 'self'" in value and "object-src 'none'" in value and "frame-ancestors 'none'" in value
    assert "unsafe-inline" not in value and "unsafe-eval" not in value


def test_the_admin_has_the_same_policy(client_for, biller):
    assert "script-src 'self'" in policy(client_for(biller).get(reverse("admin:billing_rateschedule_changelist")))


def test_a_page_with_an_inline_chart_allows_exactly_its_nonce(client_for, support, bill):
    response = client_for(support).get(reverse("billing:bill", args=[bill.pk]))
    nonce = str(response.context["csp_nonce"])
    assert f"style-src 'self' 'nonce-{nonce}'" in policy(response)
    assert f'<style nonce="{nonce}">.hs-s' in response.content.decode()


def test_portal_pages_and_downloads_are_never_stored(client_for, alice, bill):
    client = client_for(alice)
    for url in ("/portal/", "/portal/usage/reads.csv", f"/portal/bills/{bill.pk}/", f"/portal/bills/{bill.pk}/pdf/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "private, no-store", url


def test_a_customers_chart_is_never_stored_and_runs_no_script(client_for, alice, bill):
    page = client_for(alice).get("/portal/usage/")
    chart_url = next(u for u in re.findall(r'(/portal/charts/[^"]+)', page.content.decode()) if "size=" in u)
    response = client_for(alice).get(chart_url.replace("&amp;", "&"))
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, no-store"
    assert policy(response) == "default-src 'none'; style-src 'unsafe-inline'"


def test_staff_bill_pdfs_csvs_and_customer_pages_are_never_stored(client_for, support, bill):
    client = client_for(support)
    urls = [
        reverse("billing:bill_pdf", args=[bill.pk]),
        reverse("staff:audit_csv"),
        reverse("staff:customer", args=[bill.customer.location_id]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "private, no-store", url


def test_staff_pages_not_about_one_customer_keep_normal_caching(client_for, support):
    assert client_for(support).get(reverse("staff:home")).get("Cache-Control", "") != "private, no-store"


def test_inline_svg_styles_move_into_one_nonced_style_element():
    out = str(csp_svg(SVG, "n0nce"))
    assert 'style="' not in out
    assert out.count('<style nonce="n0nce"') == 2  # matplotlib's own and the moved declarations
    assert out.count("{fill: #ffffff}") == 1  # one class for the two paths that share the declarations
    assert 'class="label hs-s' in out  # an existing class is kept beside the new one
    assert out.index("<svg") < out.index('<style nonce="n0nce">.hs-s')


def test_inline_svg_without_a_nonce_is_left_as_it_is():
    assert str(csp_svg(SVG, "")) == SVG
