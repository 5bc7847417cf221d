"""Staff pages under load: 10,000 customers with three years of daily reads (about 11 million), served
by gunicorn from a scratch SQLite database; each page is requested by concurrent clients and timed.

Reports per page the 50th and 95th percentile latency of warm requests (target: p95 under 300 ms) and
the first, cold request (analytics computed and cached). Options: --scale shrinks the customers.
"""

import datetime
import os
import random
import shutil
import statistics
import threading
from concurrent.futures import ThreadPoolExecutor

from bench.common import (
    BENCH_DIR,
    free_port,
    http_get,
    insert_customers,
    insert_generated_reads,
    scratch_sqlite,
    start_gunicorn,
    timed,
)

CUSTOMERS = 10_000
YEARS = 3
AUDIT_EVENTS = 50_000
CLIENTS = 4
REQUESTS_PER_PAGE = 60
TARGET_MS = 300
PORT = free_port()
SEARCH_CUSTOMERS = 100_000  # the search is measured again with this many accounts


def run(options) -> list[dict]:
    db_path = scratch_sqlite("staff")
    cache_dir = BENCH_DIR / "staff-cache"
    shutil.rmtree(cache_dir, ignore_errors=True)
    os.environ["CACHE_URL"] = f"filecache://{cache_dir}"
    import django

    django.setup()
    customers = max(200, int(CUSTOMERS * options.scale))
    with timed() as seeding:
        today, sample = seed(customers)
    print(f"seeded {customers:,} customers in {seeding['seconds']:.0f}s", flush=True)
    results = [snapshot_timing(kind, today, customers) for kind in ("consumption", "billing")]
    cookies = sessions()
    server = start_gunicorn(db_path, PORT, workers=2, threads=2)
    try:
        results += measure(pages(sample, today), cookies, customers)
        total = add_customers_without_reads(SEARCH_CUSTOMERS - customers)
        return results + measure(search_pages(sample, total), cookies, total)
    finally:
        server.terminate()
        server.wait(timeout=10)


def snapshot_timing(kind: str, today, customers: int) -> dict:
    """The background computation of the analytics snapshot (what a page never waits for)."""
    from staff.analytics import snapshot_refresh

    with timed() as took:
        snapshot_refresh(kind=kind, today=today)
    row = {"bench": f"staff analytics snapshot {kind} (background)", "customers": customers}
    row["seconds"] = round(took["seconds"], 2)
    print(row, flush=True)
    return row


def seed(customers: int):
    """Migrate, then customers and reads straight into SQLite (executemany), staff logins, notes and an
    audit trail. Returns today and a sample of (location_id, name, phone, email) to look up."""
    from django.core.management import call_command
    from django.utils import timezone

    from accounts.models import AuditEvent, Customer, User
    from hydrospark.demo.generator import generate_customers
    from hydrospark.demo.seed import seed_staff

    call_command("migrate", verbosity=0)
    seed_staff()
    today = timezone.localdate()
    start = datetime.date(today.year - YEARS, today.month, 1)
    frame = generate_customers(customers)
    ids = insert_customers(frame)
    insert_generated_reads(frame, ids, start, today - datetime.timedelta(days=1))
    logins = [User(email=f"customer{i}@example.com") for i in range(0, customers, 10)]
    User.objects.bulk_create(logins, batch_size=2_000)
    for user, pk in zip(User.objects.filter(email__startswith="customer"), list(ids.values())[::10], strict=False):
        Customer.objects.filter(pk=pk).update(user=user)
    seed_audit(list(ids.values()))
    with timed() as billing:
        from billing.demo import seed_bills

        issued, payments = seed_bills(today=today)
    print(f"  {issued:,} bills issued, {payments:,} payments in {billing['seconds']:.0f}s", flush=True)
    seed_anomalies(list(ids.values()), today)
    sample = list(
        Customer.objects.select_related("user")
        .filter(user__isnull=False)
        .values_list("location_id", "name", "phone", "user__email")[:200]
    )
    print(f"  {AuditEvent.objects.count():,} audit events", flush=True)
    return today, sample


def seed_audit(customer_ids: list[int]):
    """A realistic trail: contact changes and notes by support, imports by a command."""
    from accounts.models import AuditEvent, User

    support = User.objects.get(email="support@hydrospark.com")
    rng = random.Random(5)
    events = [
        AuditEvent(
            actor=support,
            actor_label=support.email,
            action=rng.choice(["customer.update", "customer.note"]),
            target_type="accounts.customer",
            target_id=str(cid),
            target_repr=f"Customer {cid}",
            customer_id=cid,
            summary="Changed phone",
            changes={"phone": ["(214) 555-0000", "(214) 555-0001"]},
        )
        for cid in (rng.choice(customer_ids) for _ in range(AUDIT_EVENTS))
    ]
    AuditEvent.objects.bulk_create(events, batch_size=5_000)


def seed_anomalies(customer_ids: list[int], today) -> None:
    """Findings of a detection run on a tenth of the customers (detection itself has its own bench)."""
    from decimal import Decimal

    from django.utils import timezone

    from anomalies.models import Anomaly, DetectionRun, Method

    now = timezone.now()
    run = DetectionRun.objects.create(
        method=Method.ZSCORE, state=DetectionRun.State.FINISHED, started_at=now, finished_at=now, actor_label="bench"
    )
    rng = random.Random(9)
    rows = {(cid, today - datetime.timedelta(days=rng.randint(1, 700))) for cid in customer_ids[::10] for _ in range(5)}
    Anomaly.objects.bulk_create(
        [
            Anomaly(
                customer_id=cid,
                date=day,
                method=Method.ZSCORE,
                usage_ccf=Decimal("3.5"),
                mean_ccf=Decimal("0.8"),
                std_ccf=Decimal("0.4"),
                detected_at=now,
                run=run,
            )
            for cid, day in rows
        ],
        batch_size=2_000,
    )


def sessions() -> dict[str, str]:
    """A signed-in session cookie per staff role (Client.force_login writes the session row)."""
    from django.test import Client

    cookies = {}
    for role, email in [("ops", "ops@hydrospark.com"), ("billing", "billing@hydrospark.com")] + [
        ("support", "support@hydrospark.com")
    ]:
        from accounts.models import User

        client = Client()
        client.force_login(User.objects.get(email=email))
        cookies[role] = client.cookies["sessionid"].value
    return cookies


def pages(sample, today) -> list[tuple[str, str, list[str]]]:
    """(page, role, urls): each page is requested at these urls in turn."""
    from urllib.parse import quote

    locations = [s[0] for s in sample]
    searches = [s[1].split()[0] for s in sample[:20]] + [s[0] for s in sample[:20]]
    searches += [s[2] for s in sample[:20]] + [s[3] for s in sample[:20]] + [s[1].split()[-1][:4] for s in sample[:20]]
    return [
        ("home (operations)", "ops", ["/staff/"]),
        ("home (billing)", "billing", ["/staff/"]),
        ("home (support)", "support", ["/staff/"]),
        ("customer search", "support", [f"/staff/customers/?q={quote(q)}" for q in searches]),
        ("customer page", "support", [f"/staff/customers/{loc}/" for loc in locations]),
        ("customer usage chart", "support", [f"/staff/customers/{loc}/usage.svg" for loc in locations]),
        ("analytics", "billing", ["/staff/analytics/"]),
        ("analytics chart", "billing", ["/staff/analytics/charts/consumption-by-month.svg"]),
        ("analytics CSV", "billing", ["/staff/analytics/top-consumers.csv"]),
        ("audit trail", "ops", ["/staff/audit/", "/staff/audit/?action=customer.note&page=3"]),
        ("audit trail of a customer", "ops", [f"/staff/audit/?location_id={loc}" for loc in locations]),
    ]


def add_customers_without_reads(count: int) -> int:
    """More accounts (no reads) so that search runs against SEARCH_CUSTOMERS; returns the new total."""
    from accounts.models import Customer
    from hydrospark.demo.generator import generate_customers

    if count > 0:
        insert_customers(generate_customers(count, seed=99, first_location_id=300_000_001))
    return Customer.objects.count()


def search_pages(sample, total: int) -> list[tuple[str, str, list[str]]]:
    from urllib.parse import quote

    by_kind = {
        "name start": [s[1].split()[0][:4] for s in sample[:20]],
        "full name": [s[1] for s in sample[:20]],
        "name inside": [s[1].split()[-1][1:5] for s in sample[:20]],
        "location id": [s[0] for s in sample[:20]],
        "phone digits": ["".join(ch for ch in s[2] if ch.isdigit()) for s in sample[:20]],
        "email": [s[3] for s in sample[:20]],
        "no match": ["zqxv", "Nobody Atall", "999999999"],
    }
    return [
        (f"customer search by {kind} ({total:,} customers)", "support", [f"/staff/customers/?q={quote(q)}" for q in qs])
        for kind, qs in by_kind.items()
    ]


def fetch(url: str, cookie: str) -> tuple[float, int]:
    elapsed, status, _body = http_get(PORT, url, cookie)
    return elapsed, status


def accepted_statuses(page: str) -> set[int]:
    """A search for an exact location ID answers with a redirect to that customer's page."""
    return {200, 302} if "search" in page else {200}


def measure(page_list, cookies, customers) -> list[dict]:
    results = []
    for name, role, urls in page_list:
        cold_ms, cold_status = fetch(urls[0], cookies[role])
        plan = [urls[i % len(urls)] for i in range(REQUESTS_PER_PAGE)]
        lock, statuses = threading.Lock(), set()

        def one(url, role=role, statuses=statuses, lock=lock):
            elapsed, status = fetch(url, cookies[role])
            with lock:
                statuses.add(status)
            return elapsed

        with ThreadPoolExecutor(CLIENTS) as pool:
            times = sorted(pool.map(one, plan))
        p95 = times[int(0.95 * (len(times) - 1))]
        row = {
            "bench": f"staff {name}",
            "customers": customers,
            "requests": len(times),
            "clients": CLIENTS,
            "cold_ms": round(cold_ms, 1),
            "p50_ms": round(statistics.median(times), 1),
            "p95_ms": round(p95, 1),
            "status": ",".join(str(s) for s in sorted(statuses | {cold_status})),
            "target": f"p95 < {TARGET_MS} ms",
            "ok": p95 < TARGET_MS and statuses | {cold_status} <= accepted_statuses(name),
        }
        print(row, flush=True)
        results.append(row)
    return results
