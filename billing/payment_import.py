"""The bank's payments file (SPEC §2a): read, checked row by row, recorded set-based.

CSV columns location_id, amount, paid_on, method, reference (headers ignore case and surrounding
spaces, a UTF-8 BOM and CRLF are fine, values are trimmed, extra columns ignored). Every check is a
vectorised pass over a column; good rows are written with one multi-row INSERT of payments and one
INSERT … SELECT of their ledger entries, in one transaction under the import lock. A (location,
reference) already recorded is left as it is, so the same file twice records each payment once.
Imported payments above the balance become credits (SPEC §2).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import batched
from pathlib import Path

import numpy as np
import pandas as pd
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Customer
from accounts.services import audit_record
from hydrospark import runs
from hydrospark.spreadsheet import safe_csv

from .exceptions import BillingError
from .locks import exclusive
from .models import LedgerEntry, Payment, PaymentImport

COLUMNS = ("location_id", "amount", "paid_on", "method", "reference")
METHODS = ("card", "bank_transfer", "check", "cash")
AMOUNT = re.compile(r"^\d{1,10}(\.\d{1,2})?$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
LOCK_NAME = "billing.account_batch"  # payments files and late fees: one writer at a time
INSERT_ROWS = 500  # rows per multi-row INSERT: 500 × 9 parameters stays under SQLite's 32,766


@dataclass
class ImportReport:
    rows_read: int = 0
    recorded: int = 0
    already_recorded: int = 0
    rejects: list[tuple[int, str, dict]] = field(default_factory=list)  # (line, reason, row)
    total_cents: int = 0

    @property
    def total(self) -> Decimal:
        return (Decimal(self.total_cents) / 100).quantize(Decimal("0.01"))

    def summary(self) -> str:
        return (
            f"{self.rows_read:,} rows read: {self.recorded:,} payments recorded (${self.total:,.2f}), "
            f"{self.already_recorded:,} already recorded, {len(self.rejects):,} rejected"
        )


def read_payments_file(source) -> pd.DataFrame:
    """The file's rows as trimmed strings with a `line` column (the header is line 1); BillingError when
    the file cannot be used."""
    try:
        frame = pd.read_csv(
            source, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=True, on_bad_lines="error"
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as error:
        raise BillingError(f"The payments file cannot be read as CSV: {error}".strip()) from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise BillingError(f"The payments file has no {', '.join(missing)} column (it needs {', '.join(COLUMNS)}).")
    frame = frame[list(COLUMNS)].apply(lambda column: column.str.strip())
    frame.insert(0, "line", np.arange(2, len(frame) + 2))
    return frame


def _reasons(frame: pd.DataFrame, customers: dict[str, int], today: datetime.date) -> pd.Series:
    """The first reason each row is refused ("" when it is good), one vectorised check per rule."""
    reasons = pd.Series("", index=frame.index, dtype=object)

    def refuse(mask, reason):
        reasons[mask & (reasons == "")] = reason

    for column in COLUMNS[:-1]:
        refuse(frame[column] == "", f"{column} is missing")
    refuse(frame["reference"] == "", "reference is missing (a bank file's payments are told apart by it)")
    refuse(~frame["location_id"].isin(customers.keys()), "unknown location")
    amounts = frame["amount"].str.replace(",", "", regex=False).str.removeprefix("$")
    whole_cents = amounts.str.match(AMOUNT)
    refuse(~whole_cents, "amount is not a positive number of whole cents")
    cents = _cents(amounts.where(whole_cents, "0"))
    refuse(cents <= 0, "amount is not a positive number of whole cents")
    dates = pd.to_datetime(
        frame["paid_on"].where(frame["paid_on"].str.match(ISO_DATE), ""), format="%Y-%m-%d", errors="coerce"
    )
    refuse(dates.isna(), "paid_on is not a date that exists (YYYY-MM-DD)")
    refuse(dates > pd.Timestamp(today), "paid_on is after today")
    refuse(~frame["method"].str.lower().isin(METHODS), f"method is not one of {', '.join(METHODS)}")
    frame["cents"], frame["paid"] = cents, dates
    return reasons


def _cents(amounts: pd.Series) -> pd.Series:
    parts = amounts.str.partition(".")
    return parts[0].astype("int64") * 100 + parts[2].str.ljust(2, "0").astype("int64")


def _repeated_references(frame: pd.DataFrame, reasons: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Within the file: a repeat of a (location, reference) with the same figures is the same payment
    (counted as already recorded); with other figures it is refused, as are all its copies."""
    key = ["location_id", "reference"]
    good = frame[reasons == ""]
    same = good.duplicated(key + ["cents", "paid_on", "method"], keep="first")
    clash_keys = good[~same].duplicated(key, keep=False)
    clashing = pd.Series(False, index=frame.index)
    clashing[good[~same].index[clash_keys.to_numpy()]] = True
    repeats = pd.Series(False, index=frame.index)
    repeats[good.index[same.to_numpy()]] = True
    return repeats, clashing


def payments_import(
    *, source, file_name: str, actor=None, actor_label: str = "", today=None, run=None, progress=None
) -> ImportReport:
    """Import a payments file (a path or a file object); BillingError when the file cannot be used.
    `progress(phase, rows)` hears of each step (reading, checking, saving)."""
    today = today or timezone.localdate()
    progress = progress or (lambda phase, rows: None)
    progress("reading", 0)
    frame = read_payments_file(source)
    progress("checking", len(frame))
    customers = dict(Customer.objects.values_list("location_id", "pk"))
    reasons = _reasons(frame, customers, today)
    repeats, clashing = _repeated_references(frame, reasons)
    reasons[clashing & (reasons == "")] = "the same location and reference appear with different figures"
    report = ImportReport(rows_read=len(frame), already_recorded=int(repeats.sum()))
    refused = frame[reasons != ""]
    report.rejects = [
        (int(row[0]), reason, dict(zip(COLUMNS, row[1:], strict=True)))
        for row, reason in zip(
            refused[["line", *COLUMNS]].itertuples(index=False, name=None), reasons[reasons != ""], strict=True
        )
    ]
    good = frame[(reasons == "") & ~repeats].copy()
    good["customer_id"] = good["location_id"].map(customers).astype("int64")
    progress("saving", len(frame))
    with exclusive(LOCK_NAME):
        fresh = _not_recorded(good)
        report.already_recorded += len(good) - len(fresh)
        _write(fresh, actor=actor, actor_label=actor_label)
        report.recorded, report.total_cents = len(fresh), int(fresh["cents"].sum())
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action="payment.import",
            target=run,
            summary=f"Payments file {file_name}: {report.summary()}",
            changes={"file": file_name, "recorded": report.recorded, "rejected": len(report.rejects)},
        )
    return report


def _not_recorded(good: pd.DataFrame) -> pd.DataFrame:
    """The rows whose (customer, reference) is not recorded yet: one query over the file's customers."""
    if good.empty:
        return good
    recorded = set()
    for chunk in batched(good["customer_id"].unique().tolist(), 2_000):
        recorded.update(
            Payment.objects.filter(customer_id__in=chunk).exclude(reference="").values_list("customer_id", "reference")
        )
    if not recorded:
        return good
    # a set lookup per row of the file: the customers' earlier payments (a dozen each) are only hashed once
    new = [key not in recorded for key in zip(good["customer_id"].tolist(), good["reference"].tolist(), strict=True)]
    return good[np.array(new, dtype=bool)]


def _write(rows: pd.DataFrame, *, actor, actor_label: str) -> None:
    """Payments by multi-row INSERT, then their ledger entries by one INSERT … SELECT."""
    if rows.empty:
        return
    qn, ops = connection.ops.quote_name, connection.ops
    user_id = actor.pk if actor is not None and getattr(actor, "is_authenticated", False) else None
    now = ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {qn(Payment._meta.db_table)}")
        after_id = cursor.fetchone()[0]
        columns = "customer_id, amount, paid_on, method, reference, source, recorded_by_id, recorded_at"
        values = zip(
            rows["customer_id"].tolist(),
            [ops.adapt_decimalfield_value(Decimal(c) / 100, 12, 2) for c in rows["cents"].tolist()],
            [ops.adapt_datefield_value(d.date()) for d in rows["paid"]],
            rows["method"].str.lower().tolist(),
            rows["reference"].str.slice(0, 100).tolist(),
            strict=True,
        )
        for chunk in batched(values, INSERT_ROWS):
            placeholders = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * len(chunk))
            params = [v for row in chunk for v in (*row, Payment.Source.BANK_FILE.value, user_id, now)]
            cursor.execute(f"INSERT INTO {qn(Payment._meta.db_table)} ({columns}) VALUES {placeholders}", params)
        entry = qn(LedgerEntry._meta.db_table)
        cursor.execute(
            f"INSERT INTO {entry} (customer_id, entry_date, amount, kind, due_date, bill_id, payment_id, reason, note, "
            f"created_by_id, actor_label, created_at) "
            f"SELECT p.customer_id, p.paid_on, -p.amount, %s, NULL, NULL, p.id, '', '', %s, %s, %s "
            f"FROM {qn(Payment._meta.db_table)} p WHERE p.id > %s AND p.source = %s "
            f"AND NOT EXISTS (SELECT 1 FROM {entry} e WHERE e.payment_id = p.id) ORDER BY p.id",
            [LedgerEntry.Kind.PAYMENT.value, user_id, actor_label[:200], now, after_id, Payment.Source.BANK_FILE.value],
        )


def rejects_csv(rejects) -> str:
    """The rejected rows as CSV: line, reason and the row's own columns; people open it in a spreadsheet, so
    a cell such as `=HYPERLINK(…)` from the bank's file is kept as text (hydrospark.spreadsheet)."""
    rows = ([line, reason, *(row.get(c, "") for c in COLUMNS)] for line, reason, row in rejects)
    return safe_csv(rows, header=["line", "reason", *COLUMNS])


# --- Runs: the command and the upload page share one lifecycle (hydrospark.runs) --------------------------

PAYMENT_IMPORT = runs.Lifecycle(
    name="billing.payment_import",
    model=PaymentImport,
    field="state",
    error_field="error",
    tasks=("billing.account_tasks.payment_import_task",),
)
PROGRESS_TTL_S = 24 * 3600
PHASES = {"reading": 0.1, "checking": 0.4, "saving": 0.7}  # how far along each step starts, for the page's bar


def payment_import_queue(*, upload, actor) -> PaymentImport:
    """Keep the uploaded file (under MEDIA_ROOT/payments/) and queue its import for the background worker."""
    run = PaymentImport.objects.create(
        file_name=Path(upload.name).name[:255], upload=upload, requested_by=actor, actor_label=actor.email
    )
    audit_record(
        actor=actor, action="payment.import.queue", target=run, summary=f"Queued payments file {run.file_name}"
    )
    _enqueue(run)
    return run


def _enqueue(run: PaymentImport) -> None:
    from .account_tasks import payment_import_task

    transaction.on_commit(lambda: payment_import_task.enqueue(run.pk))


def payment_import_run(*, run: PaymentImport, source=None, today=None) -> PaymentImport:
    """Claim a queued run atomically, import it, and end it done or failed (failed: nothing recorded). A run
    that was not queued any more (a task delivered twice) is left as it is."""

    def work(claimed: PaymentImport) -> None:
        try:
            if source is None:
                with claimed.upload.open("rb") as handle:
                    report = _import_for(claimed, handle, today)
            else:
                report = _import_for(claimed, source, today)
        except BillingError as error:
            _finish(claimed, state=PaymentImport.State.FAILED, error=str(error))
        else:
            _finish(claimed, state=PaymentImport.State.DONE, report=report)
        cache.delete(_progress_key(claimed.pk))

    runs.execute(PAYMENT_IMPORT, run.pk, work)
    run.refresh_from_db()
    return run


def _progress_key(pk: int) -> str:
    return f"billing:payment_import:{pk}:progress"


def _reporter(run: PaymentImport):
    """progress(phase, rows): the step in the shared cache for the page, and a heartbeat for the sweep."""

    def progress(phase: str, rows: int) -> None:
        live = {"phase": phase, "rows": rows, "fraction": PHASES.get(phase, 0.0)}
        cache.set(_progress_key(run.pk), live, PROGRESS_TTL_S)
        runs.beat(PAYMENT_IMPORT, run.pk)

    return progress


def payment_import_progress(run: PaymentImport) -> dict:
    """What the upload page polls: the state, and while running the step and rows read so far."""
    live = {} if run.is_finished else cache.get(_progress_key(run.pk)) or {}
    return {
        "state": run.state,
        "finished": run.is_finished,
        "stalled": payment_import_stalled(run),
        "phase": live.get("phase", ""),
        "rows": live.get("rows", 0),
        "fraction": 1.0 if run.is_finished else live.get("fraction", 0.0),
    }


def payment_import_stalled(run: PaymentImport, now=None) -> bool:
    """A running import that has not shown life for RUN_STALE_MINUTES: its worker was stopped (nothing of it
    was recorded: the payments are written in one transaction). A queued one is only waiting its turn."""
    if run.state != PaymentImport.State.RUNNING:
        return False
    moved = runs.last_beat(PAYMENT_IMPORT, run)
    return moved is not None and (now or timezone.now()) - moved >= runs.stale_after()


def payment_import_retry_refusal(run: PaymentImport) -> str:
    """Why this import cannot be retried ("" when it can): only a failed or stalled upload whose file is still
    stored, and only once."""
    if not run.upload:
        return f"Payments import #{run.pk} came from the import_payments command: run the command again."
    if run.state != PaymentImport.State.FAILED and not payment_import_stalled(run):
        state = run.get_state_display().lower()
        return f"Payments import #{run.pk} is {state}: only a failed or stalled one is retried."
    retry = run.retries.order_by("-id").first()
    if retry is not None:
        return f"Payments import #{run.pk} was already retried as import #{retry.pk}."
    if not run.upload.storage.exists(run.upload.name):
        return f"The file of payments import #{run.pk} is no longer stored: upload it again."
    return ""


def payment_import_retry(*, run: PaymentImport, actor) -> PaymentImport:
    """Import a failed or stalled upload's stored file again, as a new queued import (a stalled one is failed
    first, saying why). Payments already recorded by then are recognised by their reference, so a retry never
    records one twice. BillingError when it cannot be retried."""
    with transaction.atomic():
        run = PaymentImport.objects.select_for_update().get(pk=run.pk)
        refusal = payment_import_retry_refusal(run)
        if refusal:
            raise BillingError(refusal)
        if run.state == PaymentImport.State.RUNNING:
            runs.fail(PAYMENT_IMPORT, run.pk, runs.stalled_error(PAYMENT_IMPORT, runs.last_beat(PAYMENT_IMPORT, run)))
        retry = PaymentImport.objects.create(
            file_name=run.file_name, upload=run.upload.name, requested_by=actor, actor_label=actor.email, retry_of=run
        )
        audit_record(
            actor=actor,
            action="payment.import.retry",
            target=retry,
            summary=f"Payments import #{retry.pk} retries #{run.pk} ({run.file_name}) from its stored file",
        )
        _enqueue(retry)
    return retry


def payment_imports_fail_stalled(*, actor_label: str) -> list[PaymentImport]:
    """Fail the running payments imports whose worker stopped beating (the fail_stalled_runs sweep)."""
    return runs.fail_stalled(PAYMENT_IMPORT, actor_label=actor_label)


def _import_for(run: PaymentImport, source, today) -> ImportReport:
    return payments_import(
        source=source,
        file_name=run.file_name,
        actor=run.requested_by,
        actor_label=run.actor_label,
        today=today,
        run=run,
        progress=_reporter(run),
    )


def _finish(run: PaymentImport, *, state, report: ImportReport | None = None, error: str = "") -> None:
    run.state, run.error, run.finished_at = state, error, timezone.now()
    if report is not None:
        run.rows_read, run.payments_recorded = report.rows_read, report.recorded
        run.already_recorded, run.rows_rejected = report.already_recorded, len(report.rejects)
        run.total_recorded = report.total
        run.rejects = [[line, reason, row] for line, reason, row in report.rejects]
    run.save()


def payment_import_file(*, path: Path, actor_label: str, today=None) -> PaymentImport:
    """The command's door: a run row for the file, imported now in this process."""
    run = PaymentImport.objects.create(file_name=path.name[:255], actor_label=actor_label)
    try:
        handle = path.open("rb")
    except OSError as error:
        _finish(run, state=PaymentImport.State.FAILED, error=f"Cannot open {path}: {error.strerror}.")
        return run
    with handle:
        payment_import_run(run=run, source=handle, today=today)
    run.refresh_from_db()
    return run
