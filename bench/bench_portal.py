"""The customer dashboard under load: 10,000 customers with three years of daily reads (about 11
million) and last month's bills, served by gunicorn from a scratch SQLite database.

Many customers open their dashboard at once, as a browser does: the page, then the chart image it
names. The first view of each customer is *cold* (the anticipated bill computed, the 13-month chart
drawn), a repeat view is *warm* (both from the cache). Reports the 50th and 95th percentile latency of
the page (targets: p95 under 600 ms cold, 150 ms warm) and of the page with its chart.
Options: --scale shrinks the customers (and the number of requests).
"""

import datetime
import html
import os
import re
import statistics
import subprocess
from concurrent.futures import ThreadPoolExecutor

from bench.common import (
    BENCH_DIR,
    BENCH_SECRET_KEY,
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
CLIENTS = 4  # concurrent browsers
WORKERS = 3  # gunicorn processes
SIGNED_IN = 400  # customers with a portal login; each is viewed cold once, then warm twice
TARGETS_MS = {"cold": 600, "warm": 150}


def run(options) -> list[dict]:
    reuse = os.environ.get("PORTAL_BENCH_REUSE") == "1" and (BENCH_DIR / "portal.sqlite3").exists()
    db_path = BENCH_DIR / "portal.sqlite3" if reuse else scratch_sqlite("portal")
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    cache_dir = BENCH_DIR / "portal-cache"
    subprocess.run(["rm", "-rf", str(cache_dir)], check=True)
    # The file cache culls a third of its entries whenever it holds more than MAX_ENTRIES (300 by
    # default): with three entries per customer that would evict the charts of most customers.
    os.environ["CACHE_URL"] = f"filecache://{cache_dir}?max_entries=1000000"
    os.environ["SECRET_KEY"] = BENCH_SECRET_KEY  # signs the sessions the server reads
    import django

    django.setup()
    customers = max(300, int(CUSTOMERS * options.scale))
    signed_in = max(60, int(SIGNED_IN * min(1.0, options.scale * 4)))
    with timed() as seeding:
        if reuse:  # PORTAL_BENCH_REUSE=1: measure again on the last run's data (seeding takes minutes)
            from django.contrib.sessions.models import Session

            cookies = list(Session.objects.order_by("session_key").values_list("session_key", flat=True))
            customers = _count_customers()
        else:
            seed(customers)
            cookies = sessions(signed_in)
    print(f"seeded {customers:,} customers in {seeding['seconds']:.0f}s", flush=True)
    server = start_gunicorn(db_path, PORT, workers=WORKERS)
    try:
        return measure(cookies, customers)
    finally:
        server.terminate()
        server.wait(timeout=10)


def _count_customers() -> int:
    from accounts.models import Customer

    return Customer.objects.count()


def seed(customers: int) -> None:
    """Migrate; customers and reads straight into SQLite (executemany); last month's bills issued."""
    from django.core.management import call_command
    from django.utils import timezone

    from billing.services import bill_run_compute
    from hydrospark.demo.generator import generate_customers

    call_command("migrate", verbosity=0)
    today = timezone.localdate()
    start = datetime.date(today.year - YEARS, today.month, 1)
    frame = generate_customers(customers)
    ids = insert_customers(frame)
    insert_generated_reads(frame, ids, start, today - datetime.timedelta(days=1))
    last_month = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    bill_run_compute(period=last_month, issue=True, actor_label="bench")
    print(f"  bills issued for {last_month:%Y-%m}", flush=True)
    alerts_and_comparisons(ids=list(ids.values()), month=last_month)


def alerts_and_comparisons(*, ids: list[int], month: datetime.date) -> None:
    """What the dashboard reads of issue 16 made real: last month's similar-homes groups, and one customer in
    ten with a budget (a third of them with a vacation last week), checked once. Both are timed."""
    from decimal import Decimal

    from portal.models import AlertSetting
    from portal.services import alerts_check, comparisons_refresh

    with timed() as refresh:
        groups = comparisons_refresh(period=month)
    print(f"  refresh_comparisons {month:%Y-%m}: {groups} groups in {refresh['seconds']:.1f}s", flush=True)
    today = datetime.date.today()
    AlertSetting.objects.bulk_create(
        AlertSetting(
            customer_id=pk, budget=Decimal("45.00"), email=False,  # the dashboard shows them; no mail server here
            away_from=today - datetime.timedelta(days=8) if n % 3 == 0 else None,
            away_until=today - datetime.timedelta(days=2) if n % 3 == 0 else None,
        )
        for n, pk in enumerate(ids[::10])
    )
    with timed() as check:
        found = alerts_check()
    print(f"  check_alerts for {len(ids[::10]):,} accounts: {found} in {check['seconds']:.1f}s", flush=True)


def sessions(count: int) -> list[str]:
    """Portal logins for `count` customers spread over the base, each with a signed-in session cookie
    (written like Client.force_login does, without paying for password hashing)."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import Customer, User

    step = max(1, Customer.objects.count() // count)
    chosen = list(Customer.objects.order_by("pk").values_list("pk", flat=True)[::step][:count])
    users = User.objects.bulk_create([User(email=f"portal{pk}@example.com") for pk in chosen])
    cookies = []
    for pk, user in zip(chosen, User.objects.filter(email__startswith="portal").order_by("pk"), strict=True):
        Customer.objects.filter(pk=pk).update(user=user)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        cookies.append(session.session_key)
    assert len(users) == len(cookies)
    return cookies


PORT = free_port()


def _get(path: str, cookie: str) -> tuple[float, int, bytes]:
    return http_get(PORT, path, cookie)


def fetch(cookie: str) -> tuple[float, float, int]:
    """One customer's view as a desktop browser makes it: the page, then the chart image it names.
    Returns (page ms, page + chart ms, status); a page without its content or chart counts as 599."""
    page_ms, status, body = _get("/portal/", cookie)
    found = CHART_SRC.search(body)
    if status != 200 or b"Anticipated bill for" not in body or not found:
        return page_ms, page_ms, status if status != 200 else 599
    chart_ms, chart_status, svg = _get(html.unescape(found.group(1).decode()), cookie)
    ok = chart_status == 200 and svg.startswith(b"<?xml")
    return page_ms, page_ms + chart_ms, 200 if ok else 599


CHART_SRC = re.compile(rb'<img src="(/portal/charts/[^"]+)"')


def measure(cookies: list[str], customers: int) -> list[dict]:
    for cookie in cookies[:CLIENTS]:  # each worker's first request pays for lazy imports: not a customer's cost
        fetch(cookie)
    phases = {"cold": cookies[CLIENTS:], "warm": cookies[CLIENTS:] * 2}
    results = []
    for phase, plan in phases.items():
        with timed() as clock, ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(fetch, plan))
        statuses = {status for _, _, status in answers}
        for what, index, target in (("page", 0, TARGETS_MS[phase]), ("page + chart", 1, None)):
            times = sorted(answer[index] for answer in answers)
            p95 = times[int(0.95 * (len(times) - 1))]
            row = {
                "bench": f"portal dashboard {what} ({phase})",
                "customers": customers,
                "requests": len(times),
                "clients": CLIENTS,
                "workers": WORKERS,
                "p50_ms": round(statistics.median(times), 1),
                "p95_ms": round(p95, 1),
                "max_ms": round(times[-1], 1),
                "views_per_s": round(len(times) / clock["seconds"], 1),
                "status": ",".join(str(s) for s in sorted(statuses)),
                "target": f"p95 < {target} ms" if target else "",
                "ok": (p95 < target if target else True) and statuses == {200},
            }
            print(row, flush=True)
            results.append(row)
    return results
