"""Writes for anomalies: detection runs (bulk upsert of findings), reviews, and the Operations digest."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import CharField, FloatField
from django.db.models.constants import OnConflict
from django.db.models.functions import Cast
from django.utils import timezone

from accounts.roles import user_can
from accounts.services import audit_record
from metering.selectors import reads_frame

from . import methods as rules
from .exceptions import AnomalyError
from .incident_services import incidents_sync
from .locks import detection_lock
from .models import Anomaly, DetectionRun, Method, Resolution, Status
from .notifications import detection_notify

log = logging.getLogger(__name__)
BATCH = 2_000
STORED_PLACES = 6  # mean_ccf and std_ccf decimal places


def find(method: str, frame: pd.DataFrame) -> pd.DataFrame:
    """The findings of one method over a frame of reads (the pure rule, with the project's settings)."""
    if method == Method.ZSCORE:
        return rules.zscore(frame, settings.ANOMALY_ZSCORE_FACTOR)
    if method == Method.ROLLING:
        return rules.rolling(frame, settings.ANOMALY_ZSCORE_FACTOR)
    if method == Method.LEAK:
        return rules.leak(frame)
    raise AnomalyError(f"Unknown detection method {method!r}; choose from {', '.join(Method.values)}.")


def anomalies_detect(
    *,
    methods: Iterable[str] = tuple(Method.values),
    actor=None,
    actor_label: str = "",
    notify: bool = True,
    progress: Callable[[str], None] = log.info,
    claimed: list[DetectionRun] | None = None,
) -> list[DetectionRun]:
    """Run each method over all stored reads, record what it finds (new days created, known days
    refreshed, reviews untouched, open days the rule no longer finds withdrawn), then email one digest
    to Operations. Returns the runs. `claimed`: runs queued by detection_queue and claimed by its task
    (their methods are the ones run)."""
    methods = [run.method for run in claimed] if claimed else list(dict.fromkeys(methods))
    for method in methods:
        if method not in Method.values:
            raise AnomalyError(f"Unknown detection method {method!r}; choose from {', '.join(Method.values)}.")
    progress("Loading reads…")
    frame = reads_frame()
    progress(f"{len(frame):,} reads of {frame['customer_id'].nunique():,} customers loaded.")
    given = {run.method: run for run in claimed or []}
    runs = [
        _run_one(method, frame, actor=actor, actor_label=actor_label, progress=progress, run=given.get(method))
        for method in methods
    ]
    progress("Updating incidents…")
    with detection_lock():
        counts = incidents_sync(reads=frame)
    progress(f"Incidents: {counts['created']:,} new, {counts['updated']:,} updated, {counts['removed']:,} removed.")
    for run in runs:
        run.incidents = counts  # for the command's summary (not stored: incidents span every method)
    if notify:
        detection_notify(runs=runs)
    return runs


def _run_one(method: str, frame: pd.DataFrame, *, actor, actor_label: str, progress, run=None) -> DetectionRun:
    label = actor_label or (actor.email if actor is not None else "system")
    if run is None:
        run = DetectionRun.objects.create(
            method=method, started_at=timezone.now(), triggered_by=actor, actor_label=label
        )
    try:
        findings = find(method, frame)
        progress(f"{method}: {len(findings):,} anomalous days found; saving…")
        created, withdrawn = _store(run, findings)
    except Exception as exc:
        DetectionRun.objects.filter(pk=run.pk).update(
            state=DetectionRun.State.FAILED, finished_at=timezone.now(), error=repr(exc)[:2000]
        )
        raise
    run.state = DetectionRun.State.FINISHED
    run.finished_at = timezone.now()
    run.customers_assessed = findings.attrs["customers_assessed"]
    run.reads_assessed = findings.attrs["reads_assessed"]
    run.found, run.created, run.withdrawn = len(findings), created, withdrawn
    run.save()
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="anomaly.detect",
        target=run,
        summary=f"{method}: {run.found} anomalous days, {created} new, {withdrawn} withdrawn",
        changes={"found": run.found, "created": created, "withdrawn": withdrawn},
    )
    progress(f"{method}: {created:,} new, {withdrawn:,} withdrawn.")
    return run


def _store(run: DetectionRun, findings: pd.DataFrame) -> tuple[int, int]:
    """Insert new days, refresh changed figures of known days, withdraw open days no longer found.
    Reviews (status, resolution, note, reviewer) are never written here. Returns (created, withdrawn):
    created counts the rows THIS run inserted (their run is this one), so a detection running at the same
    time never makes both report the same days as new; the lock makes the second see the first's rows."""
    with detection_lock():
        return _store_locked(run, findings)


def _store_locked(run: DetectionRun, findings: pd.DataFrame) -> tuple[int, int]:
    found = _rounded(findings)
    stored = _stored_frame(run.method)
    merged = found.merge(stored, on=["customer_id", "date"], how="outer", suffixes=("", "_old"), indicator=True)
    new = merged[merged["_merge"] == "left_only"]
    both = merged[merged["_merge"] == "both"]
    changed = both[
        (both["usage_ccf"] != both["usage_ccf_old"])
        | (both["mean"] != both["mean_old"])
        | (both["std"] != both["std_old"])
    ]
    gone = merged[(merged["_merge"] == "right_only") & (merged["status"] == Status.OPEN)]
    now = timezone.now()
    _insert(new, run, now)
    _refresh(changed)
    gone_ids = gone["id"].astype(np.int64).tolist()
    for start in range(0, len(gone_ids), BATCH):
        Anomaly.objects.filter(pk__in=gone_ids[start : start + BATCH], status=Status.OPEN).delete()
    return Anomaly.objects.filter(run=run).count(), len(gone_ids)


def _rounded(findings: pd.DataFrame) -> pd.DataFrame:
    """Findings as they will be stored: usage to 4 places, mean and std to 6, dates as days."""
    return pd.DataFrame(
        {
            "customer_id": findings["customer_id"].astype(np.int64),
            "date": findings["date"].dt.strftime("%Y-%m-%d"),
            "usage_ccf": findings["usage_ccf"].round(4),
            "mean": findings["mean"].round(STORED_PLACES),
            "std": findings["std"].round(STORED_PLACES),
        }
    )


def _stored_frame(method: str) -> pd.DataFrame:
    """The method's recorded days (id, customer_id, ISO date, usage, mean, std, status), fetched as plain
    numbers and text: building a Decimal and a date object per row costs seconds at 100,000 rows."""
    queryset = Anomaly.objects.filter(method=method).values_list(
        "id",
        "customer_id",
        Cast("date", CharField()),
        *(Cast(field, FloatField()) for field in ("usage_ccf", "mean_ccf", "std_ccf")),
        "status",
    )
    columns = ["id", "customer_id", "date", "usage_ccf", "mean", "std", "status"]
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return pd.DataFrame(columns=columns)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        stored = pd.DataFrame.from_records(cursor.fetchall(), columns=columns)
    for column in ("usage_ccf", "mean", "std"):
        stored[column] = stored[column].astype(np.float64).round(4 if column == "usage_ccf" else STORED_PLACES)
    stored["customer_id"] = stored["customer_id"].astype(np.int64)
    stored["date"] = stored["date"].astype(str).str.slice(0, 10)
    return stored


def _insert(new: pd.DataFrame, run: DetectionRun, now) -> None:
    """Insert new days with one prepared statement (executemany): the ORM's per-object work costs
    seconds for the tens of thousands of days a first run finds. A day a concurrent run inserted
    meanwhile is skipped (the unique constraint), never duplicated."""
    if new.empty:
        return
    ops = connection.ops
    columns = ["customer_id", "date", "method", "usage_ccf", "mean_ccf", "std_ccf", "detected_at", "run_id", "status"]
    columns += ["resolution", "note"]
    fields = [Anomaly._meta.get_field(c.removesuffix("_id") if c.endswith("_id") else c) for c in columns]
    sql = (
        f"{ops.insert_statement(on_conflict=OnConflict.IGNORE)} {ops.quote_name(Anomaly._meta.db_table)} "
        f"({', '.join(ops.quote_name(c) for c in columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
        + ops.on_conflict_suffix_sql(fields, OnConflict.IGNORE, None, None)
    )
    detected_at = ops.adapt_datetimefield_value(now)
    usage, mean, std = _figures(new)
    rows = [
        (customer, day, run.method, u, m, sd, detected_at, run.pk, Status.OPEN.value, "", "")
        for customer, day, u, m, sd in zip(
            new["customer_id"].astype(np.int64).tolist(),
            new["date"].tolist(),  # ISO text: every backend parses it into the date column
            usage,
            mean,
            std,
            strict=True,
        )
    ]
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH * 5):
            cursor.executemany(sql, rows[start : start + BATCH * 5])


def _figures(frame: pd.DataFrame) -> list[list[float]]:
    """Usage, mean and std as Python floats already rounded to the stored places: each backend writes
    the shortest decimal of such a float, which is the rounded value itself (no per-row formatting)."""
    return [
        frame["usage_ccf"].round(4).tolist(),
        frame["mean"].round(STORED_PLACES).tolist(),
        frame["std"].round(STORED_PLACES).tolist(),
    ]


def _refresh(changed: pd.DataFrame) -> None:
    """Update usage, mean and std of known days whose figures moved (new or corrected reads)."""
    if changed.empty:
        return
    ops = connection.ops
    table = ops.quote_name(Anomaly._meta.db_table)
    sql = (
        f"UPDATE {table} SET {ops.quote_name('usage_ccf')} = %s, {ops.quote_name('mean_ccf')} = %s, "
        f"{ops.quote_name('std_ccf')} = %s WHERE {ops.quote_name('id')} = %s"
    )
    rows = list(zip(*_figures(changed), changed["id"].astype(np.int64).tolist(), strict=True))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH * 5):
            cursor.executemany(sql, rows[start : start + BATCH * 5])


# --- reviews ----------------------------------------------------------------------------------------


@transaction.atomic
def anomaly_review(*, anomaly: Anomaly, reviewer, resolution: str, note: str = "") -> Anomaly:
    """Operations mark an anomaly reviewed with a resolution and a note; who and when are kept."""
    return anomalies_review(anomalies=[anomaly], reviewer=reviewer, resolution=resolution, note=note)[0]


@transaction.atomic
def anomalies_review(*, anomalies: Iterable[Anomaly], reviewer, resolution: str, note: str = "") -> list[Anomaly]:
    """Review several anomalies at once with the same resolution and note (bulk resolve)."""
    if reviewer is None or not user_can(reviewer, "review_anomalies"):
        raise AnomalyError("Only Operations staff can review anomalies.")
    if resolution not in Resolution.values:
        raise AnomalyError(f"Choose a resolution: {', '.join(Resolution.labels)}.")
    anomalies = list(anomalies)
    if not anomalies:
        raise AnomalyError("Select at least one anomaly to resolve.")
    now = timezone.now()
    for anomaly in anomalies:
        before = {"status": anomaly.status, "resolution": anomaly.resolution, "note": anomaly.note}
        anomaly.status, anomaly.resolution, anomaly.note = Status.REVIEWED, resolution, note.strip()
        anomaly.reviewed_by, anomaly.reviewed_at = reviewer, now
        _audit_review(anomaly, reviewer, before)
    ids = [anomaly.pk for anomaly in anomalies]
    for start in range(0, len(ids), BATCH):  # the same values for all: one UPDATE per batch, no CASE per row
        Anomaly.objects.filter(pk__in=ids[start : start + BATCH]).update(
            status=Status.REVIEWED, resolution=resolution, note=note.strip(), reviewed_by=reviewer, reviewed_at=now
        )
    return anomalies


def _audit_review(anomaly: Anomaly, reviewer, before: dict) -> None:
    after = {"status": anomaly.status, "resolution": anomaly.resolution, "note": anomaly.note}
    audit_record(
        actor=reviewer,
        action="anomaly.review",
        target=anomaly,
        customer=anomaly.customer,
        summary=f"{anomaly.get_method_display()} anomaly of {anomaly.date:%Y-%m-%d}: "
        f"{anomaly.get_resolution_display()}",
        changes={field: [before[field], after[field]] for field in after if before[field] != after[field]},
    )
