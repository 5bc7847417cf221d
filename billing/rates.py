"""Rate schedule versions (SPEC §2: rates are data that Billing edits): create, change, delete.

Every door (the admin, a shell, a data load) goes through these, so the rules hold whoever calls:
- a version is written whole, with its tiers, seasonal multipliers and fees, in one transaction;
- a version that priced an issued (or since cancelled) bill is history and is never changed or
  deleted: a change of rates is a new version with a later effective date. The refusal is a
  BillingError raised here, not only a hidden button in the admin;
- every write is audited with plain-text keys and values (the audit's changes are JSON).
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.roles import user_can
from accounts.services import audit_record

from .exceptions import BillingError
from .models import Bill, RateFee, RateSchedule, RateTier, SeasonalMultiplier
from .pricing import Fee, Tier, check_tiers

# A cancelled bill was issued first, and its corrected bill is priced with the same version (SPEC §2a).
LOCKING_STATUSES = (Bill.Status.ISSUED, Bill.Status.CANCELLED)
SCHEDULE_FIELDS = ("name", "customer_type", "effective_from", "late_fee_percent", "late_fee_grace_days", "notes")


@dataclass(frozen=True)
class RateVersion:
    """A whole version as plain data: what Billing fills in, whatever the door."""

    name: str
    effective_from: datetime.date
    tiers: tuple[Tier, ...]
    multipliers: dict[int, Decimal] = field(default_factory=dict)  # month 1-12; a missing month is ×1
    fees: tuple[Fee, ...] = ()  # in the order printed on the bill
    customer_type: str = ""  # empty: every customer type
    late_fee_percent: Decimal = Decimal("5.00")
    late_fee_grace_days: int = 5
    notes: str = ""


def rate_schedule_is_locked(schedule: RateSchedule) -> bool:
    """A version that priced an issued bill is history: it is never edited again."""
    return schedule.pk is not None and schedule.bills.filter(status__in=LOCKING_STATUSES).exists()


def rate_schedule_check_editable(*, schedule: RateSchedule) -> None:
    if rate_schedule_is_locked(schedule):
        raise BillingError(
            f"{schedule} priced issued bills, so it can no longer change. "
            "Create a new version with a later effective date instead."
        )


def rate_schedule_check_actor(actor) -> None:
    """SPEC §5: only Billing edits rates. Commands and data loads name themselves (actor_label) instead."""
    if actor is not None and not user_can(actor, "edit_rates"):
        raise BillingError("Only Billing staff can create, change or delete rate schedules.")


def rate_schedule_drafts(schedule: RateSchedule) -> int:
    """Draft bills priced with this version: after a change they show the old rates until recomputed."""
    return schedule.bills.filter(status=Bill.Status.DRAFT).count()


@transaction.atomic
def rate_schedule_create(*, version: RateVersion, actor=None, actor_label: str = "") -> RateSchedule:
    rate_schedule_check_actor(actor)
    schedule = RateSchedule()
    _write(schedule, version)
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="rates.create",
        target=schedule,
        summary=f"Created {schedule}",
        changes=_describe(version),
    )
    return schedule


@transaction.atomic
def rate_schedule_update(
    *, schedule: RateSchedule, version: RateVersion, actor=None, actor_label: str = ""
) -> RateSchedule:
    """Replace a version's fields, tiers, multipliers and fees; refused once it priced an issued bill."""
    rate_schedule_check_actor(actor)
    # Locked so two editors cannot interleave their tier lists.
    current = RateSchedule.objects.select_for_update().get(pk=schedule.pk)
    rate_schedule_check_editable(schedule=current)
    before = _describe(_version_of(current))
    _write(current, version)
    after = _describe(version)
    changes = {key: [before[key], after[key]] for key in after if before[key] != after[key]}
    if changes:
        audit_record(
            actor=actor,
            actor_label=actor_label,
            action="rates.change",
            target=current,
            summary=f"Changed {current}",
            changes=changes,
        )
    return current


@transaction.atomic
def rate_schedule_delete(*, schedule: RateSchedule, actor=None, actor_label: str = "") -> None:
    """Only a version that priced no bill at all goes (bills keep the version they used: PROTECT)."""
    rate_schedule_check_actor(actor)
    current = RateSchedule.objects.select_for_update().get(pk=schedule.pk)
    if current.bills.exists():
        raise BillingError(f"{current} priced bills, so it stays. A later version replaces it from its date.")
    audit_record(
        actor=actor,
        actor_label=actor_label,
        action="rates.delete",
        target=current,
        summary=f"Deleted {current}",
        changes=_describe(_version_of(current)),
    )
    current.delete()


def _write(schedule: RateSchedule, version: RateVersion) -> None:
    """Save the schedule's fields and replace its tiers, multipliers and fees, each validated."""
    _check_version(version)
    for name in SCHEDULE_FIELDS:
        setattr(schedule, name, getattr(version, name))
    _validated(schedule)
    schedule.save()
    schedule.tiers.all().delete()
    schedule.multipliers.all().delete()
    schedule.fees.all().delete()
    children = (
        [RateTier(schedule=schedule, up_to=t.up_to, rate=t.rate) for t in version.tiers]
        + [SeasonalMultiplier(schedule=schedule, month=m, multiplier=x) for m, x in sorted(version.multipliers.items())]
        + [
            RateFee(schedule=schedule, code=f.code or "other", label=f.label, amount=f.amount, position=i)
            for i, f in enumerate(version.fees)
        ]
    )
    for child in children:
        _validated(child, exclude=["schedule"], unique=False)  # months are unique as dict keys
    RateTier.objects.bulk_create([c for c in children if isinstance(c, RateTier)])
    SeasonalMultiplier.objects.bulk_create([c for c in children if isinstance(c, SeasonalMultiplier)])
    RateFee.objects.bulk_create([c for c in children if isinstance(c, RateFee)])


def _check_version(version: RateVersion) -> None:
    try:
        check_tiers(tuple(version.tiers))
    except ValueError as error:
        raise BillingError(str(error)) from None
    if any(month not in range(1, 13) for month in version.multipliers):
        raise BillingError("Seasonal multipliers are given by month, 1 (January) to 12 (December).")


def _validated(instance, exclude=None, unique=True) -> None:
    """The model's own rules (lengths, bounds, one version per type and day) as a BillingError."""
    try:
        instance.full_clean(exclude=exclude, validate_unique=unique, validate_constraints=unique)
    except ValidationError as error:
        messages = [
            "; ".join(errs) if name == "__all__" else f"{name}: {'; '.join(errs)}"
            for name, errs in error.message_dict.items()
        ]
        raise BillingError(f"{instance._meta.verbose_name.capitalize()} refused: {' '.join(messages)}") from None


def _version_of(schedule: RateSchedule) -> RateVersion:
    plan = schedule.to_plan()
    return RateVersion(
        tiers=plan.tiers,
        multipliers=plan.multipliers,
        fees=plan.fees,
        **{name: getattr(schedule, name) for name in SCHEDULE_FIELDS},
    )


def _text(value) -> str:
    """2.5000 from the database and 2.50 from a form read the same, so only real changes are recorded."""
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


def _describe(version: RateVersion) -> dict[str, str]:
    """A version as plain text by plain-str keys, as the audit stores it (JSON) and people read it."""
    described = {name: _text(getattr(version, name)) for name in SCHEDULE_FIELDS}
    described["tiers"] = "; ".join(
        f"up to {_text(t.up_to)} CCF at ${_text(t.rate)}" if t.up_to is not None else f"above: ${_text(t.rate)}"
        for t in version.tiers
    )
    described["multipliers"] = "; ".join(f"{m}: ×{_text(x)}" for m, x in sorted(version.multipliers.items()))
    described["fees"] = "; ".join(f"{f.label} ({f.code or 'other'}) ${_text(f.amount)}" for f in version.fees)
    return described
