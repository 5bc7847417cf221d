"""The account at scale (issue 12 "How fast"): 100,000 customers × 12 issued months on SQLite (1.2 million
bills, their payments and ledger entries), then, each run as the command a user would start (a subprocess:
process start included) and timed in wall and CPU seconds:

- `apply_late_fees --as-of D` judging all 12 months at once (every bill's fee day past, none judged yet),
  beside a hand-written pandas + sqlite3 version of the same rule (SPEC §2a: 5 % of what is open on the
  grace end, credits settling the oldest due first, the months in order so a fee counts in the next month's
  settlement); both must charge the same fees to the cent. Then the next day's run (nothing new to judge).
- `export_balances --as-of D`, beside a hand-written pandas + sqlite3 export of the same CSV (byte-equal).
- `import_payments` of a 100,000-row bank file (target ≥ 50,000 rows/s).

Targets: each ≤ 2× its hand-written version and under 30 s. Options: --scale shrinks the customers.
Run on its own: `python -m bench.bench_ledger reference-late-fees DB AS_OF` (the hand-written late fees) and
`python -m bench.bench_ledger reference-balances DB AS_OF OUT` are the references' own processes.
"""

import datetime
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

CUSTOMERS = 100_000
MONTHS = 12
FIRST_PERIOD = datetime.date(2024, 11, 1)
TARGET_RATIO = 2
TARGET_SECONDS = 30
TARGET_ROWS_PER_S = 50_000
ROOT = Path(__file__).resolve().parent.parent
EPOCH = datetime.date(1970, 1, 1)


def run(options) -> list[dict]:
    from bench.common import scratch_sqlite

    path = scratch_sqlite("ledger")
    import django

    django.setup()
    customers = max(1_000, int(CUSTOMERS * options.scale))
    started = time.perf_counter()
    counts = seed(path, customers)
    print(
        f"seeded {customers:,} customers, {counts['bills']:,} bills, {counts['payments']:,} payments "
        f"in {time.perf_counter() - started:.0f}s",
        flush=True,
    )
    as_of = late_fee_day()
    rows = [*late_fee_rows(path, as_of, customers), *balance_rows(path, as_of), import_row(path, customers)]
    return rows


# --- Seeding: straight into SQLite (the set-up, not what is measured) ---------------------------------------


def months() -> list[datetime.date]:
    return [
        datetime.date(FIRST_PERIOD.year + (FIRST_PERIOD.month - 1 + m) // 12, (FIRST_PERIOD.month - 1 + m) % 12 + 1, 1)
        for m in range(MONTHS)
    ]


def issue_date(period: datetime.date) -> datetime.date:
    following = datetime.date(period.year + period.month // 12, period.month % 12 + 1, 1)
    return following + datetime.timedelta(days=3)  # issued on the 4th, due 21 days later


def late_fee_day() -> datetime.date:
    """The day after the last month's grace period (5 days): every bill's fee day is on or before it."""
    return issue_date(months()[-1]) + datetime.timedelta(days=21 + 5 + 1)


def seed(path: Path, customers: int) -> dict:
    import numpy as np
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    _customers(customers)
    import sqlite3

    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    ids = np.array([r[0] for r in db.execute("SELECT id FROM accounts_customer ORDER BY location_id")])
    rate = db.execute("SELECT id FROM billing_rateschedule ORDER BY id LIMIT 1").fetchone()[0]
    rng = np.random.default_rng(12)
    now = datetime.datetime.now(datetime.UTC).isoformat(" ")
    bills = payments = 0
    for month, period in enumerate(months()):
        bills += _month(db, rng, ids, period, month, rate, now)
        payments += _payments(db, rng, ids, period, month, now)
        db.commit()
        print(f"  {period:%Y-%m} issued and paid", flush=True)
    db.execute("ANALYZE")
    db.commit()
    db.close()
    return {"bills": bills, "payments": payments}


def _customers(count: int) -> None:
    from accounts.models import Customer, CustomerType

    Customer.objects.bulk_create(
        (
            Customer(
                location_id=f"{300_000_000 + i}",
                name=f"Customer {i}",
                mailing_address=f"{i % 9_000 + 1} Elm St, Dallas, TX 75{i % 300:03d}",
                customer_type=CustomerType.RESIDENTIAL,
                cycle_number=i % 20 + 1,
                phone="",
            )
            for i in range(count)
        ),
        batch_size=5_000,
    )


def _month(db, rng, ids, period, month, rate, now) -> int:
    issued = issue_date(period)
    due = issued + datetime.timedelta(days=21)
    totals = rng.integers(3_000, 15_000, len(ids))  # cents: $30 to $150
    start = db.execute("SELECT COALESCE(MAX(id), 0) FROM billing_bill").fetchone()[0] + 1
    db.executemany(
        "INSERT INTO billing_bill (id, period, status, number, issue_date, due_date, usage_ccf, days_read, "
        "days_in_period, usage_charge, fees, total_amount, sent_to, created_at, updated_at, customer_id, "
        "rate_schedule_id, cancel_reason) VALUES (?, ?, 'issued', ?, ?, ?, 10, 30, 30, ?, 20, ?, '', ?, ?, ?, ?, '')",
        (
            (
                start + i,
                period.isoformat(),
                f"HS-{period:%Y%m}-{i + 1:06d}",
                issued.isoformat(),
                due.isoformat(),
                (int(c) - 2_000) / 100,
                int(c) / 100,
                now,
                now,
                int(customer),
                rate,
            )
            for i, (customer, c) in enumerate(zip(ids, totals, strict=True))
        ),
    )
    db.executemany(
        "INSERT INTO billing_ledgerentry (entry_date, amount, kind, due_date, reason, note, actor_label, created_at,"
        " bill_id, customer_id) VALUES (?, ?, 'bill', ?, '', '', 'bench', ?, ?, ?)",
        (
            (issued.isoformat(), int(c) / 100, due.isoformat(), now, start + i, int(customer))
            for i, (customer, c) in enumerate(zip(ids, totals, strict=True))
        ),
    )
    return len(ids)


def _payments(db, rng, ids, period, month, now) -> int:
    """Most pay the bill 3–18 days after issue, 8 % after the grace days, 4 % half, 4 % nothing."""
    import numpy as np

    issued = issue_date(period)
    rows = db.execute(
        "SELECT customer_id, CAST(ROUND(total_amount * 100) AS INTEGER) FROM billing_bill WHERE period = ?"
        " ORDER BY customer_id",
        [period.isoformat()],
    ).fetchall()
    customer, cents = np.array(rows).T
    kind = rng.random(len(rows))
    days = np.where(kind < 0.08, rng.integers(28, 40, len(rows)), rng.integers(3, 19, len(rows)))
    amount = np.where((kind >= 0.08) & (kind < 0.12), cents // 2, cents)
    pays = kind < 0.96
    start = db.execute("SELECT COALESCE(MAX(id), 0) FROM billing_payment").fetchone()[0] + 1
    chosen = [
        (int(c), int(a), issued + datetime.timedelta(days=int(d)))
        for c, a, d, p in zip(customer, amount, days, pays, strict=True)
        if p
    ]
    db.executemany(
        "INSERT INTO billing_payment (id, amount, paid_on, method, reference, recorded_at, customer_id, source)"
        " VALUES (?, ?, ?, 'bank_transfer', ?, ?, ?, 'bank_file')",
        (
            (start + i, a / 100, paid.isoformat(), f"B{period:%Y%m}-{c}", now, c)
            for i, (c, a, paid) in enumerate(chosen)
        ),
    )
    db.executemany(
        "INSERT INTO billing_ledgerentry (entry_date, amount, kind, reason, note, actor_label, created_at,"
        " payment_id, customer_id) VALUES (?, ?, 'payment', '', '', 'bench', ?, ?, ?)",
        ((paid.isoformat(), -a / 100, now, start + i, c) for i, (c, a, paid) in enumerate(chosen)),
    )
    return len(chosen)


# --- Measuring a process: wall and CPU seconds ----------------------------------------------------------------


def timed_process(command: list[str], env: dict | None = None) -> dict:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(command)} exited {done.returncode}: {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"seconds": wall, "cpu_seconds": cpu, "stdout": done.stdout, "stderr": done.stderr}


def manage(*args) -> dict:
    """The command as production runs it (DEBUG off: no query log)."""
    return timed_process([sys.executable, "manage.py", *args], env={"DEBUG": "0"})


def reference(*args) -> dict:
    return timed_process([sys.executable, "-m", "bench.bench_ledger", *args])


def _row(bench: str, ours: dict, ref: dict | None, **extra) -> dict:
    row = {"bench": bench, "seconds": round(ours["seconds"], 2), "cpu_seconds": round(ours["cpu_seconds"], 2)}
    if ref is not None:
        ratio = ours["seconds"] / ref["seconds"]
        row.update(
            reference_seconds=round(ref["seconds"], 2),
            reference_cpu_seconds=round(ref["cpu_seconds"], 2),
            ratio=round(ratio, 2),
            cpu_ratio=round(ours["cpu_seconds"] / ref["cpu_seconds"], 2),
            target=f"<= {TARGET_RATIO}x reference and < {TARGET_SECONDS}s",
            ok=ratio <= TARGET_RATIO and ours["seconds"] < TARGET_SECONDS,
        )
    return {**row, **extra}


# --- Late fees -------------------------------------------------------------------------------------------------


def late_fee_rows(path: Path, as_of: datetime.date, customers: int) -> list[dict]:
    import sqlite3

    ours = manage("apply_late_fees", "--as-of", f"{as_of}")
    print(
        f"apply_late_fees: {ours['seconds']:.2f}s wall, {ours['cpu_seconds']:.2f}s CPU: {ours['stdout'].strip()}",
        flush=True,
    )
    db = sqlite3.connect(path)
    charged = _fees(db)
    next_day = manage("apply_late_fees", "--as-of", f"{as_of + datetime.timedelta(days=1)}")
    print(f"next day's run: {next_day['seconds']:.2f}s: {next_day['stdout'].strip()}", flush=True)
    db.execute("DELETE FROM billing_ledgerentry WHERE kind = 'late_fee'")  # back to the state before, for the reference
    db.execute("UPDATE billing_bill SET late_fee_assessed_on = NULL")
    db.commit()
    ref = reference("reference-late-fees", str(path), f"{as_of}")
    print(f"hand-written late fees: {ref['seconds']:.2f}s wall, {ref['cpu_seconds']:.2f}s CPU", flush=True)
    same = _fees(db) == charged
    db.close()
    if not same:
        raise RuntimeError("the hand-written late fees differ from apply_late_fees'")
    count, cents = len(charged), sum(c for *_, c in charged)
    return [
        _row(
            "apply_late_fees (12 months to judge)",
            ours,
            ref,
            customers=customers,
            bills=customers * MONTHS,
            fees=count,
            fees_total=f"${cents / 100:,.2f}",
            same_fees=same,
        ),
        _row("apply_late_fees, the next day", next_day, None, note="nothing new to judge"),
    ]


def _fees(db) -> list[tuple]:
    return sorted(
        db.execute(
            "SELECT bill_id, entry_date, CAST(ROUND(amount * 100) AS INTEGER) FROM billing_ledgerentry"
            " WHERE kind = 'late_fee'"
        ).fetchall()
    )


def reference_late_fees(path: str, as_of: datetime.date) -> None:
    """The hand-written version: pandas over two SELECTs, the rule month by month, executemany of the fees."""
    import sqlite3

    import numpy as np
    import pandas as pd

    db = sqlite3.connect(path)
    day = "CAST(julianday({}) - 2440587.5 AS INTEGER)"
    bills = pd.read_sql_query(
        f"SELECT b.id AS bill, b.customer_id AS customer, e.id AS entry, {day.format('b.due_date')} AS due,"
        " CAST(ROUND(b.total_amount * 100) AS INTEGER) AS total, CAST(ROUND(r.late_fee_percent * 100) AS INTEGER)"
        f" AS pct, {day.format('b.due_date')} + r.late_fee_grace_days AS grace_end FROM billing_bill b"
        " JOIN billing_rateschedule r ON r.id = b.rate_schedule_id JOIN billing_ledgerentry e ON e.bill_id = b.id"
        " AND e.kind = 'bill' WHERE b.status = 'issued' AND NOT EXISTS (SELECT 1 FROM billing_ledgerentry f"
        " WHERE f.bill_id = b.id AND f.kind = 'late_fee')",
        db,
    )
    bills = bills[bills.grace_end + 1 <= (as_of - EPOCH).days].sort_values(["customer", "grace_end", "bill"])
    ledger = pd.read_sql_query(
        f"SELECT customer_id AS customer, id, {day.format('entry_date')} AS day,"
        f" COALESCE({day.format('due_date')}, -1) AS due, CAST(ROUND(amount * 100) AS INTEGER) AS cents"
        " FROM billing_ledgerentry WHERE kind != 'cancellation'",
        db,
    )  # no cancellations in the bench data
    bills["round"] = bills.groupby("customer").cumcount()
    fees = []
    next_id = int(ledger.id.max()) + 1
    for _, batch in bills.groupby("round"):
        both = ledger.merge(
            batch[["customer", "entry", "due", "total", "grace_end"]], on="customer", suffixes=("", "_bill")
        )
        both = both[both.day <= both.grace_end]
        ahead = (both.cents > 0) & ((both.due < both.due_bill) | ((both.due == both.due_bill) & (both.id < both.entry)))
        credits = (-both.cents.where(both.cents < 0, 0)).groupby(both.customer).sum()
        before = both.cents.where(ahead, 0).groupby(both.customer).sum()
        batch = batch.set_index("customer")
        opened = np.minimum(
            batch.total,
            np.maximum(
                0, before.reindex(batch.index, fill_value=0) + batch.total - credits.reindex(batch.index, fill_value=0)
            ),
        )
        cents = (opened * batch.pct + 5_000) // 10_000
        charged = batch[cents > 0].assign(cents=cents[cents > 0])
        new = pd.DataFrame(
            {
                "customer": charged.index,
                "id": np.arange(next_id, next_id + len(charged)),
                "day": charged.grace_end + 1,
                "due": charged.grace_end + 1,
                "cents": charged.cents,
            }
        )
        next_id += len(new)
        ledger = pd.concat([ledger, new], ignore_index=True)
        fees += zip(new.customer.tolist(), charged.bill.tolist(), new.day.tolist(), new.cents.tolist(), strict=True)
    now = datetime.datetime.now(datetime.UTC).isoformat(" ")
    db.executemany(
        "INSERT INTO billing_ledgerentry (customer_id, entry_date, amount, kind, due_date, bill_id, reason, note,"
        " actor_label, created_at) VALUES (?, ?, ?, 'late_fee', ?, ?, '', '', 'reference', ?)",
        (
            (c, str(EPOCH + datetime.timedelta(days=d)), f / 100, str(EPOCH + datetime.timedelta(days=d)), b, now)
            for c, b, d, f in fees
        ),
    )
    # the same writes as ours: a mark on every bill judged, so a later run reads none of them again
    db.executemany(
        "UPDATE billing_bill SET late_fee_assessed_on = ? WHERE id = ?", ((str(as_of), b) for b in bills.bill.tolist())
    )
    db.commit()
    print(f"{len(fees)} fees")


# --- Balances --------------------------------------------------------------------------------------------------


def balance_rows(path: Path, as_of: datetime.date) -> list[dict]:
    ours_file, ref_file = path.with_suffix(".balances.csv"), path.with_suffix(".reference.csv")
    ours = manage("export_balances", "--as-of", f"{as_of}", "--output", str(ours_file))
    print(f"export_balances: {ours['seconds']:.2f}s wall, {ours['cpu_seconds']:.2f}s CPU", flush=True)
    ref = reference("reference-balances", str(path), f"{as_of}", str(ref_file))
    print(f"hand-written balances: {ref['seconds']:.2f}s wall, {ref['cpu_seconds']:.2f}s CPU", flush=True)
    same = ours_file.read_bytes() == ref_file.read_bytes()
    if not same:
        raise RuntimeError(f"{ours_file} and {ref_file} differ")
    accounts = len(ours_file.read_text().splitlines()) - 1
    return [_row("export_balances", ours, ref, accounts=accounts, same_csv=same)]


def reference_balances(path: str, as_of: datetime.date, output: str) -> None:
    """The hand-written export: one SELECT into pandas, the closed form max(0, due before − credits)."""
    import sqlite3

    import pandas as pd

    db = sqlite3.connect(path)
    frame = pd.read_sql_query(
        "SELECT c.location_id, CAST(ROUND(e.amount * 100) AS INTEGER) AS cents, e.due_date < ? AS due_before,"
        " e.kind = 'cancellation' OR (e.kind = 'bill' AND e.bill_id IN (SELECT bill_id FROM billing_ledgerentry"
        " WHERE kind = 'cancellation' AND entry_date <= ?)) AS dead FROM billing_ledgerentry e"
        " JOIN accounts_customer c ON c.id = e.customer_id WHERE e.entry_date <= ?",
        db,
        params=[str(as_of)] * 3,
    )
    live = frame.dead == 0
    frame["charges"] = frame.cents.where(live & (frame.cents > 0) & (frame.due_before == 1), 0)
    frame["credits"] = (-frame.cents).where(live & (frame.cents < 0), 0)
    sums = frame.groupby("location_id")[["cents", "charges", "credits"]].sum().sort_index()
    overdue = (sums.charges - sums.credits).clip(lower=0)
    with open(output, "w", newline="") as handle:
        handle.write("location_id,balance,overdue_amount\n")
        handle.writelines(
            f"{loc},{b / 100:.2f},{o / 100:.2f}\n" for loc, b, o in zip(sums.index, sums.cents, overdue, strict=True)
        )


# --- import_payments --------------------------------------------------------------------------------------------


def import_row(path: Path, customers: int) -> dict:
    rows = 100_000
    bank = path.with_suffix(".bank.csv")
    paid = late_fee_day()
    with bank.open("w") as handle:
        handle.write("location_id,amount,paid_on,method,reference\n")
        handle.writelines(
            f"{300_000_000 + i % customers},{25 + i % 97}.{i % 100:02d},{paid},bank_transfer,BANK-{i}\n"
            for i in range(rows)
        )
    ours = manage("import_payments", str(bank))
    print(
        f"import_payments: {ours['seconds']:.2f}s wall, {ours['cpu_seconds']:.2f}s CPU: {ours['stdout'].strip()}",
        flush=True,
    )
    rate = rows / ours["seconds"]
    return _row(
        "import_payments (command)",
        ours,
        None,
        rows=rows,
        rows_per_s=round(rate),
        target=f">= {TARGET_ROWS_PER_S:,} rows/s",
        ok=rate >= TARGET_ROWS_PER_S,
    )


if __name__ == "__main__":
    mode, db_path, day_text, *rest = sys.argv[1:]
    when = datetime.date.fromisoformat(day_text)
    if mode == "reference-late-fees":
        reference_late_fees(db_path, when)
    else:
        reference_balances(db_path, when, rest[0])
