"""The long commands work on the default file database beside `make run`'s task worker and a busy web server
(issue 11.5: `send_bills` ended in "database is locked" beside the idle db_worker).

Real processes on a real SQLite file: migrate, a few customers, then db_worker and a writer that keeps taking
the write lock in short transactions (as the web server's sessions and audit events do) while run_billing,
send_bills, import_usage and detect_anomalies run one after the other. Each must exit 0 and none may say locked."""

import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings

BASE = Path(settings.BASE_DIR)
WRITER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)
db.execute("CREATE TABLE IF NOT EXISTS busy_web (id INTEGER PRIMARY KEY, at REAL)")
while True:
    db.execute("BEGIN IMMEDIATE")
    db.execute("INSERT INTO busy_web (at) VALUES (?)", (time.time(),))
    time.sleep(0.05)  # holds the write lock as a request's transaction does
    db.execute("COMMIT")
    time.sleep(0.02)
"""
SETUP = """
import datetime
from decimal import Decimal
from accounts.models import Customer
from metering.models import MeterRead
start = datetime.date(2025, 1, 1)
for i in range(40):
    c = Customer.objects.create(location_id=f"9100{i:04d}", name=f"Customer {i}", customer_type="residential",
                                cycle_number=1, mailing_address=f"{i} Elm St, Dallas, TX 75201",
                                billing_email=f"c{i}@example.com")
    MeterRead.objects.bulk_create(MeterRead(customer=c, read_date=start + datetime.timedelta(days=d),
                                  usage_ccf=Decimal("0.4") + (Decimal("5") if d % 53 == 0 else 0)) for d in range(200))
"""


def _manage(env, *args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def file_database(tmp_path):
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'hs.sqlite3'}",
        "EMAIL_URL": f"filemail:///{tmp_path / 'mail'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
    }
    assert _manage(env, "migrate", "--no-input", "-v0").returncode == 0
    made = _manage(env, "shell", "-c", SETUP)
    assert made.returncode == 0, made.stderr
    return env, tmp_path


def test_the_long_commands_run_beside_the_worker_and_a_busy_web_server(file_database):
    env, folder = file_database
    export = folder / "march.csv"
    export.write_text(
        "Customer Name,Mailing Address,Location ID,Customer Type,Cycle Number,Year,Month,Day,Daily Water Usage (CCF)\n"
        + "".join(
            f'Customer {i},"{i} Elm St, Dallas, TX 75201",9100{i:04d},Residential,1,2025,3,5,0.9\n' for i in range(40)
        )
    )
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--no-reload", "--interval", "0.1"],
        cwd=BASE,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    web = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(folder / "hs.sqlite3")], stderr=subprocess.PIPE, text=True
    )
    try:
        time.sleep(2)  # the worker polls and the writer writes before the commands start
        results = [
            _manage(env, "run_billing", "--period", "2025-03", "--issue"),
            _manage(env, "send_bills", "--period", "2025-03"),
            _manage(env, "import_usage", str(export)),
            _manage(env, "detect_anomalies"),
            _manage(env, "fail_stalled_runs"),
        ]
        assert worker.poll() is None and web.poll() is None, "the worker and the web server keep running"
    finally:
        for process in (worker, web):
            process.terminate()
            process.wait(10)
    for result in results:
        said = result.stdout + result.stderr
        assert result.returncode == 0, f"{result.args[2]}: {said[-2000:]}"
        assert "locked" not in said.lower()
    assert "40 sent" in results[1].stdout
    assert "corrected" in results[2].stdout and datetime.date.today().year > 2025
