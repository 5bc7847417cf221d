"""Process start (issue 18, item 3): `manage.py help` and `manage.py check`, wall and CPU, best and median of
several runs, beside the same commands with numpy, pandas, matplotlib and fpdf imported eagerly at start
(what every process paid before hydrospark/lazy_imports.py deferred them). CPU time is the honest figure on
a busy machine: wall time includes waiting for a core.

`help` starts Django (settings, models, admin, receivers): what every batch command pays before its work.
`check` also imports the URLconf, hence every view: what a gunicorn worker pays before its first request.
Target: `manage.py help` under 1 s."""

import os
import resource
import statistics
import subprocess
import sys
import time

from bench.common import BENCH_DIR, BENCH_SECRET_KEY, ROOT

RUNS = 5
EAGER = "import numpy, pandas, matplotlib, matplotlib.figure, fpdf; "
MANAGE = "import runpy, sys; sys.argv = ['manage.py', {command!r}]; runpy.run_path('manage.py', run_name='__main__')"


def run(options) -> list[dict]:
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    rows = []
    for command in ("help", "check"):
        ours = _measure(MANAGE.format(command=command), options)
        eager = _measure(EAGER + MANAGE.format(command=command), options)
        rows.append(_row(f"manage.py {command} start", ours, eager, target="< 1 s" if command == "help" else ""))
    return rows


def _measure(code: str, options) -> dict:
    runs = max(2, round(RUNS * min(options.scale, 1.0)))
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu = _once(code)
        walls.append(wall)
        cpus.append(cpu)
    return {"wall": walls, "cpu": cpus}


def _once(code: str) -> tuple[float, float]:
    env = {
        **os.environ,
        "DEBUG": "0",  # the production settings, as gunicorn and the workers run
        "SECRET_KEY": BENCH_SECRET_KEY,
        "DATABASE_URL": f"sqlite:///{BENCH_DIR / 'start.sqlite3'}",
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _row(bench: str, ours: dict, eager: dict, *, target: str) -> dict:
    row = {
        "bench": bench,
        "seconds": round(statistics.median(ours["wall"]), 3),
        "best_seconds": round(min(ours["wall"]), 3),
        "cpu_seconds": round(statistics.median(ours["cpu"]), 3),
        "reference": "libraries imported at start (before)",
        "reference_seconds": round(statistics.median(eager["wall"]), 3),
        "reference_cpu_seconds": round(statistics.median(eager["cpu"]), 3),
        "cpu_ratio": round(statistics.median(ours["cpu"]) / statistics.median(eager["cpu"]), 2),
    }
    if target:
        row["target"] = target
    print(
        f"{bench}: {row['seconds']:.2f}s wall (best {row['best_seconds']:.2f}), {row['cpu_seconds']:.2f}s CPU; "
        f"eager libraries: {row['reference_seconds']:.2f}s wall, {row['reference_cpu_seconds']:.2f}s CPU",
        flush=True,
    )
    return row
