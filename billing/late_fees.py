"""Late fees (SPEC §2a), set-based: every bill still open after its grace period is charged one fee.

A bill is due on its due date; its rate schedule version says the grace days g and the percent p.
What is open of it on due + g (entries dated up to that day, by billing.ledger's rule) is charged
p % (half up to the cent) on due + g + 1. At most one late fee per bill, however often this runs
(the fee entry is the record; a partial unique index backs it up on SQLite and PostgreSQL, and the
account lock serialises runs everywhere). Each bill is judged once, by the first run on or after its fee
day, and marked (`Bill.late_fee_assessed_on`) in the same transaction, so the daily run reads only the
bills whose grace ended since the last run (or that were issued since with a fee day already past).

The rule is evaluated with numpy over the ledger of the customers concerned, in rounds: round k
takes each customer's k-th candidate bill (in grace-end order), so a fee charged in an earlier round
counts in a later bill's settlement exactly as it would had the command run every day.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from itertools import batched

import numpy as np
from django.db import connection
from django.utils import timezone

from accounts.services import audit_record

from .exceptions import BillingError
from .ledger import late_fee_cents
from .locks import cents_sql, day_sql, exclusive
from .models import Bill, LedgerEntry, RateSchedule

EPOCH = datetime.date(1970, 1, 1)
KIND_CODES = {kind: code for code, kind in enumerate(LedgerEntry.Kind.values)}
BILL, LATE_FEE, CANCELLATION = (KIND_CODES[k] for k in ("bill", "late_fee", "cancellation"))
INSERT_ROWS = 500
ID_CHUNK = 2_000


@dataclass
class LateFeeReport:
    as_of: datetime.date
    bills_checked: int = 0
    fees_charged: int = 0
    total_cents: int = 0

    def summary(self) -> str:
        return (
            f"Late fees as of {self.as_of:%Y-%m-%d}: {self.fees_charged:,} charged "
            f"(${self.total_cents / 100:,.2f}) on {self.bills_checked:,} bills past their grace period"
        )


def _day(value: datetime.date) -> int:
    return (value - EPOCH).days


def _date(day: int) -> datetime.date:
    return EPOCH + datetime.timedelta(days=int(day))


def _fetch(sql: str, params, width: int = 7) -> np.ndarray:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return np.array(rows, dtype=np.int64).reshape(len(rows), width)


def _candidates(as_of: datetime.date) -> np.ndarray:
    """[bill id, customer id, bill entry id, due day, total cents, percent ×100, grace-end day] of each
    issued bill not judged yet whose fee day (grace end + 1) is on or before as_of. Bills judged by an
    earlier run (fee or not) are never read again: the index on (status, late_fee_assessed_on, due_date)
    finds the few that are not, so a daily run reads the bills whose grace ended since the last one."""
    qn = connection.ops.quote_name
    bill, entry, rate = (qn(m._meta.db_table) for m in (Bill, LedgerEntry, RateSchedule))
    rows = _fetch(
        f"SELECT b.id, b.customer_id, e.id, {day_sql('b.due_date')}, {cents_sql('b.total_amount')}, "
        f"{cents_sql('r.late_fee_percent')}, {day_sql('b.due_date')} + r.late_fee_grace_days "
        f"FROM {bill} b JOIN {rate} r ON r.id = b.rate_schedule_id "
        f"JOIN {entry} e ON e.bill_id = b.id AND e.kind = %s "
        f"WHERE b.status = %s AND b.late_fee_assessed_on IS NULL AND b.due_date < %s "
        f"AND NOT EXISTS (SELECT 1 FROM {entry} f WHERE f.bill_id = b.id AND f.kind = %s)",
        [
            LedgerEntry.Kind.BILL.value,
            Bill.Status.ISSUED.value,
            connection.ops.adapt_datefield_value(as_of),
            LedgerEntry.Kind.LATE_FEE.value,
        ],
    )
    return rows[rows[:, 6] + 1 <= _day(as_of)]


def _mark_judged(bill_ids, as_of: datetime.date) -> None:
    """Every candidate is judged once: charged now, or nothing (enough) was open on its grace end."""
    for chunk in batched(bill_ids, ID_CHUNK):
        Bill.objects.filter(pk__in=chunk).update(late_fee_assessed_on=as_of)


def _ledger(customer_ids: np.ndarray, last_day: int) -> np.ndarray:
    """[customer id, entry id, entry day, due day (or -1), cents, kind code, bill id (or -1)] of these
    customers' entries dated up to last_day; the whole table when most customers are concerned."""
    qn = connection.ops.quote_name
    kinds = " ".join(f"WHEN '{kind}' THEN {code}" for kind, code in KIND_CODES.items())
    base = (
        f"SELECT customer_id, id, {day_sql('entry_date')}, COALESCE({day_sql('due_date')}, -1), "
        f"{cents_sql('amount')}, CASE kind {kinds} END, COALESCE(bill_id, -1) "
        f"FROM {qn(LedgerEntry._meta.db_table)} WHERE entry_date <= %s"
    )
    last = connection.ops.adapt_datefield_value(_date(last_day))
    if len(customer_ids) > 20_000:
        return _fetch(base, [last])
    parts = [
        _fetch(base + f" AND customer_id IN ({', '.join(['%s'] * len(chunk))})", [last, *chunk])
        for chunk in batched(customer_ids.tolist(), ID_CHUNK)
    ]
    return np.concatenate(parts) if parts else np.zeros((0, 7), dtype=np.int64)


def _open_on_grace_end(ledger: np.ndarray, cancel_day: np.ndarray, round_: np.ndarray, slot: np.ndarray) -> np.ndarray:
    """What is open of each round bill on its grace-end day: open = min(total, max(0, ahead + total −
    credits)), ahead being the live charges settled before it (earlier due date, or equal and made
    earlier). `slot` maps each ledger row's customer to its round row (−1: not in this round)."""
    customer_slot = slot[ledger[:, 0]]
    inside = customer_slot >= 0
    rows, at = ledger[inside], customer_slot[inside]
    grace_end = round_[at, 6]
    kind, cents = rows[:, 5], rows[:, 4]
    cancelled = (kind == BILL) & (cancel_day[np.maximum(rows[:, 6], 0)] <= grace_end)
    live = (rows[:, 2] <= grace_end) & (kind != CANCELLATION) & ~cancelled
    credit = live & (cents < 0)
    charge_key = rows[:, 3] * (1 << 40) + rows[:, 1]
    ahead = live & (cents > 0) & (charge_key < round_[at, 3] * (1 << 40) + round_[at, 2])
    size = len(round_)
    credits = np.bincount(at[credit], weights=-cents[credit], minlength=size).astype(np.int64)
    before = np.bincount(at[ahead], weights=cents[ahead], minlength=size).astype(np.int64)
    total = round_[:, 4]
    return np.minimum(total, np.maximum(0, before + total - credits))


def _fees(candidates: np.ndarray, ledger: np.ndarray, cancel_day: np.ndarray, next_id: int) -> list[tuple]:
    """[(customer id, bill id, fee day, cents)] in the order they are charged, round by round."""
    order = np.lexsort((candidates[:, 0], candidates[:, 6], candidates[:, 1]))
    candidates = candidates[order]
    starts = np.r_[0, np.flatnonzero(np.diff(candidates[:, 1])) + 1]
    rank = np.arange(len(candidates)) - np.repeat(starts, np.diff(np.r_[starts, len(candidates)]))
    customers = np.unique(candidates[:, 1])
    index = np.full(int(max(customers.max(), ledger[:, 0].max() if len(ledger) else 0)) + 1, -1)
    fees = []
    for k in range(int(rank.max()) + 1 if len(rank) else 0):
        round_ = candidates[rank == k]
        slot = index.copy()
        slot[round_[:, 1]] = np.arange(len(round_))
        opened = _open_on_grace_end(ledger, cancel_day, round_, slot)
        cents = np.array([late_fee_cents(int(o), int(p)) for o, p in zip(opened, round_[:, 5], strict=True)])
        charged = round_[cents > 0]
        new = np.column_stack(
            [
                charged[:, 1],
                np.arange(next_id, next_id + len(charged)),
                charged[:, 6] + 1,
                charged[:, 6] + 1,
                cents[cents > 0],
                np.full(len(charged), LATE_FEE),
                charged[:, 0],
            ]
        ).astype(np.int64)
        next_id += len(charged)
        ledger = np.concatenate([ledger, new]) if len(new) else ledger
        fees += [(int(r[0]), int(r[6]), int(r[2]), int(r[4])) for r in new]
    return fees


def _cancel_days(ledger: np.ndarray) -> np.ndarray:
    """Per bill id, the day its cancellation is dated (a far future day when it has none)."""
    size = int(max(ledger[:, 6].max(initial=0), 0)) + 1
    days = np.full(size, np.iinfo(np.int64).max // 4)
    cancels = ledger[ledger[:, 5] == CANCELLATION]
    days[cancels[:, 6]] = cancels[:, 2]
    return days


def _insert(fees: list[tuple], actor_label: str) -> None:
    qn, ops = connection.ops.quote_name, connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    sql = (
        f"INSERT INTO {qn(LedgerEntry._meta.db_table)} (customer_id, entry_date, amount, kind, due_date, bill_id, "
        f"payment_id, reason, note, created_by_id, actor_label, created_at) VALUES "
    )
    row = "(%s, %s, %s, %s, %s, %s, NULL, '', '', NULL, %s, %s)"
    with connection.cursor() as cursor:
        for chunk in batched(fees, INSERT_ROWS):
            params = []
            for customer_id, bill_id, day, cents in chunk:
                date = ops.adapt_datefield_value(_date(day))
                amount = ops.adapt_decimalfield_value(Decimal(cents).scaleb(-2), 12, 2)
                params += [customer_id, date, amount, LedgerEntry.Kind.LATE_FEE.value, date, bill_id, actor_label, now]
            cursor.execute(sql + ", ".join([row] * len(chunk)), params)


def late_fees_apply(
    *, as_of: datetime.date | None = None, actor=None, actor_label: str = "", today=None
) -> LateFeeReport:
    """Charge every late fee due on or before as_of (default today) that is not charged yet."""
    today = today or timezone.localdate()
    as_of = as_of or today
    if as_of > today:
        raise BillingError(f"Late fees cannot be charged ahead of time: {as_of:%Y-%m-%d} is after today.")
    report = LateFeeReport(as_of=as_of)
    with exclusive("billing.account_batch"):
        candidates = _candidates(as_of)
        report.bills_checked = len(candidates)
        if not len(candidates):
            return report
        ledger = _ledger(np.unique(candidates[:, 1]), int(candidates[:, 6].max()))
        next_id = int(ledger[:, 1].max(initial=0)) + 1
        fees = _fees(candidates, ledger, _cancel_days(ledger), next_id)
        _insert(fees, actor_label or getattr(actor, "email", "") or "late fees")
        _mark_judged(candidates[:, 0].tolist(), as_of)
        report.fees_charged, report.total_cents = len(fees), sum(f[3] for f in fees)
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action="billing.late_fees",
            summary=report.summary(),
            changes={"as_of": f"{as_of:%Y-%m-%d}", "fees": report.fees_charged, "cents": report.total_cents},
        )
    return report
