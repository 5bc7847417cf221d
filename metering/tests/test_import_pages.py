"""The Operations upload page, the import's status and result, the history (SPEC §1, §5)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from metering.models import ImportRun, ImportStatus, MeterRead

from .conftest import export_text, row

pytestmark = pytest.mark.django_db
IMPORTS = reverse("metering:imports")


def upload(client, rows, name="march.csv", **data):
    file = SimpleUploadedFile(name, export_text(rows).encode(), content_type="text/csv")
    return client.post(IMPORTS, {"file": file, **data})


@pytest.mark.parametrize(
    ("who", "expected"),
    [("anonymous", 302), ("customer", 403), ("billing", 403), ("support", 403), ("operations", 200)],
)
def test_only_operations_can_reach_the_upload_page(people, client_for, who, expected):
    response = client_for(people[who]).get(IMPORTS)
    assert response.status_code == expected
    if who == "anonymous":
        assert response["Location"].startswith(reverse("account_login"))


def test_billing_cannot_upload_a_file(biller, client_for):
    response = upload(client_for(biller), [row()])
    assert response.status_code == 403
    assert not MeterRead.objects.exists()


def test_the_page_states_the_size_limit(ops, client_for, settings):
    settings.METER_UPLOAD_MAX_MB = 150
    assert "150 MB" in client_for(ops).get(IMPORTS).content.decode()


def test_an_upload_is_imported_in_the_background_and_its_result_shown(
    ops, client_for, django_capture_on_commit_callbacks
):
    client = client_for(ops)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, [row(usage="0.5"), row(location_id="300000002", usage="bad")])
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("metering:import", args=[run.pk])
    assert (run.status, run.actor, run.source, run.file_name) == (ImportStatus.DONE, ops, "upload", "march.csv")
    assert run.upload.name.startswith("imports/uploads/")
    page = client.get(response["Location"]).content.decode()
    assert "Download rejected rows (CSV)" in page and "march.csv" in page
    status = client.get(reverse("metering:import_status", args=[run.pk])).json()
    assert status["finished"] and status["status"] == "done" and "1 rejected" in status["summary"]
    rejects = client.get(reverse("metering:import_rejects", args=[run.pk]))
    text = b"".join(rejects.streaming_content).decode()
    assert "attachment" in rejects["Content-Disposition"]
    assert text.splitlines()[1].startswith("3,usage is not a number,")
    assert MeterRead.objects.count() == 1


def test_an_all_or_nothing_upload_with_a_bad_row_writes_nothing(ops, client_for, django_capture_on_commit_callbacks):
    client = client_for(ops)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, [row(usage="0.5"), row(usage="-1")], atomic="on")
    run = ImportRun.objects.get()
    assert run.status == ImportStatus.REFUSED and run.atomic
    assert not MeterRead.objects.exists()
    assert "Nothing was changed." in client.get(reverse("metering:import", args=[run.pk])).content.decode()


def test_a_running_import_shows_its_progress(ops, client_for):
    run = ImportRun.objects.create(source="upload", actor=ops, actor_label=ops.email, file_name="big.csv")
    client = client_for(ops)
    page = client.get(reverse("metering:import", args=[run.pk])).content.decode()
    assert "Waiting for the background worker" in page and "status.json" in page
    status = client.get(reverse("metering:import_status", args=[run.pk])).json()
    assert status == {
        "id": run.pk,
        "status": "queued",
        "status_label": "Queued",
        "finished": False,
        "stalled": False,
        "phase": "",
        "rows": 0,
        "fraction": 0.0,
        "summary": "Queued…",
    }


@pytest.mark.parametrize(
    ("name", "size_mb", "message"),
    [("reads.pdf", 0, "Upload a .csv or an .xlsx file."), ("reads.csv", 2, "the limit is 1 MB")],
)
def test_a_wrong_or_too_big_file_is_refused_on_the_page(ops, client_for, settings, name, size_mb, message):
    settings.METER_UPLOAD_MAX_MB = 1
    content = b"x" * (size_mb * 1024 * 1024 + 1)
    response = client_for(ops).post(IMPORTS, {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 200 and message in response.content.decode()
    assert not ImportRun.objects.exists()


def test_the_history_lists_every_import(ops, client_for, export_file):
    from .conftest import import_usage

    import_usage(export_file([row()], name="from-the-command.csv"))
    page = client_for(ops).get(IMPORTS).content.decode()
    assert "from-the-command.csv" in page and "command import_usage" in page


def test_an_import_without_rejected_rows_has_no_rejects_download(ops, client_for, export_file):
    from .conftest import import_usage

    import_usage(export_file([row()]))
    run = ImportRun.objects.get()
    assert client_for(ops).get(reverse("metering:import_rejects", args=[run.pk])).status_code == 404
