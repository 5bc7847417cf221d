"""Writes for metering: importing meter exports (SPEC §1). One code path for the command, the upload
page's background task and the demo seed.

An import reads the file in chunks and checks them with pandas (`parsing`), keeping only compact
arrays of the good reads; then, in one transaction holding the import lock, it creates or updates
the customers, compares the reads with what is stored and writes only what is new or corrected
(`bulk`). A file that cannot be used, or a crash, leaves the data as it was: run it again.
"""

from __future__ import annotations

import csv
import datetime
import itertools
import logging
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from django.core.files import File
from django.db import DatabaseError, transaction
from django.utils import timezone

from accounts.models import AuditEvent, Customer
from accounts.services import audit_event, audit_record
from hydrospark import runs
from hydrospark.spreadsheet import safe_csv

from . import bulk, partitions
from .exceptions import MeterImportError
from .models import ImportRun, ImportSource, ImportStatus, ReadCorrection
from .parsing import ATTRIBUTE_KEYS, HEADERS, REJECT_COLUMNS, Chunk, check_chunk, file_chunks, frame_chunks
from .progress import IMPORT_RUN, is_stalled, last_activity, progress_read, progress_write, stale_after
from .signals import reads_corrected, reads_imported, reads_importing

logger = logging.getLogger(__name__)

# progress(phase, rows, fraction): phase "reading" or "saving", rows done so far, share of the phase done.
Progress = Callable[[str, int, float], None]
ChunkSource = Callable[[], Iterator[Chunk]]
DAY_KEY_BITS = 23  # a (customer, day) pair packed in one int64: customer_id << 23 | (day + 2^21)


def _silent(phase: str, rows: int, fraction: float) -> None:
    pass


# --- Entry points -----------------------------------------------------------------------------------


def import_run_create(
    *,
    file_name: str,
    source: str,
    actor=None,
    actor_label: str = "",
    atomic: bool = False,
    file_size: int | None = None,
) -> ImportRun:
    label = actor_label or (actor.email if actor is not None and actor.is_authenticated else "system")
    return ImportRun.objects.create(
        file_name=file_name[:255],
        source=source,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_label=label,
        atomic=atomic,
        file_size=file_size,
    )


def meter_file_import(
    *, path: Path, actor=None, actor_label: str = "", atomic: bool = False, progress: Progress = _silent
) -> ImportRun:
    """Import a CSV or XLSX export from disk (the command's door). Returns the finished run."""
    path = Path(path)
    run = import_run_create(
        file_name=path.name,
        source=ImportSource.COMMAND,
        actor=actor,
        actor_label=actor_label,
        atomic=atomic,
        file_size=path.stat().st_size if path.is_file() else None,
    )
    if not path.is_file():
        return _finish_refused(run, MeterImportError(f"No such file: {path}"))
    return import_run_execute(run=run, chunks=lambda: file_chunks(path), progress=progress)


def meter_frames_import(
    *, frames: Callable[[], Iterable[pd.DataFrame]], name: str, actor_label: str, progress: Progress = _silent
) -> ImportRun:
    """Import frames in the export layout (generated demo data) exactly as a file would be."""
    run = import_run_create(file_name=name, source=ImportSource.COMMAND, actor_label=actor_label)
    return import_run_execute(run=run, chunks=lambda: frame_chunks(frames()), progress=progress)


def meter_upload_create(*, uploaded_file, actor, atomic: bool = False) -> ImportRun:
    """Keep an uploaded export under MEDIA_ROOT/imports/ and queue its import in the background."""
    run = import_run_create(
        file_name=Path(uploaded_file.name).name,
        source=ImportSource.UPLOAD,
        actor=actor,
        atomic=atomic,
        file_size=uploaded_file.size,
    )
    run.upload.save(f"run-{run.pk}{Path(uploaded_file.name).suffix.lower()}", uploaded_file, save=True)
    _enqueue(run)
    return run


def _enqueue(run: ImportRun) -> None:
    from .tasks import import_uploaded_file  # the task module imports this one

    transaction.on_commit(lambda: import_uploaded_file.enqueue(run_id=run.pk))


class _Abandoned(Exception):
    """The run was given up as stalled while this process still worked on it: it must write nothing."""


def import_run_execute(*, run: ImportRun, chunks: ChunkSource, progress: Progress = _silent) -> ImportRun:
    """Run a queued import; every outcome is recorded on `run`. Never raises for bad input or a crash
    midway: the run ends refused or failed with nothing changed, and can simply be run again.

    The run is claimed first (queued -> running, one UPDATE), so a task delivered twice imports once;
    each step leaves its progress in the cache, which is how the pages tell a stalled run."""
    claimed = runs.claim(IMPORT_RUN, run.pk)
    run.refresh_from_db()
    if not claimed:
        return run

    def step(phase: str, rows: int, fraction: float) -> None:
        progress_write(run.pk, phase, rows, fraction)
        progress(phase, rows, fraction)

    batch = None
    with tempfile.TemporaryDirectory(prefix="hydrospark-import-") as scratch:
        rejects_path = Path(scratch) / "rejects.csv"
        try:
            batch = _collect(chunks, today=timezone.localdate(), rejects_path=rejects_path, progress=step)
            if run.atomic and batch.rejected:
                raise MeterImportError(
                    f"{batch.rejected:,} of {batch.rows:,} rows were rejected and the import was atomic "
                    "(all or nothing)."
                )
            if len(batch.day):
                # PostgreSQL: the file's months get their partitions first, each in a short transaction of its
                # own: attaching one locks the default partition, which must not wait for the whole import.
                partitions.read_partitions_ensure_days(batch.day.min(), batch.day.max())
            with transaction.atomic(), bulk.import_lock():
                _save(run, batch, step)
        except _Abandoned:
            run.refresh_from_db()
            return run
        except MeterImportError as exc:
            return _finish_refused(run, exc, batch=batch, rejects_path=rejects_path) if _still_ours(run) else run
        except Exception as exc:
            logger.exception("Meter import #%s failed", run.pk)
            return _finish_failed(run, exc) if _still_ours(run) else run
        _keep_rejects(run, batch, rejects_path)
    return run


def _still_ours(run: ImportRun) -> bool:
    """False when the run was marked stalled meanwhile: its record then says so, and stays as it is."""
    if ImportRun.objects.filter(pk=run.pk, status=ImportStatus.RUNNING).exists():
        return True
    run.refresh_from_db()
    return False


# --- Stalled runs --------------------------------------------------------------------------------------


def _stalled_error(run: ImportRun, live: dict | None) -> str:
    minutes = int(stale_after().total_seconds() // 60)
    moved = last_activity(run, live)
    since = ""
    if moved is not None:
        moved = timezone.localtime(moved)
        since = f" (last at {moved:%b} {moved.day}, {moved:%H:%M})"
    return (
        f"It stalled: no progress for {minutes} minutes{since}, so the process importing it was stopped or "
        "restarted. An import writes everything in one transaction or nothing at all."
    )


def _give_up(run: ImportRun, live: dict | None, *, actor=None, actor_label: str = "") -> bool:
    """Mark a stalled run failed, if it is still running (one conditional UPDATE: a run that finished
    meanwhile stays as it is). Audited. Returns whether it was marked."""
    error = _stalled_error(run, live)
    marked = ImportRun.objects.filter(pk=run.pk, status=ImportStatus.RUNNING).update(
        status=ImportStatus.FAILED, error=error, finished_at=timezone.now()
    )
    run.refresh_from_db()
    if marked:
        audit_record(
            actor=actor, actor_label=actor_label, action="meter_import.stalled", target=run, summary=run.summary()
        )
    return bool(marked)


def import_runs_fail_stalled(*, actor=None, actor_label: str = "") -> list[ImportRun]:
    """Mark every stalled import failed (the fail_stalled_imports command): their status pages stop
    waiting, and the history says what happened. Returns the runs marked."""
    running = list(ImportRun.objects.filter(status=ImportStatus.RUNNING).order_by("id"))
    live = progress_read(running)
    now = timezone.now()
    stalled = [run for run in running if is_stalled(run, live.get(run.pk), now)]
    failed = [run for run in stalled if _give_up(run, live.get(run.pk), actor=actor, actor_label=actor_label)]
    runs.fail_lost_tasks(IMPORT_RUN, [run.pk for run in failed])  # the killed worker's task row too
    return failed + runs.fail_orphaned(IMPORT_RUN, actor_label=actor_label, now=now)


def import_retry_refusal(run: ImportRun, live: dict | None = None) -> str:
    """Why this run cannot be retried ("" when it can): only a stalled or failed upload whose file is
    still stored, and only once."""
    if run.source != ImportSource.UPLOAD or not run.upload:
        return f"Import #{run.pk} came from the import_usage command: run the command again."
    if run.status != ImportStatus.FAILED and not is_stalled(run, live):
        return f"Import #{run.pk} is {run.get_status_display().lower()}: only a stalled or failed import is retried."
    retry = run.retries.order_by("-id").first()
    if retry is not None:
        return f"Import #{run.pk} was already retried as import #{retry.pk}."
    if not run.upload.storage.exists(run.upload.name):
        return f"The file of import #{run.pk} is no longer stored: upload it again."
    return ""


def import_run_retry(*, run: ImportRun, actor) -> ImportRun:
    """Import a stalled or failed upload's stored file again, as a new run queued for the worker (the
    old run ends failed and says why). Raises MeterImportError when it cannot be retried."""
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().get(pk=run.pk)
        live = progress_read([run]).get(run.pk)
        refusal = import_retry_refusal(run, live)
        if refusal:
            raise MeterImportError(refusal)
        if run.status == ImportStatus.RUNNING and not _give_up(run, live, actor=actor):
            raise MeterImportError(f"Import #{run.pk} finished meanwhile: {run.summary()}")
        retry = import_run_create(
            file_name=run.file_name, source=ImportSource.UPLOAD, actor=actor, atomic=run.atomic, file_size=run.file_size
        )
        retry.upload.name, retry.retry_of = run.upload.name, run
        retry.save(update_fields=["upload", "retry_of"])
        audit_record(
            actor=actor,
            action="meter_import.retry",
            target=retry,
            summary=f"Import #{retry.pk} retries import #{run.pk} ({run.file_name}) from its stored file",
        )
        _enqueue(retry)
    return retry


def _finish_refused(
    run: ImportRun, exc: MeterImportError, *, batch: _Batch | None = None, rejects_path: Path | None = None
) -> ImportRun:
    run.status = ImportStatus.REFUSED
    run.error = str(exc)
    if batch is not None:
        run.rows_read, run.rows_rejected, run.encoding = batch.rows, batch.rejected, batch.encoding
        _keep_rejects(run, batch, rejects_path)
    run.started_at = run.started_at or timezone.now()
    run.finished_at = timezone.now()
    run.save()
    audit_record(
        actor=run.actor, actor_label=run.actor_label, action="meter_import.refused", target=run, summary=run.summary()
    )
    return run


def _finish_failed(run: ImportRun, exc: Exception) -> ImportRun:
    run.status = ImportStatus.FAILED
    run.error = _failure(exc)
    run.finished_at = timezone.now()
    try:
        ImportRun.objects.filter(pk=run.pk).update(status=run.status, error=run.error, finished_at=run.finished_at)
    except DatabaseError:  # a read-only or full database cannot record it either: the caller still hears why
        logger.exception("Meter import #%s: the failure could not be recorded", run.pk)
    return run


def _failure(exc: Exception) -> str:
    if isinstance(exc, DatabaseError):
        return (
            f"The database refused the write ({exc}): check that the database (its file and folder, on SQLite) "
            "is writable and has space, then run the import again."
        )
    return f"Unexpected error ({type(exc).__name__}: {exc}); run the import again."


def _keep_rejects(run: ImportRun, batch: _Batch, path: Path) -> None:
    """The rejected rows (line, reason and the row's values) as a CSV kept with the run."""
    if batch.rejected and path.exists():
        safe = path.with_name("rejects-safe.csv")
        _spreadsheet_safe_copy(path, safe)
        with safe.open("rb") as handle:
            run.rejects_file.save(f"run-{run.pk}-rejects.csv", File(handle), save=False)
        ImportRun.objects.filter(pk=run.pk).update(rejects_file=run.rejects_file.name)


def _spreadsheet_safe_copy(source: Path, target: Path, rows_at_once: int = 10_000) -> None:
    """The rejected rows are opened in a spreadsheet by people: every cell through the one formula rule
    (a customer named "=HYPERLINK(…)" stays text), written in slices so a million rejects stay small."""
    with source.open(newline="", encoding="utf-8") as handle, target.open("w", newline="", encoding="utf-8") as out:
        reader = csv.reader(handle)
        out.write(safe_csv([], header=next(reader)))
        while rows := list(itertools.islice(reader, rows_at_once)):
            out.write(safe_csv(rows))


# --- Reading and checking ---------------------------------------------------------------------------


@dataclass
class _Batch:
    """What a file holds once read and checked, in compact arrays (locations coded as integers)."""

    locations: list[str] = field(default_factory=list)
    codes: dict[str, int] = field(default_factory=dict)
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    customers: pd.DataFrame | None = None
    optional_present: set[str] = field(default_factory=set)
    encoding: str = ""
    rows: int = 0
    rejected: int = 0
    duplicates: int = 0
    contact_differences: list[dict] = field(default_factory=list)  # details kept as HydroSpark has them
    code: np.ndarray | None = None  # after settling: one row per (location, day)
    day: np.ndarray | None = None
    units: np.ndarray | None = None

    def encode(self, locations: np.ndarray, local_codes: np.ndarray) -> np.ndarray:
        """The file-wide code of each row's location, from the chunk's own codes."""
        for location in locations:
            if location not in self.codes:
                self.codes[location] = len(self.locations)
                self.locations.append(location)
        mapping = np.fromiter((self.codes[u] for u in locations), np.int32, len(locations))
        return mapping[local_codes]


def _collect(chunks: ChunkSource, *, today: datetime.date, rejects_path: Path, progress: Progress) -> _Batch:
    batch = _Batch()
    with rejects_path.open("w", newline="", encoding="utf-8") as rejects:
        pd.DataFrame(columns=REJECT_COLUMNS).to_csv(rejects, index=False)
        for chunk in chunks():
            batch.optional_present |= set(chunk.frame.columns) & set(ATTRIBUTE_KEYS)
            batch.encoding = chunk.encoding or batch.encoding
            checked = check_chunk(chunk, today=today)
            reads = checked.reads
            batch.parts.append(
                (
                    batch.encode(checked.locations, reads["location"].to_numpy()),
                    reads["day"].to_numpy(np.int32),
                    reads["units"].to_numpy(np.int64),
                    reads["line"].to_numpy(np.int64),
                )
            )
            batch.customers = _latest(batch.customers, checked.customers)
            checked.rejects.to_csv(rejects, index=False, header=False)
            batch.rows += checked.rows
            batch.rejected += len(checked.rejects)
            progress("reading", batch.rows, chunk.progress)
    _settle_duplicates(batch, chunks, rejects_path)
    return batch


def _latest(known: pd.DataFrame | None, new: pd.DataFrame) -> pd.DataFrame:
    """Keep, per location, the row with the latest date (then the latest line)."""
    frame = new if known is None else pd.concat([known, new], ignore_index=True)
    return frame.sort_values(["day", "line"]).drop_duplicates("location_id", keep="last")


def _settle_duplicates(batch: _Batch, chunks: ChunkSource, rejects_path: Path) -> None:
    """One read per (location, day): identical repeats count as unchanged; different usages for the
    same location and day are all rejected (SPEC §1), wherever they are in the file."""
    code, day, units, line = (
        (np.concatenate([p[i] for p in batch.parts]) for i in range(4))
        if batch.parts
        else (
            np.empty(0, np.int32),
            np.empty(0, np.int32),
            np.empty(0, np.int64),
            np.empty(0, np.int64),
        )
    )
    batch.parts = []
    order = np.lexsort((line, day, code))
    code, day, units, line = code[order], day[order], units[order], line[order]
    starts = (
        np.flatnonzero(np.r_[True, (code[1:] != code[:-1]) | (day[1:] != day[:-1])]) if len(code) else np.empty(0, int)
    )
    if len(code):
        conflict = np.minimum.reduceat(units, starts) != np.maximum.reduceat(units, starts)
    else:
        conflict = np.empty(0, bool)
    group = (
        np.cumsum(np.r_[True, (code[1:] != code[:-1]) | (day[1:] != day[:-1])]) - 1 if len(code) else np.empty(0, int)
    )
    in_conflict = conflict[group] if len(code) else np.empty(0, bool)
    keep = np.zeros(len(code), bool)
    keep[starts[~conflict]] = True
    batch.duplicates = int((~in_conflict).sum() - keep.sum())
    if in_conflict.any():
        _reject_conflicts(batch, chunks, rejects_path, code[in_conflict], day[in_conflict], line[in_conflict])
        kept_codes = set(np.unique(code[keep]).tolist())
        batch.customers = batch.customers[batch.customers["location_id"].map(batch.codes).isin(kept_codes)]
    batch.code, batch.day, batch.units = code[keep], day[keep], units[keep]


def _reject_conflicts(batch: _Batch, chunks: ChunkSource, rejects_path: Path, code, day, line) -> None:
    """Add the conflicting rows, with their values (a second pass over the file), to the rejects."""
    groups = pd.DataFrame({"code": code, "day": day, "line": line})
    others = groups.groupby(["code", "day"])["line"].transform(lambda s: ", ".join(map(str, s)))
    reasons = dict(
        zip(
            line.tolist(),
            ("another row for this location and date has a different usage (lines " + others + ")").tolist(),
            strict=True,
        )
    )
    wanted = np.sort(line)
    found = []
    for chunk in chunks():
        hit = np.isin(chunk.lines, wanted)
        if hit.any():
            rows = chunk.frame[hit].apply(lambda col: col.astype(str).str.strip())
            rows = rows.rename(columns=HEADERS)
            rows.insert(0, "line", chunk.lines[hit])
            found.append(rows)
    conflicts = pd.concat(found, ignore_index=True)
    conflicts.insert(1, "reason", conflicts["line"].map(reasons))
    earlier = pd.read_csv(rejects_path, dtype=str, keep_default_na=False)
    earlier["line"] = earlier["line"].astype(np.int64)
    merged = pd.concat([earlier, conflicts.reindex(columns=REJECT_COLUMNS, fill_value="")], ignore_index=True)
    merged.sort_values("line", kind="stable").to_csv(rejects_path, index=False)
    batch.rejected += len(conflicts)


# --- Saving -----------------------------------------------------------------------------------------


def _save(run: ImportRun, batch: _Batch, progress: Progress) -> None:
    """Inside the transaction and the import lock: customers, then reads, corrections and the run."""
    # Lock the run's row until commit: marking it stalled now waits, then finds it done.
    status = ImportRun.objects.select_for_update().filter(pk=run.pk).values_list("status", flat=True)
    if list(status) != [ImportStatus.RUNNING]:
        raise _Abandoned
    progress("saving", 0, 0.0)
    # Before anything is written (a customer row locked here could be what a bill run waits for): the months
    # of the file's reads are locked against bill runs until this commits.
    if len(batch.day):
        reads_importing.send(sender=ImportRun, run=run, periods=_months(batch.day))
    location_ids, created, updated = _save_customers(run, batch)
    run.contact_differences = batch.contact_differences
    customer_id = location_ids[batch.code] if len(batch.code) else np.empty(0, np.int64)
    new, corrected, old_units = _classify(customer_id, batch, existing_ids=set(location_ids.tolist()) - created)
    total = int(new.sum())
    bulk.reads_insert(
        customer_id[new], batch.day[new], batch.units[new], lambda done: progress("saving", done, done / max(total, 1))
    )
    if corrected.any():
        bulk.corrections_insert(run.pk, customer_id[corrected], batch.day[corrected], old_units, batch.units[corrected])
        bulk.reads_upsert(customer_id[corrected], batch.day[corrected], batch.units[corrected])
    run.rows_read = batch.rows
    run.rows_rejected = batch.rejected
    run.reads_created = total
    run.reads_corrected = int(corrected.sum())
    run.reads_unchanged = len(batch.units) - total - run.reads_corrected + batch.duplicates
    run.customers_created = len(created)
    run.customers_updated = updated
    run.encoding = batch.encoding
    if corrected.any():
        run.issued_bill_corrections = _issued_bill_corrections(run)
    run.status = ImportStatus.DONE
    run.finished_at = timezone.now()
    run.save()
    audit_record(
        actor=run.actor, actor_label=run.actor_label, action="meter_import.done", target=run, summary=run.summary()
    )
    transaction.on_commit(lambda: reads_imported.send_robust(sender=ImportRun, run=run))


def _save_customers(run: ImportRun, batch: _Batch) -> tuple[np.ndarray, set[int], int]:
    """Create new locations' customers and bring existing ones up to the file's latest row.
    Returns (customer id by location code, ids created, number updated)."""
    latest = batch.customers if batch.customers is not None else pd.DataFrame(columns=["location_id"])
    fields = [k for k in ATTRIBUTE_KEYS if k in batch.optional_present]
    stored = _stored_customers(latest["location_id"].tolist(), [*fields, "contact_edited"])
    new = latest[~latest["location_id"].isin(stored.index)]
    Customer.objects.bulk_create(
        [Customer(**_customer_values(row, fields)) for row in new.to_dict("records")], batch_size=1000
    )
    known = latest[latest["location_id"].isin(stored.index)]
    changed, batch.contact_differences = _changed_customers(known, stored, fields)
    if changed:
        Customer.objects.bulk_update([c for c, _ in changed], fields=[*fields, "updated_at"], batch_size=500)
    ids = _stored_customers(latest["location_id"].tolist(), [])["id"]
    created = set(ids[new["location_id"]].tolist())
    _audit_customers(run, ids[new["location_id"]].tolist(), changed)
    by_code = np.full(len(batch.locations), -1, dtype=np.int64)
    codes = latest["location_id"].map(batch.codes).to_numpy(dtype=np.int64)
    by_code[codes] = ids[latest["location_id"]].to_numpy(dtype=np.int64)
    return by_code, created, len(changed)


def _stored_customers(location_ids: list[str], fields: list[str]) -> pd.DataFrame:
    rows = []
    for start in range(0, len(location_ids), 2000):  # keeps IN lists under every database's limit
        part = location_ids[start : start + 2000]
        rows.extend(Customer.objects.filter(location_id__in=part).values("id", "location_id", *fields))
    return pd.DataFrame(rows, columns=["id", "location_id", *fields]).set_index("location_id")


def _customer_values(row: dict, fields: list[str]) -> dict:
    values = {key: row[key] for key in fields}
    values["cycle_number"] = int(row["cycle_number"])
    return {"location_id": row["location_id"], **values}


def _changed_customers(latest: pd.DataFrame, stored: pd.DataFrame, fields: list[str]):
    """([(customer with the file's values, {field: [old, new]})] for those whose details differ, [the
    differences kept]): a contact detail changed in HydroSpark stays as it is (SPEC §1), the file's value
    is only reported."""
    if latest.empty:
        return [], []
    theirs = latest.set_index("location_id")[fields]
    ours = stored.loc[theirs.index, fields]
    differs = (theirs.astype(str) != ours.astype(str)).any(axis=1)
    result, kept = [], []
    for location_id in differs[differs].index:
        new, old = theirs.loc[location_id], ours.loc[location_id]
        edited = set(stored.at[location_id, "contact_edited"] or []) & set(fields)
        different = [f for f in fields if str(old[f]) != str(new[f])]
        kept += [_difference(location_id, f, old[f], new[f]) for f in different if f in edited]
        changes = {f: [str(old[f]), str(new[f])] for f in different if f not in edited}
        if not changes:
            continue
        customer = Customer(id=int(stored.at[location_id, "id"]), location_id=location_id, updated_at=timezone.now())
        values = _customer_values({"location_id": location_id, **new.to_dict()}, fields)
        for key, value in {**values, **{f: old[f] for f in edited}}.items():
            setattr(customer, key, value)
        result.append((customer, changes))
    return result, kept


def _difference(location_id: str, name: str, kept, theirs) -> dict:
    return {"location_id": location_id, "field": name, "kept": str(kept), "file": str(theirs)}


def _audit_customers(run: ImportRun, created_ids: list[int], changed: list[tuple[Customer, dict]]) -> None:
    """The audit trail: one event for the customers the run created (a first import may create
    thousands), one per customer whose details it changed, with the changes; one bulk insert."""
    by = {"actor": run.actor, "actor_label": run.actor_label}
    events = [
        audit_event(
            **by,
            action="customer.update",
            target=customer,
            customer=customer,
            summary=f"Meter import #{run.pk} changed " + ", ".join(f.replace("_", " ") for f in changes),
            changes=changes,
        )
        for customer, changes in changed
    ]
    if created_ids:
        created = audit_event(
            **by,
            action="customer.create",
            target=run,
            summary=f"Meter import #{run.pk} ({run.file_name}) created {len(created_ids):,} customer(s)",
            changes={"customer_ids": created_ids[:1000]},
        )
        created.customer_id = created_ids[0] if len(created_ids) == 1 else None
        events.append(created)
    AuditEvent.objects.bulk_create(events, batch_size=1000)


def _classify(customer_id: np.ndarray, batch: _Batch, *, existing_ids: set[int]):
    """Which incoming reads are new, which correct a stored read (and its old usage); the rest are unchanged."""
    new = np.ones(len(customer_id), bool)
    corrected = np.zeros(len(customer_id), bool)
    known = np.isin(customer_id, np.fromiter(existing_ids, np.int64, len(existing_ids)))
    if not known.any():
        return new, corrected, np.empty(0, np.int64)
    stored = bulk.stored_reads(customer_id[known], int(batch.day[known].min()), int(batch.day[known].max()))
    stored_keys = _pack(stored["customer_id"].to_numpy(), stored["day"].to_numpy())
    order = np.argsort(stored_keys)
    stored_keys, stored_units = stored_keys[order], stored["units"].to_numpy()[order]
    keys = _pack(customer_id, batch.day)
    position = np.searchsorted(stored_keys, keys).clip(0, max(len(stored_keys) - 1, 0))
    found = (stored_keys[position] == keys) if len(stored_keys) else np.zeros(len(keys), bool)
    new = ~found
    corrected = found & (stored_units[position] != batch.units) if len(stored_keys) else corrected
    return new, corrected, stored_units[position][corrected] if len(stored_keys) else np.empty(0, np.int64)


def _months(days: np.ndarray) -> list[datetime.date]:
    """The first days of the months these days (since 1970-01-01) fall in."""
    epoch = datetime.date(1970, 1, 1)
    return sorted({(epoch + datetime.timedelta(days=int(d))).replace(day=1) for d in np.unique(days)})


def _pack(customer_id: np.ndarray, day: np.ndarray) -> np.ndarray:
    return (np.asarray(customer_id, np.int64) << DAY_KEY_BITS) + (np.asarray(day, np.int64) + (1 << 21))


def _issued_bill_corrections(run: ImportRun) -> list[dict]:
    """Ask the reads_corrected receivers (billing) which corrections fall in issued bills' periods."""
    corrections = ReadCorrection.objects.filter(import_run=run)
    hits = []
    for receiver, answer in reads_corrected.send_robust(sender=ImportRun, run=run, corrections=corrections):
        if isinstance(answer, Exception):
            logger.error("reads_corrected receiver %r failed: %s", receiver, answer, exc_info=answer)
            hits.append({"error": f"Could not check issued bills: {answer}"})
            continue
        hits.extend(answer or [])
    return _describe_hits(run, [h for h in hits if not isinstance(h, dict)]) + [h for h in hits if isinstance(h, dict)]


def _describe_hits(run: ImportRun, hits: list[tuple]) -> list[dict]:
    if not hits:
        return []
    wanted = {(customer_id, read_date) for customer_id, read_date, _ in hits}
    details = {
        (c.customer_id, c.read_date): c
        for c in ReadCorrection.objects.filter(import_run=run, customer_id__in={c for c, _ in wanted}).select_related(
            "customer"
        )
        if (c.customer_id, c.read_date) in wanted
    }
    described = []
    for customer_id, read_date, bill_number in sorted(hits, key=lambda h: (h[0], h[1])):
        correction = details.get((customer_id, read_date))
        described.append(
            {
                "location_id": correction.customer.location_id if correction else str(customer_id),
                "read_date": read_date.isoformat(),
                "bill_number": str(bill_number),
                "old_usage_ccf": str(correction.old_usage_ccf) if correction else "",
                "new_usage_ccf": str(correction.new_usage_ccf) if correction else "",
            }
        )
    return described
