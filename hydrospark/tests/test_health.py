"""/healthz (issue 18, item 4): the database and the task workers' heartbeats, as a load balancer asks."""

import datetime
import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

import pytest
from django.db import OperationalError, connection
from django.test import RequestFactory
from django.utils import timezone

from hydrospark.health import Heartbeat, worker_beat, worker_gone
from hydrospark.log_json import JsonFormatter
from hydrospark.models import WorkerHeartbeat

BASE_DIR = Path(__file__).resolve().parents[2]
NOW = timezone.now()


@pytest.fixture
def db_tasks(settings):
    """Tasks on django-tasks-db, as in production: a worker is expected."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.HEALTH_WORKER_STALE_SECONDS = 120


def _beat(worker_id: str, seconds_ago: int) -> None:
    worker_beat(worker_id=worker_id, started_at=NOW - datetime.timedelta(hours=1), now=timezone.now())
    WorkerHeartbeat.objects.filter(worker_id=worker_id).update(
        beat_at=timezone.now() - datetime.timedelta(seconds=seconds_ago)
    )


def _health(client, **headers):
    response = client.get("/healthz", **headers)
    return response.status_code, json.loads(response.content)


def test_healthz_is_ok_when_the_database_answers_and_a_worker_beat_recently(db, client, db_tasks):
    _beat("worker-a", seconds_ago=10)
    _beat("worker-b", seconds_ago=400)  # a second worker that died long ago does not make the pool unhealthy
    status, body = _health(client)
    assert status == 200
    assert body == {"status": "ok", "database": "ok", "workers": 1, "worker_seen_seconds_ago": 10}


def test_healthz_is_503_when_every_worker_heartbeat_is_stale(db, client, db_tasks):
    _beat("worker-a", seconds_ago=600)
    status, body = _health(client)
    assert status == 503
    assert body == {"status": "unavailable", "database": "ok", "workers": 0, "worker_seen_seconds_ago": 600}


def test_healthz_is_503_when_no_worker_ever_beat(db, client, db_tasks):
    status, body = _health(client)
    assert (status, body["workers"], body["worker_seen_seconds_ago"]) == (503, 0, None)


def test_healthz_is_503_without_details_when_the_database_does_not_answer(db, client, db_tasks, caplog):
    def refused(*args, **kwargs):
        raise OperationalError('connection to server at "10.1.2.3", port 5432 failed: Connection refused')

    with mock.patch.object(connection, "cursor", refused):  # only for the request: the test's rollback needs it
        status, body = _health(client)
    assert status == 503
    assert body == {"status": "unavailable", "database": "unreachable"}  # the reason is in the log, not the answer
    assert "Connection refused" in caplog.text


def test_healthz_needs_no_login_and_answers_a_probe_by_ip_over_http(db, client, settings):
    # Production settings: HTTPS redirect on, one host name allowed. A load balancer probes 10.0.0.5:8000.
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["water.example.com"]
    response = client.get("/healthz", HTTP_HOST="10.0.0.5:8000")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    assert json.loads(response.content) == {"status": "ok", "database": "ok", "workers": "not used"}
    assert "sessionid" not in response.cookies and "csrftoken" not in response.cookies


def test_healthz_says_nothing_of_hosts_or_workers(db, client, db_tasks):
    _beat("secret-worker-id", seconds_ago=5)
    content = client.get("/healthz").content.decode()
    heartbeat = WorkerHeartbeat.objects.get()
    for private in ("secret-worker-id", heartbeat.host, str(heartbeat.pid)):
        assert private not in content


def test_healthz_refuses_other_methods(db, client):
    response = client.post("/healthz")
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"


def test_other_paths_are_not_answered_by_the_health_check(db, client):
    assert client.get("/healthz/").status_code == 404


def test_a_worker_beat_keeps_one_row_per_worker_and_forgets_day_old_ones(db):
    started = NOW - datetime.timedelta(minutes=5)
    worker_beat(worker_id="gone", started_at=started, now=NOW - datetime.timedelta(days=2))
    worker_beat(worker_id="w1", started_at=started, now=NOW - datetime.timedelta(seconds=30))
    worker_beat(worker_id="w1", started_at=started, now=NOW)
    assert list(WorkerHeartbeat.objects.values_list("worker_id", "beat_at")) == [("w1", NOW)]
    assert WorkerHeartbeat.objects.get().pid == os.getpid()
    worker_gone(worker_id="w1")
    assert not WorkerHeartbeat.objects.exists()


def test_the_heartbeat_thread_beats_until_stopped_then_removes_its_row(transactional_db):
    heartbeat = Heartbeat("thread-worker", seconds=0.05)
    heartbeat.start()
    try:
        first = _wait_for_beat("thread-worker")
        time.sleep(0.3)
        assert WorkerHeartbeat.objects.get(worker_id="thread-worker").beat_at > first
    finally:
        heartbeat.stop()
    assert not WorkerHeartbeat.objects.filter(worker_id="thread-worker").exists()


def test_a_missed_beat_is_logged_and_the_heartbeat_goes_on(transactional_db, monkeypatch, caplog):
    calls = []

    def flaky(**kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("database is locked")
        worker_beat(**kwargs)

    monkeypatch.setattr("hydrospark.health.worker_beat", flaky)
    heartbeat = Heartbeat("flaky-worker", seconds=0.05)
    heartbeat.start()
    try:
        _wait_for_beat("flaky-worker")
    finally:
        heartbeat.stop()
    assert "worker heartbeat not recorded" in caplog.text


def _wait_for_beat(worker_id: str, seconds: float = 10) -> datetime.datetime:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        beat = WorkerHeartbeat.objects.filter(worker_id=worker_id).values_list("beat_at", flat=True).first()
        if beat:
            return beat
        time.sleep(0.02)
    raise AssertionError(f"{worker_id} never beat")


def test_manage_py_db_worker_beats_while_it_runs_and_healthz_sees_it(tmp_path):
    """The real command in its own process on a file database: healthy while it runs, 503 once it stopped."""
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'hs.sqlite3'}",
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "WORKER_HEARTBEAT_SECONDS": "1",
    }
    manage = [sys.executable, "manage.py"]
    assert subprocess.run([*manage, "migrate", "--no-input", "-v0"], cwd=BASE_DIR, env=env, timeout=600).returncode == 0
    worker = subprocess.Popen([*manage, "db_worker", "--no-reload", "--worker-id", "w-proc"], cwd=BASE_DIR, env=env)
    try:
        healthy = _probe(env, until=200)
        assert (healthy["status"], healthy["workers"]) == ("ok", 1) and healthy["worker_seen_seconds_ago"] <= 5
    finally:
        worker.terminate()  # SIGTERM: django-tasks-db stops cleanly, the heartbeat row goes with it
        worker.wait(timeout=60)
    assert _probe(env, until=503)["workers"] == 0


PROBE = (
    "import json, django; django.setup()\n"
    "from django.test import Client\n"
    "r = Client().get('/healthz'); print(r.status_code, r.content.decode())\n"
)


def _probe(env: dict, *, until: int, seconds: float = 90) -> dict:
    deadline = time.monotonic() + seconds
    while True:
        done = subprocess.run(
            [sys.executable, "-c", PROBE],
            cwd=BASE_DIR,
            env={**env, "DJANGO_SETTINGS_MODULE": "hydrospark.settings"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        status, _, body = done.stdout.strip().partition(" ")
        if status == str(until) or time.monotonic() > deadline:
            assert status == str(until), done.stdout + done.stderr[-2000:]
            return json.loads(body)
        time.sleep(0.5)


def test_json_logs_carry_level_logger_extra_fields_and_only_the_requests_method_and_path():
    request = RequestFactory().get("/portal/bills/7/", HTTP_COOKIE="sessionid=secret-session")
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Not Found: %s", ("/portal/",), None)
    record.status_code, record.request = 404, request
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "django.request"
    assert entry["message"] == "Not Found: /portal/"
    assert entry["status_code"] == 404 and entry["request"] == "GET /portal/bills/7/"
    assert "secret-session" not in line and "\n" not in line
    assert entry["time"].endswith("+00:00")


def test_json_logs_keep_the_traceback_in_one_entry():
    try:
        raise ValueError("bad meter file")
    except ValueError:
        record = logging.LogRecord("metering", logging.ERROR, __file__, 1, "import failed", (), sys.exc_info())
    entry = json.loads(JsonFormatter().format(record))
    assert entry["exception"].startswith("Traceback") and "ValueError: bad meter file" in entry["exception"]


def test_an_unknown_log_format_stops_the_site_at_start():
    env = {**os.environ, "DEBUG": "1", "LOG_FORMAT": "xml"}
    done = subprocess.run(
        [sys.executable, "-c", "import hydrospark.settings"], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert done.returncode != 0 and "LOG_FORMAT must be one of text, json, not 'xml'" in done.stderr
