"""The set-based bill run behind billing.services: one query for the period's usage, prices computed
in integer arithmetic with numpy (billing.pricing.price_cents), and bulk writes with executemany.

100,000 customers are priced and written in a few seconds; no ORM object is built per bill or line.
Callers hold the period lock (services) — this module never commits or locks by itself.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import batched, repeat

import numpy as np
from django.db import connection
from django.utils import timezone

from metering.selectors import usage_totals

from .exceptions import BillingError
from .models import Bill, BillLine, RateSchedule
from .periods import days_in, period_end
from .pricing import ONE, LineKind, PricedCents, RatePlan, price_cents, seasonal_label, tier_label
from .selectors import bills_for_period, customers_in_scope, rate_schedules_in_effect

Progress = Callable[[float, str], None]
CHUNK = 20_000


def _no_progress(fraction: float, message: str) -> None:
    pass


@dataclass
class RunFigures:
    """What a bill run found and did (a dry run fills the same figures without writing)."""

    period: datetime.date
    cycles: list[int]
    dry_run: bool = False
    customers_in_scope: int = 0
    bills_priced: int = 0
    bills_created: int = 0
    bills_recomputed: int = 0
    drafts_removed: int = 0
    issued_untouched: int = 0
    customers_without_reads: int = 0
    partial_bills: int = 0
    bills_issued: int = 0
    total_cents: int = 0
    run_id: int | None = None

    @property
    def total_billed(self) -> Decimal:
        return Decimal(self.total_cents).scaleb(-2)

    def summary(self) -> str:
        scope = f" cycles {', '.join(map(str, self.cycles))}" if self.cycles else ""
        verb = "would bill" if self.dry_run else "billed"
        text = (
            f"{self.period:%Y-%m}{scope}: {verb} {self.bills_priced} customers "
            f"(${self.total_billed:,.2f}; {self.bills_created} new, {self.bills_recomputed} drafts recomputed), "
            f"{self.issued_untouched} issued bills left untouched, {self.customers_without_reads} customers without "
            f"reads, {self.partial_bills} partial months"
        )
        return text + (f", {self.bills_issued} issued" if self.bills_issued else "")


@dataclass
class PricedGroup:
    """The customers priced with one rate schedule version."""

    schedule: RateSchedule
    plan: RatePlan
    customer_ids: np.ndarray
    usage_units: np.ndarray
    days_read: np.ndarray
    cents: PricedCents
    bill_ids: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))


def price_period(*, period: datetime.date, cycles: list[int], progress: Progress = _no_progress):
    """Price every billable customer of the period: (RunFigures, [PricedGroup]). Reads only.

    Billable: in scope (cycles), at least one read in the period, and no issued bill for it yet."""
    figures = RunFigures(period=period, cycles=cycles)
    scope = customers_in_scope(cycles=cycles)
    types = dict(scope.values_list("id", "customer_type"))
    figures.customers_in_scope = len(types)
    progress(0.05, "Summing the period's reads")
    totals = usage_totals(start=period, end=period_end(period), customer_ids=scope.values("pk") if cycles else None)
    with_reads = [cid for cid in totals if cid in types]
    figures.customers_without_reads = len(types) - len(with_reads)
    issued = set(bills_for_period(period=period, cycles=cycles).issued().values_list("customer_id", flat=True))
    billable = [cid for cid in with_reads if cid not in issued]
    figures.issued_untouched = len(with_reads) - len(billable)
    progress(0.3, f"Pricing {len(billable):,} bills")
    groups = _price_groups(period, billable, types, totals)
    for group in groups:
        figures.bills_priced += len(group.customer_ids)
        figures.partial_bills += int((group.days_read < days_in(period)).sum())
        figures.total_cents += int(group.cents.usage_cents.sum()) + group.cents.fees_cents * len(group.customer_ids)
    return figures, groups


def _price_groups(period, billable, types, totals) -> list[PricedGroup]:
    if not billable:
        return []
    schedules = rate_schedules_in_effect(period_start=period)
    ids = np.array(billable, dtype=np.int64)
    units = np.fromiter((int(totals[cid][0].scaleb(4)) for cid in billable), dtype=np.int64, count=len(billable))
    days = np.fromiter((totals[cid][1] for cid in billable), dtype=np.int64, count=len(billable))
    kinds = np.array([types[cid] for cid in billable])
    by_schedule: dict[int, list[np.ndarray]] = {}
    for kind in np.unique(kinds):
        schedule = schedules.get(str(kind)) or schedules.get("")
        if schedule is None:
            raise BillingError(f"No rate schedule is in effect for {kind} customers on {period:%Y-%m-%d}.")
        by_schedule.setdefault(schedule.pk, [schedule]).append(np.flatnonzero(kinds == kind))
    groups = []
    for schedule, *parts in by_schedule.values():
        rows = np.sort(np.concatenate(parts))
        plan = schedule.to_plan()
        try:
            cents = price_cents(units[rows], plan, period.month)
        except ValueError as error:
            raise BillingError(f"Rate schedule {schedule} cannot price these bills: {error}") from error
        groups.append(PricedGroup(schedule, plan, ids[rows], units[rows], days[rows], cents))
    return groups


def write_period(*, figures: RunFigures, groups: list[PricedGroup], run_id: int | None, progress=_no_progress):
    """Create or recompute the drafts priced by price_period (issued bills are never in `groups`)."""
    period, cycles = figures.period, figures.cycles
    drafts = bills_for_period(period=period, cycles=cycles).drafts()
    existing = dict(drafts.values_list("customer_id", "id"))
    priced = {int(cid) for group in groups for cid in group.customer_ids}
    progress(0.45, "Clearing the old draft lines")
    BillLine.objects.filter(bill__in=drafts.values("pk")).delete()
    stale = [bill_id for customer_id, bill_id in existing.items() if customer_id not in priced]
    for chunk in batched(stale, 500):
        Bill.objects.filter(pk__in=chunk, status=Bill.Status.DRAFT).delete()
    figures.drafts_removed = len(stale)
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    new_rows, update_rows = [], []
    for group in groups:
        for row in _bill_values(group, period, run_id, now):
            bill_id = existing.get(row[0])
            if bill_id:
                update_rows.append((*row[1:], bill_id))
            else:
                new_rows.append(row)
    figures.bills_created, figures.bills_recomputed = len(new_rows), len(update_rows)
    progress(0.5, f"Writing {len(new_rows) + len(update_rows):,} bills")
    fixed = (connection.ops.adapt_datefield_value(period), Bill.Status.DRAFT.value, "", now)
    _insert(Bill, [*BILL_FIELDS, "period", "status", "sent_to", "created_at"], new_rows, fixed=fixed)
    _update(Bill, BILL_FIELDS[1:], update_rows)
    ids = dict(bills_for_period(period=period, cycles=cycles).drafts().values_list("customer_id", "id"))
    for group in groups:
        group.bill_ids = np.fromiter(
            (ids[int(c)] for c in group.customer_ids), dtype=np.int64, count=len(group.customer_ids)
        )
    progress(0.6, "Writing the bill lines")
    lines = (row for group in groups for row in _line_values(group, period.month))
    total = sum(len(g.customer_ids) for g in groups) * 5 or 1
    _insert(
        BillLine,
        LINE_FIELDS,
        lines,
        progress=lambda done: progress(0.6 + 0.35 * min(done / total, 1), "Writing the bill lines"),
    )


BILL_FIELDS = [
    "customer_id",
    "usage_ccf",
    "days_read",
    "days_in_period",
    "usage_charge",
    "fees",
    "total_amount",
    "rate_schedule_id",
    "run_id",
    "updated_at",
]
LINE_FIELDS = ["bill_id", "position", "kind", "code", "label", "quantity", "rate", "amount"]


def _bill_values(group: PricedGroup, period, run_id, now) -> Iterable[tuple]:
    cents = group.cents
    fees = _money(cents.fees_cents)
    return zip(
        group.customer_ids.tolist(),
        _decimals(group.usage_units, 4),
        group.days_read.tolist(),
        repeat(days_in(period)),
        _decimals(cents.usage_cents, 2),
        repeat(fees),
        _decimals(cents.usage_cents + cents.fees_cents, 2),
        repeat(group.schedule.pk),
        repeat(run_id),
        repeat(now),
        strict=False,
    )


def _line_values(group: PricedGroup, month: int) -> Iterable[tuple]:
    """BillLine rows exactly as billing.pricing.price lays them out (checked by the tests)."""
    plan, cents, bill_ids = group.plan, group.cents, group.bill_ids
    used = cents.tier_units > 0
    used[:, 0] |= group.usage_units == 0  # a zero-usage bill still shows the first tier at 0 CCF
    for t, tier in enumerate(plan.tiers):
        rows = np.flatnonzero(used[:, t])
        yield from zip(
            bill_ids[rows].tolist(),
            repeat(t),
            repeat(LineKind.TIER),
            repeat(""),
            repeat(tier_label(t, plan.tiers)),
            _decimals(cents.tier_units[rows, t], 4),
            repeat(tier.rate),
            _decimals(cents.tier_cents[rows, t], 2),
            strict=False,
        )
    n_used = used.sum(axis=1)
    multiplier = plan.multiplier(month)
    if multiplier != ONE:
        kind, label, adjusted = LineKind.SEASONAL, seasonal_label(multiplier, month), np.ones(len(bill_ids), bool)
    else:
        kind, label, adjusted = LineKind.ROUNDING, "Rounding to the cent", cents.adjustment_cents != 0
    rows = np.flatnonzero(adjusted)
    shown = cents.tier_cents.sum(axis=1)
    yield from zip(
        bill_ids[rows].tolist(),
        n_used[rows].tolist(),
        repeat(kind),
        repeat(""),
        repeat(label),
        _decimals(shown[rows], 2),
        repeat(multiplier),
        _decimals(cents.adjustment_cents[rows], 2),
        strict=False,
    )
    first_fee = (n_used + adjusted).tolist()
    ids = bill_ids.tolist()
    for k, fee in enumerate(plan.fees):
        yield from zip(
            ids,
            (p + k for p in first_fee),
            repeat(LineKind.FEE),
            repeat(fee.code),
            repeat(fee.label),
            repeat(ONE),
            repeat(fee.amount),
            repeat(fee.amount),
            strict=False,
        )


_MONEY_CACHE: dict[int, Decimal] = {}


def _money(cents: int) -> Decimal:
    value = _MONEY_CACHE.get(cents)
    if value is None:
        value = Decimal(cents).scaleb(-2)
        if len(_MONEY_CACHE) < 200_000:
            _MONEY_CACHE[cents] = value
    return value


def _decimals(values: np.ndarray, places: int) -> list:
    """Integers scaled by 10**places as column values. SQLite stores decimals as REAL anyway: a float
    made by one correctly rounded division is the very double SQLite would parse from the decimal text,
    and it skips a Decimal per value. Other databases get exact Decimals."""
    if connection.vendor == "sqlite":
        return (values / 10**places).tolist()
    if places == 2:
        return [_money(v) for v in values.tolist()]
    return [Decimal(v).scaleb(-places) for v in values.tolist()]


def _insert(model, fields, rows, *, fixed=(), progress=None) -> int:
    """INSERT rows with executemany in chunks; each row holds the values of `fields` minus the trailing
    ones given once in `fixed` (the same for every row)."""
    qn = connection.ops.quote_name
    meta = model._meta
    columns = ", ".join(qn(meta.get_field(name).column) for name in fields)
    sql = f"INSERT INTO {qn(meta.db_table)} ({columns}) VALUES ({', '.join(['%s'] * len(fields))})"
    done = 0
    with connection.cursor() as cursor:
        for chunk in batched(rows, CHUNK):
            cursor.executemany(sql, [(*row, *fixed) for row in chunk] if fixed else chunk)
            done += len(chunk)
            if progress:
                progress(done)
    return done


def _update(model, fields, rows) -> None:
    """UPDATE by primary key with executemany; each row holds the values of `fields`, then the pk."""
    qn = connection.ops.quote_name
    meta = model._meta
    assignments = ", ".join(f"{qn(meta.get_field(name).column)} = %s" for name in fields)
    sql = f"UPDATE {qn(meta.db_table)} SET {assignments} WHERE {qn(meta.pk.column)} = %s"
    with connection.cursor() as cursor:
        for chunk in batched(rows, CHUNK):
            cursor.executemany(sql, chunk)


def issue_rows(rows: list[tuple[str, int]], *, issue_date, due_date, now) -> None:
    """Make drafts final: rows of (bill number, bill id); a bill issued meanwhile is left as it is."""
    qn = connection.ops.quote_name
    meta = Bill._meta
    ops = connection.ops
    fixed = (
        Bill.Status.ISSUED.value,
        ops.adapt_datefield_value(issue_date),
        ops.adapt_datefield_value(due_date),
        ops.adapt_datetimefield_value(now),
    )
    sql = (
        f"UPDATE {qn(meta.db_table)} SET {qn('status')} = %s, {qn('issue_date')} = %s, {qn('due_date')} = %s, "
        f"{qn('updated_at')} = %s, {qn('number')} = %s WHERE {qn('id')} = %s AND {qn('status')} = %s"
    )
    with connection.cursor() as cursor:
        for chunk in batched(rows, CHUNK):
            cursor.executemany(sql, [(*fixed, number, bill_id, Bill.Status.DRAFT.value) for number, bill_id in chunk])
