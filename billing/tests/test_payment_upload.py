"""The payments upload page (issue 12 item 2): Operations and Billing upload the bank's file, imported in the
background on the shared run lifecycle; the page shows progress, then the counts and the rejected rows (a CSV
safe to open in a spreadsheet); the history lists every payments import; a failed or stalled one is retried."""

import datetime

import pytest
import time_machine
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from billing.models import Payment, PaymentImport
from billing.payment_import import payment_import_queue, payment_imports_fail_stalled

PAGE = "/staff/billing/payment-imports/"
TODAY = datetime.datetime(2025, 9, 30, 12, tzinfo=datetime.UTC)
BANK = (
    "location_id,amount,paid_on,method,reference\n"
    "100000001,50.00,2025-08-10,card,TX-1\n"
    "100000002,20.25,2025-08-11,check,TX-2\n"
    "999999999,10.00,2025-08-11,cash,TX-3\n"
    '100000001,=1+2,2025-08-12,card,=HYPERLINK("http://x")\n'
)
pytestmark = pytest.mark.usefixtures("accounts_and_media")


@pytest.fixture
def accounts_and_media(alice_account, bob_account, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    cache.clear()  # run heartbeats live in the cache, and test databases reuse run ids
    with time_machine.travel(TODAY, tick=False):
        yield


def upload(client, text=BANK, name="bank-2025-08.csv", capture=None):
    data = {"file": SimpleUploadedFile(name, text.encode(), content_type="text/csv")}
    if capture is None:
        return client.post(PAGE, data)
    with capture(execute=True):  # the background worker's part (the immediate backend in tests)
        return client.post(PAGE, data)


@pytest.mark.parametrize("who", ["ops", "biller"])
def test_operations_and_billing_open_the_upload_page_with_its_size_limit(client_for, request, who, settings):
    settings.PAYMENT_UPLOAD_MAX_MB = 7
    page = client_for(request.getfixturevalue(who)).get(PAGE)
    assert page.status_code == 200 and "CSV files up to <strong>7 MB</strong>" in page.content.decode()


@pytest.mark.parametrize("who", ["support", "alice"])
def test_support_and_customers_get_403_and_upload_nothing(client_for, request, who):
    client = client_for(request.getfixturevalue(who))
    assert client.get(PAGE).status_code == 403
    assert upload(client).status_code == 403
    assert not PaymentImport.objects.exists()


def test_signed_out_visitors_are_sent_to_sign_in(client):
    assert client.get(PAGE)["Location"].startswith("/accounts/login/")


def test_an_upload_is_imported_in_the_background_and_shows_its_counts(
    client_for, biller, django_capture_on_commit_callbacks
):
    client = client_for(biller)
    response = upload(client, capture=django_capture_on_commit_callbacks)
    run = PaymentImport.objects.get()
    assert response["Location"] == f"{PAGE}{run.pk}/"
    assert (run.state, run.rows_read, run.payments_recorded, run.rows_rejected) == ("done", 4, 2, 2)
    assert run.upload.name.endswith(".csv") and run.requested_by == biller
    page = client.get(response["Location"]).content.decode()
    assert 'id="count-recorded">2<' in page and 'id="count-rejected">2<' in page and "$70.25" in page
    assert "unknown location" in page and "Download rejected rows (CSV)" in page
    assert Payment.objects.filter(source="bank_file").count() == 2


def test_the_rejected_rows_download_cannot_run_formulas_in_a_spreadsheet(
    client_for, ops, django_capture_on_commit_callbacks
):
    client = client_for(ops)
    upload(client, capture=django_capture_on_commit_callbacks)
    run = PaymentImport.objects.get()
    response = client.get(f"{PAGE}{run.pk}/rejects.csv")
    body = response.content.decode()
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert body.splitlines()[0] == "line,reason,location_id,amount,paid_on,method,reference"
    assert "4,unknown location,999999999,10.00,2025-08-11,cash,TX-3" in body
    assert "'=1+2" in body and "'=HYPERLINK" in body and ",=1+2" not in body


def test_a_file_without_rejects_has_no_download(client_for, biller, django_capture_on_commit_callbacks):
    client = client_for(biller)
    upload(client, text=BANK.split("999999999")[0], capture=django_capture_on_commit_callbacks)
    run = PaymentImport.objects.get()
    assert run.rows_rejected == 0 and client.get(f"{PAGE}{run.pk}/rejects.csv").status_code == 404


def test_the_same_file_twice_records_each_payment_once_and_the_history_lists_both(
    client_for, biller, django_capture_on_commit_callbacks
):
    client = client_for(biller)
    for _ in range(2):
        upload(client, capture=django_capture_on_commit_callbacks)
    first, second = PaymentImport.objects.order_by("pk")
    assert (second.payments_recorded, second.already_recorded) == (0, 2)
    history = client.get(PAGE).content.decode()
    assert f"#{first.pk}" in history and f"#{second.pk}" in history and "Done, 2 rejected" in history


def test_a_queued_import_shows_progress_and_its_status_answers_json(client_for, biller):
    client = client_for(biller)
    upload(client)  # not run: the on-commit enqueue is never called here
    run = PaymentImport.objects.get()
    page = client.get(f"{PAGE}{run.pk}/").content.decode()
    assert "Waiting for the background worker to start" in page and 'id="import-progress"' in page
    status = client.get(f"{PAGE}{run.pk}/status/").json()
    assert status == {"state": "queued", "finished": False, "stalled": False, "phase": "", "rows": 0, "fraction": 0.0}


@pytest.mark.parametrize(
    ("name", "text", "error"),
    [
        ("bank.xlsx", BANK, "Upload the bank&#x27;s file as a .csv file."),
        ("bank.csv", "", "The submitted file is empty."),
    ],
)
def test_a_file_that_is_not_a_csv_or_empty_is_refused_on_the_form(client_for, biller, name, text, error):
    page = upload(client_for(biller), text=text, name=name).content.decode()
    assert error in page and not PaymentImport.objects.exists()


def test_a_file_above_the_limit_is_refused_saying_the_limit(client_for, biller, settings):
    settings.PAYMENT_UPLOAD_MAX_MB = 1
    page = upload(client_for(biller), text=BANK + "x" * (1024 * 1024)).content.decode()
    assert "the limit is 1 MB" in page and not PaymentImport.objects.exists()


def test_a_file_that_cannot_be_read_fails_and_says_why(client_for, biller, django_capture_on_commit_callbacks):
    client = client_for(biller)
    upload(client, text="location_id,amount\n100000001,5.00\n", capture=django_capture_on_commit_callbacks)
    run = PaymentImport.objects.get()
    page = client.get(f"{PAGE}{run.pk}/").content.decode()
    assert run.state == "failed" and "has no paid_on, method, reference column" in page
    assert "Retry" in page and not Payment.objects.exists()


@pytest.fixture
def stalled(biller):
    """An upload whose worker died while importing it: running, silent for longer than RUN_STALE_MINUTES."""
    run = payment_import_queue(upload=ContentFile(BANK.encode(), name="bank.csv"), actor=biller)
    long_ago = timezone.now() - datetime.timedelta(hours=2)
    PaymentImport.objects.filter(pk=run.pk).update(state="running", started_at=long_ago, heartbeat_at=long_ago)
    return run


def test_a_stalled_import_is_shown_as_such_and_retried_once_from_its_stored_file(
    client_for, ops, stalled, django_capture_on_commit_callbacks
):
    client = client_for(ops)
    page = client.get(f"{PAGE}{stalled.pk}/").content.decode()
    assert "Stalled" in page and "Nothing was recorded" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"{PAGE}{stalled.pk}/retry/")
    retry = PaymentImport.objects.latest("pk")
    stalled.refresh_from_db()
    assert response["Location"] == f"{PAGE}{retry.pk}/" and retry.retry_of == stalled
    assert (stalled.state, retry.state, retry.payments_recorded) == ("failed", "done", 2)
    assert retry.upload.name == stalled.upload.name and "stalled" in stalled.error
    client.post(f"{PAGE}{stalled.pk}/retry/")
    assert PaymentImport.objects.count() == 2  # a second retry of the same import is refused
    assert "already retried as import" in client.get(f"{PAGE}{stalled.pk}/").content.decode()


def test_a_finished_import_is_not_retried(client_for, biller, django_capture_on_commit_callbacks):
    client = client_for(biller)
    upload(client, capture=django_capture_on_commit_callbacks)
    run = PaymentImport.objects.get()
    client.post(f"{PAGE}{run.pk}/retry/")
    assert PaymentImport.objects.count() == 1


def test_support_cannot_retry(client_for, support, stalled):
    assert client_for(support).post(f"{PAGE}{stalled.pk}/retry/").status_code == 403


def test_the_sweep_fails_a_stalled_payments_import(stalled):
    assert [run.pk for run in payment_imports_fail_stalled(actor_label="test")] == [stalled.pk]
    stalled.refresh_from_db()
    assert stalled.state == "failed" and "Nothing changed: the run stalled" in stalled.error
