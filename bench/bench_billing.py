"""A bill run for 100,000 customers for one month (3.1 million daily reads) on SQLite, beside a
hand-written equivalent (one GROUP BY query through sqlite3, pricing in numpy, sqlite3.executemany
into the same tables). Targets (issue 4): under 15 s, and within 3x of the hand-written figure.

Also timed: a rerun (every draft recomputed) and issuing the whole period. Options: --scale shrinks
the customers.
"""

import datetime
import os

from bench.common import peak_rss_mb, scratch_sqlite, timed

CUSTOMERS = 100_000
PERIOD = datetime.date(2025, 7, 1)
TARGET_SECONDS = 15
TARGET_RATIO = 3


def run(options) -> list[dict]:
    path = scratch_sqlite("billing")
    os.environ.setdefault("DEBUG", "1")
    import django

    django.setup()
    import billing.services  # noqa: F401  (imported before timing, as the hand-written one imports numpy)

    customers = max(500, int(CUSTOMERS * options.scale))
    with timed() as seeding:
        reads = seed(customers)
    print(f"seeded {customers:,} customers and {reads:,} reads in {seeding['seconds']:.0f}s", flush=True)
    ours = bill_run()
    print(f"bill run: {ours['seconds']:.2f}s", flush=True)
    again = bill_run()
    print(f"rerun (drafts recomputed): {again['seconds']:.2f}s", flush=True)
    issued = issue()
    print(f"issue: {issued['seconds']:.2f}s", flush=True)
    clear_bills()
    reference = hand_written(path)
    print(f"hand-written: {reference['seconds']:.2f}s", flush=True)
    ratio = ours["seconds"] / reference["seconds"]
    return [
        {
            "bench": "bill run (SQLite)",
            "customers": customers,
            "reads": reads,
            "bills": ours["bills"],
            "seconds": round(ours["seconds"], 2),
            "reference_seconds": round(reference["seconds"], 2),
            "ratio": round(ratio, 2),
            "peak_mb": round(peak_rss_mb()),
            "target": f"<= {TARGET_RATIO}x reference and < {TARGET_SECONDS}s",
            "ok": ratio <= TARGET_RATIO and ours["seconds"] < TARGET_SECONDS,
        },
        {"bench": "bill rerun (drafts recomputed)", "bills": again["bills"], "seconds": round(again["seconds"], 2)},
        {"bench": "issue the period", "bills": issued["bills"], "seconds": round(issued["seconds"], 2)},
    ]


def seed(customers: int) -> int:
    """Migrate; customers and one month of reads straight into SQLite with executemany."""
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from hydrospark.demo.generator import generate_customers, generate_reads

    call_command("migrate", verbosity=0)
    frame = generate_customers(customers)
    now = timezone.now().isoformat()
    reads, _ = generate_reads(frame, PERIOD, PERIOD.replace(day=31))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO accounts_customer (location_id, name, mailing_address, customer_type, cycle_number, phone,"
            " business_name, facility_name, billing_email, bill_delivery, notify_usage_alerts, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, '', 'email', 1, %s, %s)",
            [
                (
                    r.location_id,
                    r.name,
                    r.mailing_address,
                    r.customer_type.lower(),
                    int(r.cycle_number),
                    r.phone,
                    r.business_name,
                    r.facility_name,
                    now,
                    now,
                )
                for r in frame.itertuples(index=False)
            ],
        )
        cursor.execute("SELECT location_id, id FROM accounts_customer")
        ids = dict(cursor.fetchall())
        customer_ids = reads["location_id"].map(ids).to_numpy()
        days = reads["read_date"].dt.strftime("%Y-%m-%d").to_numpy()
        usage = [f"{u:.4f}" for u in reads["usage_ccf"].to_numpy()]
        cursor.executemany(
            "INSERT INTO metering_meterread (customer_id, read_date, usage_ccf) VALUES (%s, %s, %s)",
            zip(customer_ids.tolist(), days.tolist(), usage, strict=True),
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return len(reads)


def bill_run() -> dict:
    from billing.services import bill_run_compute

    with timed() as t:
        figures = bill_run_compute(period=PERIOD, actor_label="bench", today=datetime.date(2025, 9, 1))
    return {"seconds": t["seconds"], "bills": figures.bills_priced}


def issue() -> dict:
    from billing.services import bill_run_issue

    with timed() as t:
        count = bill_run_issue(period=PERIOD, actor_label="bench", today=datetime.date(2025, 8, 5))
    return {"seconds": t["seconds"], "bills": count}


def clear_bills() -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM billing_billline")
        cursor.execute("DELETE FROM billing_bill")


def hand_written(path) -> dict:
    """What a careful engineer would write without Django: the same query, graduated tiers and the
    seasonal multiplier in integer numpy, the same rows (bills and lines) inserted with executemany."""
    import sqlite3

    import numpy as np

    start, end = PERIOD.isoformat(), PERIOD.replace(day=31).isoformat()
    with timed() as t:
        db = sqlite3.connect(path)
        rows = db.execute(
            "SELECT customer_id, SUM(ROUND(usage_ccf * 10000)), COUNT(*) FROM metering_meterread"
            " WHERE read_date BETWEEN ? AND ? GROUP BY customer_id",
            (start, end),
        ).fetchall()
        ids, units, days = (np.array(c, dtype=np.int64) for c in zip(*rows, strict=True))
        bounds, rates = np.array([0, 100_000, 200_000]), np.array([250, 300, 350])  # ten-thousandths CCF, cents
        upper = np.append(bounds[1:], np.iinfo(np.int64).max)
        quantities = np.clip(units[:, None], bounds, upper) - bounds
        products = quantities * rates  # 10**-6 dollars
        tier_cents = (products + 5_000) // 10_000
        usage_cents = (products.sum(axis=1) * 120 + 500_000) // 1_000_000  # x1.20, half up
        total_cents = usage_cents + 2_000
        now = datetime.datetime.now(datetime.UTC).isoformat(sep=" ")
        schedule = db.execute("SELECT id FROM billing_rateschedule").fetchone()[0]
        db.executemany(
            "INSERT INTO billing_bill (customer_id, period, status, usage_ccf, days_read, days_in_period,"
            " usage_charge, fees, total_amount, rate_schedule_id, sent_to, created_at, updated_at)"
            " VALUES (?, ?, 'draft', ?, ?, 31, ?, 20.00, ?, ?, '', ?, ?)",
            zip(
                ids.tolist(),
                [start] * len(ids),
                (units / 10_000).tolist(),
                days.tolist(),
                (usage_cents / 100).tolist(),
                (total_cents / 100).tolist(),
                [schedule] * len(ids),
                [now] * len(ids),
                [now] * len(ids),
                strict=True,
            ),
        )
        bill_ids = dict(db.execute("SELECT customer_id, id FROM billing_bill WHERE period = ?", (start,)).fetchall())
        bill_col = [bill_ids[c] for c in ids.tolist()]
        lines = []
        for tier in range(3):
            used = np.flatnonzero(quantities[:, tier] > 0)
            lines += zip(
                [bill_col[i] for i in used],
                [tier] * len(used),
                ["tier"] * len(used),
                (quantities[used, tier] / 10_000).tolist(),
                [rates[tier] / 100] * len(used),
                (tier_cents[used, tier] / 100).tolist(),
                strict=True,
            )
        n_used = (quantities > 0).sum(axis=1).tolist()
        adjust = ((usage_cents - tier_cents.sum(axis=1)) / 100).tolist()
        lines += zip(
            bill_col,
            n_used,
            ["seasonal"] * len(ids),
            (tier_cents.sum(axis=1) / 100).tolist(),
            [1.2] * len(ids),
            adjust,
            strict=True,
        )
        lines += [(b, n + 1, "fee", 1, 15.0, 15.0) for b, n in zip(bill_col, n_used, strict=True)]
        lines += [(b, n + 2, "fee", 1, 5.0, 5.0) for b, n in zip(bill_col, n_used, strict=True)]
        db.executemany(
            "INSERT INTO billing_billline (bill_id, position, kind, code, label, quantity, rate, amount)"
            " VALUES (?, ?, ?, '', 'line', ?, ?, ?)",
            lines,
        )
        db.commit()
        db.close()
    return {"seconds": t["seconds"], "bills": len(ids)}
