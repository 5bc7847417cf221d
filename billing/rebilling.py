"""Cancel and rebill (SPEC §2a): an issued bill is never changed. Billing cancels it with a reason (a
CANCELLATION entry reverses its total; the bill is kept, marked cancelled) and a corrected bill for the
same customer and period is issued from the reads as they are now, priced with the rate version of the
original, numbered after it (`HS-202507-000012` → `HS-202507-000012-R1`) and linked to it (`replaces`).

`rebill_candidates` is the selection behind the `rebill` command and page: the issued bills of a period
whose reads were corrected by an import and no longer add up to what the bill charged, and no other.
Everything here is audited and raises BillingError when it refuses.
"""

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import TruncMonth
from django.utils import timezone

from accounts.models import Customer
from accounts.services import audit_record
from metering.models import ReadCorrection
from metering.selectors import usage_totals

from .account_services import ledger_post_bill
from .exceptions import BillingError
from .models import Bill, BillLine, LedgerEntry, RateSchedule
from .periods import days_in, period_end
from .pricing import PricedBill, price
from .services import DUE_DAYS, _issue_day, _lock_period

REASON_MAX = 500
_REBILL_NUMBER = re.compile(r"^(?P<root>.+?)(?:-R(?P<n>\d+))?$")


@dataclass(frozen=True)
class RebillChange:
    """An issued bill and what it would be from today's reads, at its own rate version."""

    bill: Bill
    usage_ccf: Decimal
    days_read: int
    priced: PricedBill

    @property
    def difference(self) -> Decimal:
        return self.priced.total - self.bill.total_amount

    def describe(self) -> str:
        bill = self.bill
        return (
            f"{bill.number} ({bill.customer.location_id}): {bill.usage_ccf:.4f} → {self.usage_ccf:.4f} CCF"
            f"{_days_text(bill.days_read, self.days_read)}, ${bill.total_amount:,.2f} → ${self.priced.total:,.2f} "
            f"({_signed(self.difference)})"
        )


@dataclass
class RebillReport:
    period: datetime.date
    changes: list[RebillChange] = field(default_factory=list)
    rebilled: list[tuple[Bill, Bill]] = field(default_factory=list)  # (cancelled, corrected)
    unknown_locations: list[str] = field(default_factory=list)
    unchanged_locations: list[str] = field(default_factory=list)
    dry_run: bool = False

    def summary(self) -> str:
        count = len(self.changes)
        verb = "would rebill" if self.dry_run else "rebilled"
        difference = sum((c.difference for c in self.changes), Decimal("0.00"))
        text = f"{self.period:%Y-%m}: {verb} {count} bill{'' if count == 1 else 's'} ({_signed(difference)} in total)"
        if self.unchanged_locations:
            text += f"; {len(self.unchanged_locations)} location(s) without a changed bill"
        if self.unknown_locations:
            text += f"; unknown location(s): {', '.join(self.unknown_locations)}"
        return text


def _signed(amount: Decimal) -> str:
    return f"+${amount:,.2f}" if amount >= 0 else f"−${-amount:,.2f}"


def _days_text(before: int, after: int) -> str:
    return f", {before} → {after} days read" if before != after else ""


# --- Selection ---------------------------------------------------------------------------------------


def rebill_candidates(*, period: datetime.date, location_ids=None) -> list[RebillChange]:
    """Issued bills of the period with a corrected read in it whose usage or days read no longer match
    the reads, repriced with their own rate version; by location. Four queries whatever the period's size.

    A read correction recorded before the bill was priced is already in it (the figures match), so it is
    not a change; a read that arrived late for a day that had none is not a correction (SPEC §2a)."""
    end = period_end(period)
    corrected = ReadCorrection.objects.filter(read_date__range=(period, end))
    if location_ids is not None:
        corrected = corrected.filter(customer__location_id__in=list(location_ids))
    bills = list(
        Bill.objects.issued()
        .filter(period=period, customer_id__in=corrected.values("customer_id"))
        .select_related("customer")
        .order_by("customer__location_id")
    )
    totals = usage_totals(start=period, end=end, customer_ids=[bill.customer_id for bill in bills])
    plans = _plans({bill.rate_schedule_id for bill in bills})
    changes = []
    for bill in bills:
        usage, days = totals.get(bill.customer_id, (Decimal("0"), 0))
        if usage == bill.usage_ccf and days == bill.days_read:
            continue
        changes.append(RebillChange(bill, usage, days, price(usage, plans[bill.rate_schedule_id], period.month)))
    return changes


def periods_with_corrections(*, limit: int = 12) -> list[tuple[datetime.date, int]]:
    """[(period, bills to rebill)] for the latest periods where an issued bill's reads were corrected and
    the bill no longer matches them, newest first (what the rebill page offers)."""
    issued = Bill.objects.issued().filter(customer_id=OuterRef("customer_id"), period=OuterRef("month"))
    months = (
        ReadCorrection.objects.annotate(month=TruncMonth("read_date"))
        .filter(Exists(issued))
        .values_list("month", flat=True)
        .distinct()
        .order_by("-month")[:limit]
    )
    found = [(month, len(rebill_candidates(period=month))) for month in months]
    return [(month, count) for month, count in found if count]


def _plans(schedule_ids) -> dict:
    schedules = RateSchedule.objects.filter(pk__in=schedule_ids).prefetch_related("tiers", "multipliers", "fees")
    return {schedule.pk: schedule.to_plan() for schedule in schedules}


def rebill_preview(*, bill: Bill) -> RebillChange:
    """What a corrected bill for this one would be from today's reads (whether or not they changed)."""
    totals = usage_totals(start=bill.period, end=period_end(bill.period), customer_ids=[bill.customer_id])
    usage, days = totals.get(bill.customer_id, (Decimal("0"), 0))
    plan = _plans([bill.rate_schedule_id])[bill.rate_schedule_id]
    return RebillChange(bill, usage, days, price(usage, plan, bill.period.month))


# --- Cancel ------------------------------------------------------------------------------------------


def bill_cancel(
    *, bill: Bill, reason: str, actor=None, actor_label: str = "", on: datetime.date | None = None, today=None
) -> Bill:
    """Cancel an issued bill: it is kept, marked cancelled, and a CANCELLATION entry dated `on` (today by
    default) reverses its total. Refused for a draft, a bill cancelled before, or a date out of range."""
    today = today or timezone.localdate()
    on = on or today
    reason = _clean_reason(reason)
    with transaction.atomic():
        bill = _cancel(bill, reason=reason, on=on, today=today, actor=actor, actor_label=actor_label)
    return bill


def _clean_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise BillingError("Say why the bill is cancelled: the reason is kept with it and shown to the customer.")
    if len(reason) > REASON_MAX:
        raise BillingError(f"Keep the reason under {REASON_MAX} characters.")
    return reason


def _cancel(bill: Bill, *, reason: str, on, today, actor, actor_label) -> Bill:
    bill = Bill.objects.select_for_update().select_related("customer").get(pk=bill.pk)
    _check_cancellable(bill, on=on, today=today)
    now = timezone.now()
    # The claim is one UPDATE on an issued bill: a second cancel, even a racing one, finds nothing to claim.
    claimed = Bill.objects.filter(pk=bill.pk, status=Bill.Status.ISSUED).update(
        status=Bill.Status.CANCELLED, cancelled_at=now, cancel_reason=reason, updated_at=now
    )
    if not claimed:
        raise BillingError(f"Bill {bill.number} was already cancelled.")
    bill.status, bill.cancelled_at, bill.cancel_reason = Bill.Status.CANCELLED, now, reason
    try:
        with transaction.atomic():
            LedgerEntry.objects.create(
                customer=bill.customer,
                entry_date=on,
                amount=-bill.total_amount,
                kind=LedgerEntry.Kind.CANCELLATION,
                bill=bill,
                note=reason,
                created_by=_login(actor),
                actor_label=_label(actor, actor_label),
            )
    except IntegrityError:  # the one-cancellation-per-bill constraint: cancelled meanwhile
        raise BillingError(f"Bill {bill.number} was already cancelled.") from None
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="bill.cancel",
        target=bill,
        customer=bill.customer,
        summary=f"Cancelled bill {bill.number} (${bill.total_amount:,.2f}): {reason}"[:500],
        changes={"status": ["issued", "cancelled"], "reason": reason, "entry_date": f"{on:%Y-%m-%d}"},
    )
    return bill


def _check_cancellable(bill: Bill, *, on: datetime.date, today: datetime.date) -> None:
    if bill.status == Bill.Status.CANCELLED:
        when = f" on {timezone.localtime(bill.cancelled_at):%Y-%m-%d}" if bill.cancelled_at else ""
        raise BillingError(f"Bill {bill.number} was already cancelled{when}: a bill is cancelled once.")
    if bill.status != Bill.Status.ISSUED:
        raise BillingError("Only issued bills are cancelled; a draft is simply recomputed by the next bill run.")
    if on > today:
        raise BillingError(f"The cancellation date {on:%Y-%m-%d} is in the future.")
    if on < bill.issue_date:
        raise BillingError(
            f"Bill {bill.number} was issued on {bill.issue_date:%Y-%m-%d}: it cannot be cancelled before."
        )


def _login(actor):
    return actor if actor is not None and actor.is_authenticated else None


def _label(actor, actor_label: str) -> str:
    return actor_label or (actor.email if _login(actor) else "system")


# --- Rebill ------------------------------------------------------------------------------------------


def bill_rebill(
    *, bill: Bill, reason: str, actor=None, actor_label: str = "", issue_date: datetime.date | None = None, today=None
) -> Bill:
    """Cancel an issued bill and issue its corrected bill from today's reads (one transaction, under the
    period's lock). Returns the corrected bill."""
    today = today or timezone.localdate()
    issue_date = _issue_day(bill.period, issue_date or today, today)
    reason = _clean_reason(reason)
    with transaction.atomic():
        _lock_period(bill.period)
        change = rebill_preview(bill=bill)
        new = _rebill(change, reason=reason, issue_date=issue_date, today=today, actor=actor, label=actor_label)
        ledger_post_bill(period=bill.period, actor=actor, actor_label=actor_label or "billing.rebill")
    return new


def period_rebill(
    *,
    period: datetime.date,
    location_ids=None,
    issue_date: datetime.date | None = None,
    dry_run: bool = False,
    actor=None,
    actor_label: str = "",
    today=None,
) -> RebillReport:
    """The `rebill` command and page: cancel and reissue every issued bill of the period whose reads were
    corrected since it was priced (only those of `location_ids` when given). dry_run changes nothing."""
    today = today or timezone.localdate()
    issue_date = _issue_day(period, issue_date or today, today)
    report = RebillReport(period=period, dry_run=dry_run)
    if location_ids is not None:
        location_ids = _check_locations(report, location_ids)
    with transaction.atomic():
        if not dry_run:
            _lock_period(period)
        report.changes = rebill_candidates(period=period, location_ids=location_ids)
        changed = {change.bill.customer.location_id for change in report.changes}
        report.unchanged_locations = [loc for loc in location_ids or [] if loc not in changed]
        if dry_run:
            return report
        reason = f"Meter reads of {period:%Y-%m} corrected after the bill was issued"
        for change in report.changes:
            new = _rebill(change, reason=reason, issue_date=issue_date, today=today, actor=actor, label=actor_label)
            report.rebilled.append((change.bill, new))
        if report.rebilled:
            ledger_post_bill(period=period, actor=actor, actor_label=actor_label or "billing.rebill")
            audit_record(
                actor=actor,
                actor_label=actor_label,
                action="billing.rebill",
                summary=report.summary()[:500],
                changes={"period": f"{period:%Y-%m}", "bills": [old.number for old, _ in report.rebilled][:1000]},
            )
    return report


def _check_locations(report: RebillReport, location_ids) -> list[str]:
    wanted = sorted({str(loc).strip() for loc in location_ids if str(loc).strip()})
    known = set(Customer.objects.filter(location_id__in=wanted).values_list("location_id", flat=True))
    report.unknown_locations = [loc for loc in wanted if loc not in known]
    return [loc for loc in wanted if loc in known]


def _rebill(change: RebillChange, *, reason, issue_date, today, actor, label) -> Bill:
    old = _cancel(change.bill, reason=reason, on=issue_date, today=today, actor=actor, actor_label=label)
    new = _issue_corrected(old, change, issue_date=issue_date)
    audit_record(
        actor=actor,
        actor_label=label,
        action="bill.rebill",
        target=new,
        customer=new.customer,
        summary=f"Issued {new.number} replacing {old.number}: ${old.total_amount:,.2f} → ${new.total_amount:,.2f}",
        changes={
            "replaces": old.number,
            "usage_ccf": [f"{old.usage_ccf:.4f}", f"{new.usage_ccf:.4f}"],
            "total_amount": [f"{old.total_amount:.2f}", f"{new.total_amount:.2f}"],
            "rate_schedule": new.rate_schedule_id,
        },
    )
    return new


def _issue_corrected(old: Bill, change: RebillChange, *, issue_date: datetime.date) -> Bill:
    now = timezone.now()
    priced = change.priced
    new = Bill.objects.create(
        customer=old.customer,
        period=old.period,
        status=Bill.Status.ISSUED,
        number=rebill_number(old.number),
        issue_date=issue_date,
        due_date=issue_date + datetime.timedelta(days=DUE_DAYS),
        usage_ccf=change.usage_ccf,
        days_read=change.days_read,
        days_in_period=days_in(old.period),
        usage_charge=priced.usage_charge,
        fees=priced.fees_total,
        total_amount=priced.total,
        rate_schedule_id=old.rate_schedule_id,  # the original's version, whatever is in effect now
        replaces=old,
        created_at=now,
        updated_at=now,
    )
    BillLine.objects.bulk_create(
        BillLine(
            bill=new,
            position=position,
            kind=line.kind,
            code=line.code,
            label=line.label,
            quantity=line.quantity,
            rate=line.rate,
            amount=line.amount,
        )
        for position, line in enumerate(priced.lines)
    )
    return new


def rebill_number(number: str) -> str:
    """The corrected bill's number names the original: HS-202507-000012 → -R1, its correction → -R2."""
    match = _REBILL_NUMBER.match(number)
    return f"{match['root']}-R{int(match['n'] or 0) + 1}"
