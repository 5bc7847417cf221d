"""Every staff page for every visitor (SPEC §5): staff reach what their role may do, others get 403,
signed-out visitors a login redirect."""

import pytest

pytestmark = pytest.mark.django_db

ALL_STAFF = {"operations", "billing", "support"}
# page -> the roles that may open it
PAGES = {
    "/staff/": ALL_STAFF,
    "/staff/customers/": ALL_STAFF,
    "/staff/customers/?q=alice": ALL_STAFF,
    "/staff/customers/100000001/": ALL_STAFF,
    "/staff/customers/100000001/usage.svg": ALL_STAFF,
    "/staff/customers/100000001/edit/": {"support"},
    "/staff/analytics/": ALL_STAFF,
    "/staff/analytics/top-consumers.csv": ALL_STAFF,
    "/staff/analytics/charts/consumption-by-month.svg": ALL_STAFF,
    "/staff/audit/": ALL_STAFF,
    "/staff/audit/export.csv": ALL_STAFF,
}


@pytest.mark.parametrize("url", PAGES)
def test_each_role_reaches_exactly_its_staff_pages(client_for, people, url):
    for role, user in people.items():
        response = client_for(user).get(url)
        if user is None:
            assert response.status_code == 302, (role, url)
            assert response["Location"].startswith("/accounts/login/")
        elif role in PAGES[url]:
            assert response.status_code == 200, (role, url)
        else:
            assert response.status_code == 403, (role, url)


@pytest.mark.parametrize("who", ["ops", "biller", "alice"])
def test_only_support_may_save_contact_details(client_for, request, alice_account, who):
    response = client_for(request.getfixturevalue(who)).post(
        f"/staff/customers/{alice_account.location_id}/edit/",
        {"name": "Mallory", "mailing_address": "x", "phone": "", "business_name": "", "facility_name": ""},
    )
    assert response.status_code == 403
    alice_account.refresh_from_db()
    assert alice_account.name == "Alice Archer"


def test_a_customer_cannot_add_staff_notes(client_for, alice, alice_account):
    response = client_for(alice).post(f"/staff/customers/{alice_account.location_id}/notes/", {"body": "hi"})
    assert response.status_code == 403
    assert not alice_account.staff_notes.exists()


def test_notes_are_added_by_post_only(client_for, support, alice_account):
    assert client_for(support).get(f"/staff/customers/{alice_account.location_id}/notes/").status_code == 405


def test_the_navigation_shows_each_role_its_staff_links(client_for, ops, biller, support):
    for user in (ops, biller, support):
        html = client_for(user).get("/staff/").content.decode()
        for link in ('href="/staff/customers/"', 'href="/staff/analytics/"', 'href="/staff/audit/"'):
            assert link in html


def test_the_support_home_starts_with_customer_search(client_for, support):
    html = client_for(support).get("/staff/").content.decode()
    assert html.index('id="find-customer"') < html.index("Your tools")
    assert "Detection runs" not in html and "Receivables aging" not in html


def test_the_operations_home_shows_runs_and_open_anomalies_not_billing(client_for, ops):
    html = client_for(ops).get("/staff/").content.decode()
    assert "Open incidents" in html and "open anomaly days" in html and "Detection runs" in html
    assert "Receivables aging" not in html and 'id="find-customer"' not in html


def test_the_billing_home_shows_the_period_and_overdue_not_operations(client_for, biller):
    html = client_for(biller).get("/staff/").content.decode()
    assert "Receivables aging" in html and "Overdue" in html
    assert "Detection runs" not in html


def test_unknown_customer_is_404(client_for, support):
    assert client_for(support).get("/staff/customers/999999999/").status_code == 404


def test_the_operations_home_lists_the_last_imports_and_detection_runs(client_for, ops, alice_account):
    import datetime

    from django.utils import timezone

    from anomalies.models import DetectionRun, Method
    from anomalies.tests.factories import make_anomaly, make_incident
    from metering.models import ImportRun, ImportSource, ImportStatus

    ImportRun.objects.create(
        status=ImportStatus.DONE,
        source=ImportSource.COMMAND,
        actor_label="command import_usage",
        file_name="<b>daily</b>.csv",
        rows_read=1200,
        reads_created=1190,
        rows_rejected=10,
    )
    DetectionRun.objects.create(method=Method.ROLLING, state="finished", started_at=timezone.now(), found=7, created=3)
    make_anomaly(alice_account, datetime.date(2026, 7, 4))
    make_incident(alice_account, datetime.date(2026, 7, 4))
    html = client_for(ops).get("/staff/").content.decode()
    assert "&lt;b&gt;daily&lt;/b&gt;.csv" in html and "1,190" in html and "command import_usage" in html
    assert "Rolling 90 days" in html
    assert '?status=open">1</a>' in html
