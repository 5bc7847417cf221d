"""`make bench`: run every bench/bench_*.py module and print its figures as a table and as JSON.

Each module has `run(options) -> list[dict]`; a row is one measurement, e.g.
{"bench": "import csv", "rows": 2_000_000, "seconds": 12.3, "rows_per_s": 162_000, "peak_mb": 410,
 "reference_seconds": 8.1, "ratio": 1.5, "target": "<= 2x reference"}.
Each module runs in its own process (so peak memory is its own and it can point Django at its own
scratch database before setup). Benchmarks make their own data (hydrospark.demo.generator) in a
scratch SQLite database under
var/bench/, never touching the demo database. Options: --only NAME (substring), --scale F (0-1:
shrink the data for a quick look; the issue targets are for scale 1).
"""

import argparse
import importlib
import json
import os
import pkgutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv=None):
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="run only the benchmark modules whose name contains this")
    parser.add_argument("--scale", type=float, default=1.0, help="shrink the data (0-1) for a quick run")
    parser.add_argument("--json", default=str(ROOT / "var" / "bench" / "results.json"), help="write the JSON here")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    options = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hydrospark.settings")
    os.environ.setdefault("DEBUG", "1")
    if options.child:
        results = importlib.import_module(f"bench.{options.child}").run(options)
        print(MARK + json.dumps(results, default=str), flush=True)
        return
    rows = []
    for module in sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])):
        if not module.startswith("bench_") or options.only not in module:
            continue
        started = time.perf_counter()
        print(f"\n### {module}", flush=True)
        results = run_child(module, options)
        for row in results:
            row.setdefault("module", module)
        rows.extend(results)
        print(f"({module}: {time.perf_counter() - started:.1f}s)", flush=True)
    print_table(rows)
    Path(options.json).parent.mkdir(parents=True, exist_ok=True)
    Path(options.json).write_text(json.dumps(rows, indent=2, default=str))
    print(json.dumps(rows, indent=2, default=str))
    print(f"\nJSON written to {options.json}")


MARK = "@@BENCH-RESULTS@@"


def run_child(module, options):
    command = [sys.executable, "-m", "bench", "--child", module, "--scale", str(options.scale)]
    process = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    results = []
    for line in process.stdout.splitlines():
        if line.startswith(MARK):
            results = json.loads(line[len(MARK) :])
        else:
            print(line)
    if process.returncode != 0:
        results.append({"bench": module, "error": f"exit code {process.returncode}"})
    return results


def print_table(rows):
    if not rows:
        print("no benchmark ran")
        return
    columns = list(dict.fromkeys(key for row in rows for key in row if key != "module"))
    widths = {c: max(len(c), *(len(_fmt(r.get(c))) for r in rows)) for c in columns}
    print("\n" + "  ".join(c.ljust(widths[c]) for c in columns))
    print("  ".join("-" * widths[c] for c in columns))
    for row in rows:
        print("  ".join(_fmt(row.get(c)).ljust(widths[c]) for c in columns))


def _fmt(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.3f}" if value < 100 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


if __name__ == "__main__":
    main()
