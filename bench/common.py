"""Helpers shared by the benchmarks: a scratch database, timing and peak memory."""

import os
import resource
import time
import tracemalloc
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"
# The key the gunicorn under test runs with; a bench process signs its session cookies with it too.
BENCH_SECRET_KEY = "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"


def scratch_sqlite(name: str) -> Path:
    """Point Django at a fresh SQLite file var/bench/<name>.sqlite3 (call before django.setup())."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"{name}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ["SECRET_KEY"] = BENCH_SECRET_KEY
    return path


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@contextmanager
def timed():
    """with timed() as t: ...; then t["seconds"]."""
    result = {}
    start = time.perf_counter()
    try:
        yield result
    finally:
        result["seconds"] = time.perf_counter() - start


@contextmanager
def traced_peak():
    """Python-heap peak (MB) during the block, for measuring one step inside a long process."""
    tracemalloc.start()
    result = {}
    try:
        yield result
    finally:
        result["peak_mb"] = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()


def free_port() -> int:
    """A free loopback port (other people's servers may hold any fixed one)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(db_path: Path, port: int, *, workers: int = 2, threads: int = 1):
    """gunicorn with the production settings (DEBUG off, static files collected, plain HTTP on loopback)
    serving the scratch database; returns the process once it answers."""
    import subprocess
    import sys
    import urllib.request

    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": BENCH_SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "SECURE_HSTS_SECONDS": "0",
        "STATIC_ROOT": str(BENCH_DIR / "static"),
        "DATABASE_URL": f"sqlite:///{db_path}",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "hydrospark.settings",
    }
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"], cwd=ROOT, env=env, check=True)
    command = [sys.executable, "-m", "gunicorn", "hydrospark.wsgi", "-b", f"127.0.0.1:{port}", "-w", str(workers)]
    command += ["--threads", str(threads), "--preload", "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    for _ in range(150):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=1)
            return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise RuntimeError("gunicorn did not start")


def insert_customers(frame) -> dict[str, int]:
    """The generator's customers (hydrospark.demo.generator.generate_customers) as Customer rows, in bulk;
    returns {location_id: pk} of every customer stored."""
    from accounts.models import Customer, CustomerType

    Customer.objects.bulk_create(
        [
            Customer(
                location_id=r.location_id,
                name=r.name,
                mailing_address=r.mailing_address,
                customer_type=CustomerType(r.customer_type.lower()),
                cycle_number=int(r.cycle_number),
                phone=r.phone,
                business_name=r.business_name,
                facility_name=r.facility_name,
            )
            for r in frame.itertuples(index=False)
        ],
        batch_size=5_000,
    )
    return dict(Customer.objects.values_list("location_id", "pk"))


def insert_generated_reads(frame, ids: dict[str, int], start, end, *, chunk_customers: int = 500) -> int:
    """Generated daily reads for the frame's customers, straight into the table with executemany: the
    benchmarks' set-up, not what they measure (imports go through the import service). Returns the count."""
    import pandas as pd
    from django.db import connection, transaction

    from hydrospark.demo.generator import generate_reads

    sql = "INSERT INTO metering_meterread (customer_id, read_date, usage_ccf) VALUES (%s, %s, %s)"
    total = 0
    for offset in range(0, len(frame), chunk_customers):
        reads, _ = generate_reads(frame.iloc[offset : offset + chunk_customers], start, end, seed=offset)
        rows = zip(
            reads["location_id"].map(ids).tolist(),
            pd.DatetimeIndex(reads["read_date"]).strftime("%Y-%m-%d").tolist(),
            reads["usage_ccf"].tolist(),
            strict=True,
        )
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(sql, list(rows))
        total += len(reads)
        done = min(offset + chunk_customers, len(frame))
        if (offset // chunk_customers) % 4 == 3 or done == len(frame):
            print(f"  reads for {done:,} customers", flush=True)
    return total


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect (e.g. to the login page) is an answer to measure, not to follow


def http_get(port: int, path: str, cookie: str) -> tuple[float, int, bytes]:
    """GET a page as the signed-in session `cookie`, without following redirects: (ms, status, body)."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Cookie": f"sessionid={cookie}"})
    started = time.perf_counter()
    try:
        with opener.open(request, timeout=120) as response:
            body, status = response.read(), response.status
    except urllib.error.HTTPError as error:
        body, status = b"", error.code
    return (time.perf_counter() - started) * 1000, status, body
