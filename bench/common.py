"""Helpers shared by the benchmarks: a scratch database, timing and peak memory."""

import os
import resource
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = ROOT / "var" / "bench"


def scratch_sqlite(name: str) -> Path:
    """Point Django at a fresh SQLite file var/bench/<name>.sqlite3 (call before django.setup())."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    path = BENCH_DIR / f"{name}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    os.environ["DATABASE_URL"] = f"sqlite:///{path}"
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
        "SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
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
