"""Anomaly detection at the real export's scale: about 2 million daily reads (1,830 customers × 3 years)
in a scratch SQLite database.

- zscore, end to end (load the reads through metering.selectors.reads_frame, apply the rule, store every
  finding, record the run), against a hand-written pandas groupby over the same rows read straight from
  SQLite with the sqlite3 module (target: within 2× of it); and a rerun, which must create nothing;
- rolling end to end (target: within 10 s); leak end to end (no target);
- the leak rule's quality on the generator's planted leaks (4,000 customers × 3 years, another seed):
  detection rate and false alarms per 1,000 customer-months.

Wall seconds are what the targets mean; CPU seconds are reported beside them because on a shared
machine the wall time also counts waiting for a core.
"""

import datetime
import sqlite3
import time

from bench.common import insert_customers, insert_generated_reads, peak_rss_mb, scratch_sqlite, timed

CUSTOMERS = 1_830
START, END = datetime.date(2023, 1, 1), datetime.date(2025, 12, 31)  # 1,096 days
QUALITY_CUSTOMERS = 4_000


def run(options) -> list[dict]:
    db_path = scratch_sqlite("anomalies")
    import django

    django.setup()
    customers = max(50, int(CUSTOMERS * options.scale))
    with timed() as seeding:
        reads = seed(customers)
    print(f"seeded {customers:,} customers, {reads:,} reads in {seeding['seconds']:.0f}s", flush=True)
    results = [reference_and_zscore(db_path, reads)]
    results += [detection(method, reads, target) for method, target in (("rolling", 10.0), ("leak", None))]
    results.append(leak_quality(max(200, int(QUALITY_CUSTOMERS * options.scale))))
    return results


def seed(customers: int) -> int:
    """Migrate, then generated customers and their reads straight into SQLite (executemany)."""
    from django.core.management import call_command

    from hydrospark.demo.generator import generate_customers

    call_command("migrate", verbosity=0)
    frame = generate_customers(customers)
    return insert_generated_reads(frame, insert_customers(frame), START, END, chunk_customers=customers)


def reference_and_zscore(db_path, reads: int) -> dict:
    import pandas as pd

    cpu = time.process_time()
    with timed() as reference:
        with sqlite3.connect(db_path) as con:
            frame = pd.read_sql_query("SELECT customer_id, read_date, usage_ccf FROM metering_meterread", con)
        usage = frame.groupby("customer_id")["usage_ccf"]
        mean, std, count = usage.transform("mean"), usage.transform("std", ddof=0), usage.transform("size")
        expected = frame[(count >= 30) & (std > 0) & (frame["usage_ccf"] > mean + 2 * std)]
    reference_cpu = time.process_time() - cpu
    row = detection("zscore", reads, None)
    row.update(
        reference_seconds=round(reference["seconds"], 2),
        reference_cpu_seconds=round(reference_cpu, 2),
        reference_found=len(expected),
        ratio=round(row["seconds"] / reference["seconds"], 2),
        target="<= 2x reference",
    )
    row["ok"] = row["ratio"] <= 2 and row["found"] == len(expected)
    from anomalies.services import anomalies_detect

    with timed() as rerun:
        [again] = anomalies_detect(methods=["zscore"], notify=False, progress=lambda _: None)
    row.update(rerun_seconds=round(rerun["seconds"], 2), rerun_created=again.created)
    return row


def detection(method: str, reads: int, target: float | None) -> dict:
    from anomalies.services import anomalies_detect

    cpu = time.process_time()
    with timed() as elapsed:
        [run] = anomalies_detect(methods=[method], notify=False, progress=lambda _: None)
    row = {
        "bench": f"detect {method}",
        "rows": reads,
        "seconds": round(elapsed["seconds"], 2),
        # CPU time of this process: on a busy machine it shows how much of the wall time was waiting.
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "rows_per_s": round(reads / elapsed["seconds"]),
        "found": run.found,
        "created": run.created,
        "peak_mb": round(peak_rss_mb()),
    }
    if target is not None:
        row.update(target=f"<= {target:g} s", ok=elapsed["seconds"] <= target)
    return row


def leak_quality(customers: int) -> dict:
    from anomalies.evaluation import evaluate_leak_rule

    with timed() as elapsed:
        scores = evaluate_leak_rule(n_customers=customers, years=3, seed=21)
    return {
        "bench": "leak rule on planted leaks",
        "rows": customers * 1096,
        "seconds": round(elapsed["seconds"], 2),
        "planted_leaks": scores["planted_leaks"],
        "detected": scores["detected"],
        "detection_rate": round(scores["detection_rate"], 3),
        "false_alarms": scores["false_alarms"],
        "customer_months": scores["customer_months"],
        "false_alarms_per_1000_customer_months": round(scores["false_alarms_per_1000_customer_months"], 3),
        "median_days_to_detect": scores["median_days_to_detect"],
    }
