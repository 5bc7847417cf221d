"""Writes for incidents (SPEC §3a): kept up to date from the day records by every detection, reviewed,
contacted and offered a leak allowance by Operations, the allowance credited (or declined) by Billing."""

from __future__ import annotations

import datetime
import logging
from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import CharField, FloatField
from django.db.models.functions import Cast
from django.utils import timezone

from accounts.models import Customer
from accounts.roles import user_can
from accounts.services import audit_record

from . import incidents as rules
from .exceptions import AnomalyError
from .models import Anomaly, Incident, IncidentContact, Resolution, Status

log = logging.getLogger(__name__)
FIGURES = ["start", "end", "days", "methods", "kind", "excess_ccf", "estimated_cost", "typical_month_ccf", "notify"]
NOTE_MAX = 2_000


# --- keeping incidents up to date ----------------------------------------------------------------------


def incidents_sync(*, reads: pd.DataFrame, now=None) -> dict[str, int]:
    """Make the stored incidents the runs of the stored days (call inside detection_lock). Idempotent: runs
    already stored as they are change nothing; a run that grew or joined another updates the one stored
    first (reviews, contacts, notices and offers kept); runs not seen before are created; open incidents
    whose days were all withdrawn, and nobody acted on, are removed. Returns the counts."""
    now = now or timezone.now()
    runs = rules.incidents(_days_frame())
    wanted = _figures(runs, reads)
    stored = _stored()
    matches = _match(wanted, stored)
    counts = {"created": 0, "updated": 0, "merged": 0, "removed": 0}
    matched_ids = set()
    creates, updates = [], []
    for index, figures in enumerate(wanted):
        group = matches.get(index, [])
        matched_ids.update(row["id"] for row in group)
        if not group:
            creates.append(figures)
            continue
        keep = min(group, key=lambda row: (row["status"] != Status.REVIEWED, row["id"]))
        if len(group) > 1:
            _merge(keep["id"], [row["id"] for row in group if row is not keep])
            counts["merged"] += len(group) - 1
        if any(keep[field] != figures[field] for field in FIGURES):
            updates.append((keep["id"], figures))
    _insert(creates, now)
    _update(updates, now)
    counts["created"], counts["updated"] = len(creates), len(updates)
    counts["removed"] = _remove_unseen([row["id"] for row in stored if row["id"] not in matched_ids])
    return counts


def _stored() -> list[dict]:
    """The stored incidents' figures as the sync compares them, fetched with one raw query: the ORM's
    Decimal and date converters cost seconds at 100,000 incidents."""
    columns = ["id", "customer_id", "status", *FIGURES]
    queryset = Incident.objects.order_by("customer_id", "start").values_list(*columns)
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return []
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [_typed(dict(zip(columns, row, strict=True))) for row in rows]


def _typed(row: dict) -> dict:
    for field in ("start", "end"):
        if not isinstance(row[field], datetime.date):
            row[field] = datetime.date.fromisoformat(str(row[field])[:10])
    for field, places in (("excess_ccf", 4), ("estimated_cost", 2), ("typical_month_ccf", 4)):
        row[field] = Decimal(str(row[field])).quantize(Decimal(1).scaleb(-places))
    row["notify"] = bool(row["notify"])
    return row


def _db_value(figure):
    ops = connection.ops
    if isinstance(figure, Decimal):
        return ops.adapt_decimalfield_value(figure, 14, 4)
    return ops.adapt_datefield_value(figure) if isinstance(figure, datetime.date) else figure


def _execute_many(sql: str, rows: list) -> None:
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 5_000):
            cursor.executemany(sql, rows[start : start + 5_000])


# Written by every insert: the figures, the times and the empty review and offer (no database defaults).
INSERTED = [
    "customer_id",
    *FIGURES,
    "detected_at",
    "updated_at",
    "status",
    "resolution",
    "note",
    "allowance",
    "allowance_note",
]


def _insert(creates: list[dict], now) -> None:
    """Insert new incidents with one prepared statement (executemany): bulk_create's per-object work costs
    seconds for the ten thousand incidents of a first detection."""
    if not creates:
        return
    ops = connection.ops
    sql = (
        f"INSERT INTO {ops.quote_name(Incident._meta.db_table)} ({', '.join(ops.quote_name(c) for c in INSERTED)}) "
        f"VALUES ({', '.join(['%s'] * len(INSERTED))})"
    )
    stamp = ops.adapt_datetimefield_value(now)
    tail = [stamp, stamp, Status.OPEN.value, "", "", "", ""]
    _execute_many(
        sql, [[figures["customer_id"], *(_db_value(figures[f]) for f in FIGURES), *tail] for figures in creates]
    )


def _update(updates: list[tuple[int, dict]], now) -> None:
    """Write the changed figures with one prepared statement (executemany): bulk_update's CASE per row
    takes minutes on SQLite for ten thousand incidents."""
    if not updates:
        return
    ops = connection.ops
    columns = [*FIGURES, "updated_at"]
    sql = (
        f"UPDATE {ops.quote_name(Incident._meta.db_table)} SET "
        + ", ".join(f"{ops.quote_name(c)} = %s" for c in columns)
        + f" WHERE {ops.quote_name('id')} = %s"
    )
    stamp = ops.adapt_datetimefield_value(now)
    _execute_many(sql, [[*(_db_value(figures[f]) for f in FIGURES), stamp, pk] for pk, figures in updates])


def _days_frame() -> pd.DataFrame:
    """Every recorded day (customer_id, date, method, usage_ccf, mean) fetched as plain numbers and text."""
    queryset = Anomaly.objects.values_list(
        "customer_id",
        Cast("date", CharField()),
        "method",
        Cast("usage_ccf", FloatField()),
        Cast("mean_ccf", FloatField()),
    )
    columns = ["customer_id", "date", "method", "usage_ccf", "mean"]
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return pd.DataFrame(columns=columns)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        frame = pd.DataFrame.from_records(cursor.fetchall(), columns=columns)
    frame["date"] = pd.to_datetime(frame["date"].astype(str).str.slice(0, 10))
    return frame


def _figures(runs: pd.DataFrame, reads: pd.DataFrame) -> list[dict]:
    """The stored fields of each run: its extent, kind, excess, cost at the customer's rate, who is told."""
    if runs.empty:
        return []
    customers = runs["customer_id"].unique().tolist()
    typical = rules.typical_month_before(reads[reads["customer_id"].isin(customers)], runs)
    types = pd.Series(dict(Customer.objects.filter(pk__in=customers).values_list("pk", "customer_type")))
    cents = rules.incident_costs(runs, typical, types, _plan_lookup())
    typical_of_run = typical.tolist()
    return [
        {
            "customer_id": int(row.customer_id),
            "start": row.start,
            "end": row.end,
            "days": int(row.days),
            "methods": row.methods,
            "kind": row.kind,
            "excess_ccf": rules.units_to_ccf(row.excess_units),
            "estimated_cost": rules.cents_to_money(cost),
            "typical_month_ccf": rules.units_to_ccf(month),
            "notify": rules.notify_customer(row.kind, row.excess_units, month),
        }
        for row, cost, month in zip(runs.itertuples(index=False), cents, typical_of_run, strict=True)
    ]


def _plan_lookup():
    """plan_for(customer_type, month) through billing's one pricing rule, each period looked up once."""
    from billing.exceptions import BillingError
    from billing.models import RateSchedule
    from billing.pricing import RatePlan, Tier
    from billing.selectors import rate_plan_for

    plans: dict[tuple[str, datetime.date], RatePlan] = {}
    free = RatePlan(tiers=(Tier(None, Decimal("0")),), multipliers={}, fees=())
    # Versions change on their effective dates only: a month's plan is that of the last change before it,
    # so years of incidents need a lookup per rate change, not per month.
    changes = sorted(set(RateSchedule.objects.values_list("effective_from", flat=True)))

    def plan_for(customer_type: str, month: datetime.date) -> RatePlan:
        earlier = [day for day in changes if day <= month]
        key = (customer_type, earlier[-1] if earlier else month)
        if key not in plans:
            try:
                plans[key] = rate_plan_for(customer_type=customer_type, period_start=key[1])
            except BillingError:  # no rate in effect (history before the first schedule): no cost to show
                log.warning("No rate schedule for %s customers in %s: incidents there cost 0", customer_type, month)
                plans[key] = free
        return plans[key]

    return plan_for


def _match(wanted: list[dict], stored: list[dict]) -> dict[int, list[dict]]:
    """{index of a wanted run: the stored incidents overlapping it}. Stored incidents of one customer never
    overlap each other, so each belongs to at most one run: the last run starting on or before its end."""
    if not wanted or not stored:
        return {}
    span = 1 << 20  # days: keys customer·span + day keep customers apart
    origin = datetime.date(1900, 1, 1)

    def key(customer, day):
        return customer * span + (day - origin).days

    starts = np.array([key(w["customer_id"], w["start"]) for w in wanted], dtype=np.int64)
    ends = np.array([key(w["customer_id"], w["end"]) for w in wanted], dtype=np.int64)
    matches: dict[int, list[dict]] = {}
    for row in stored:
        j = int(np.searchsorted(starts, key(row["customer_id"], row["end"]), side="right")) - 1
        if (
            j >= 0
            and wanted[j]["customer_id"] == row["customer_id"]
            and ends[j] >= key(row["customer_id"], row["start"])
        ):
            matches.setdefault(j, []).append(row)
    return matches


def _merge(keep_id: int, other_ids: list[int]) -> None:
    """Incidents that one run now joins become the kept one: contacts move to it, and a notice, digest or
    allowance offer of the others is kept where the kept one has none."""
    keep = Incident.objects.get(pk=keep_id)
    IncidentContact.objects.filter(incident_id__in=other_ids).update(incident_id=keep_id)
    for other in Incident.objects.filter(pk__in=other_ids).order_by("pk"):
        keep.customer_emailed_at = keep.customer_emailed_at or other.customer_emailed_at
        keep.digest_id = keep.digest_id or other.digest_id
        if not keep.allowance and other.allowance:
            for field in ("allowance", "allowance_amount", "allowance_note", "allowance_offered_by_id"):
                setattr(keep, field, getattr(other, field))
            keep.allowance_decided_by_id, keep.allowance_entry_id = (
                other.allowance_decided_by_id,
                other.allowance_entry_id,
            )
    keep.save()
    Incident.objects.filter(pk__in=other_ids).delete()


def _remove_unseen(ids: list[int]) -> int:
    """Remove open incidents no day backs any more (corrected reads), unless someone acted on them."""
    if not ids:
        return 0
    removable = Incident.objects.filter(pk__in=ids, status=Status.OPEN, allowance="", contacts__isnull=True)
    count, _ = Incident.objects.filter(pk__in=list(removable.values_list("pk", flat=True))).delete()
    return count


# --- what people do with an incident -------------------------------------------------------------------


def _require_operations(user) -> None:
    if user is None or not user_can(user, "review_anomalies"):
        raise AnomalyError("Only Operations staff can review incidents.")


@transaction.atomic
def incidents_review(*, incidents, reviewer, resolution: str, note: str = "") -> list[Incident]:
    """Resolve incidents with a resolution and a note; their open days are reviewed the same way."""
    from .services import anomalies_review

    _require_operations(reviewer)
    if resolution not in Resolution.values:
        raise AnomalyError(f"Choose a resolution: {', '.join(Resolution.labels)}.")
    incidents = list(incidents)
    if not incidents:
        raise AnomalyError("Select at least one incident to resolve.")
    now, note = timezone.now(), note.strip()[:NOTE_MAX]
    for incident in incidents:
        before = [incident.status, incident.resolution, incident.note]
        incident.status, incident.resolution, incident.note = Status.REVIEWED, resolution, note
        incident.reviewed_by, incident.reviewed_at = reviewer, now
        audit_record(
            actor=reviewer,
            action="incident.review",
            target=incident,
            customer=incident.customer,
            summary=f"{incident}: {incident.get_resolution_display()}",
            changes={
                "status": [before[0], incident.status],
                "resolution": [before[1], resolution],
                "note": [before[2], note],
            },
        )
        days = Anomaly.objects.filter(
            customer_id=incident.customer_id, date__range=(incident.start, incident.end), status=Status.OPEN
        ).select_related("customer")
        if days:
            anomalies_review(anomalies=days, reviewer=reviewer, resolution=resolution, note=note)
    Incident.objects.filter(pk__in=[i.pk for i in incidents]).update(
        status=Status.REVIEWED, resolution=resolution, note=note, reviewed_by=reviewer, reviewed_at=now
    )
    return incidents


@transaction.atomic
def incident_contact_record(*, incident: Incident, user, channel: str, note: str) -> IncidentContact:
    """Operations record that they contacted the customer about the incident (how and what was said)."""
    _require_operations(user)
    if channel not in IncidentContact.Channel.values:
        raise AnomalyError(f"Choose how you contacted the customer: {', '.join(IncidentContact.Channel.labels)}.")
    note = (note or "").strip()
    if not note:
        raise AnomalyError("Say what you told the customer or what they said.")
    contact = IncidentContact.objects.create(
        incident=incident, channel=channel, note=note[:NOTE_MAX], contacted_at=timezone.now(), contacted_by=user
    )
    audit_record(
        actor=user,
        action="incident.contact",
        target=incident,
        customer=incident.customer,
        summary=f"{incident}: {contact.get_channel_display()}",
        changes={"channel": channel, "note": note},
    )
    return contact


def _amount(value) -> Decimal:
    try:
        amount = Decimal(str(value).strip().lstrip("$").replace(",", ""))
    except (InvalidOperation, ValueError):
        raise AnomalyError("Give the allowance as an amount in dollars, e.g. 42.50.") from None
    if not amount.is_finite() or amount <= 0 or amount != amount.quantize(Decimal("0.01")):
        raise AnomalyError("The allowance is a positive amount of whole cents.")
    return amount


@transaction.atomic
def incident_allowance_offer(*, incident: Incident, user, amount, note: str = "") -> Incident:
    """Operations offer a leak allowance on a leak incident: a credit Billing then posts (or declines).
    Only Billing posts to the account (SPEC §5), so the offer waits on the incident for Billing."""
    _require_operations(user)
    incident = Incident.objects.select_for_update().select_related("customer").get(pk=incident.pk)
    if incident.kind != "leak":
        raise AnomalyError("A leak allowance is offered on leak incidents only.")
    if incident.allowance in (Incident.Allowance.OFFERED, Incident.Allowance.POSTED):
        raise AnomalyError(f"This incident's allowance is already {incident.get_allowance_display().lower()}.")
    incident.allowance, incident.allowance_amount = Incident.Allowance.OFFERED, _amount(amount)
    incident.allowance_note, incident.allowance_offered_by = (note or "").strip()[:NOTE_MAX], user
    incident.allowance_decided_by = None
    incident.save(
        update_fields=[
            "allowance",
            "allowance_amount",
            "allowance_note",
            "allowance_offered_by",
            "allowance_decided_by",
        ]
    )
    audit_record(
        actor=user,
        action="incident.allowance_offer",
        target=incident,
        customer=incident.customer,
        summary=f"{incident}: leak allowance of ${incident.allowance_amount} offered",
        changes={"amount": f"{incident.allowance_amount}", "note": incident.allowance_note},
    )
    return incident


@transaction.atomic
def incident_allowance_decide(*, incident: Incident, user, post: bool, note: str = "") -> Incident:
    """Billing credits the offered allowance to the account (billing's adjustment_record, reason
    leak_allowance) or declines it; either once."""
    from billing.exceptions import BillingError

    if user is None or not user_can(user, "manage_bills"):
        raise AnomalyError("Only Billing staff can credit or decline a leak allowance.")
    incident = Incident.objects.select_for_update().select_related("customer").get(pk=incident.pk)
    if incident.allowance != Incident.Allowance.OFFERED:
        raise AnomalyError("There is no pending allowance offer on this incident.")
    if post:
        from billing.adjustments import adjustment_record

        text = f"Leak allowance for the leak of {incident.start:%Y-%m-%d}–{incident.end:%Y-%m-%d}"
        text += f" ({incident.excess_ccf} CCF above usual). {note or incident.allowance_note}".rstrip()
        try:
            entry = adjustment_record(
                customer=incident.customer,
                amount=-incident.allowance_amount,
                reason="leak_allowance",
                note=text.strip(),
                actor=user,
            )
        except BillingError as error:
            raise AnomalyError(str(error)) from error
        incident.allowance, incident.allowance_entry = Incident.Allowance.POSTED, entry
    else:
        incident.allowance = Incident.Allowance.DECLINED
    incident.allowance_decided_by = user
    incident.save(update_fields=["allowance", "allowance_entry", "allowance_decided_by"])
    audit_record(
        actor=user,
        action="incident.allowance_decide",
        target=incident,
        customer=incident.customer,
        summary=f"{incident}: leak allowance {incident.get_allowance_display().lower()}",
        changes={"allowance": incident.allowance, "note": note},
    )
    return incident
