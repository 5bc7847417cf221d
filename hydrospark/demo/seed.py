"""Demo data for `seed_demo` (never in production): the SPEC §6 logins, Noah Hernandez's real meter
history extended to yesterday, and a few hundred generated customers. Safe to run again: it only adds
what is missing (new days since the last run, accounts that do not exist yet)."""

import datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import Customer, CustomerType, User
from accounts.roles import Role
from metering.models import MeterRead

from .generator import extend_like, generate_customers, generate_reads

DEMO_PASSWORD = "password123"
STAFF_LOGINS = [
    ("ops@hydrospark.com", "Olivia", "Ortiz", Role.OPERATIONS),
    ("billing@hydrospark.com", "Ben", "Baker", Role.BILLING),
    ("support@hydrospark.com", "Sofia", "Silva", Role.SUPPORT),
]
NOAH_EMAIL = "noah@example.com"
NOAH_LOCATION_ID = "101887055"
REAL_EXPORT = Path(settings.BASE_DIR) / "fixtures" / "TX_Daily_Water_Usage_101887055.xlsx"
DEMO_YEARS = 3


def seed_staff() -> int:
    """The three staff logins, each in its role group. Returns how many were created."""
    created = 0
    for email, first, last, role in STAFF_LOGINS:
        user, was_created = User.objects.get_or_create(
            email=email, defaults={"first_name": first, "last_name": last, "is_staff": True}
        )
        if was_created:
            user.set_password(DEMO_PASSWORD)
            user.save()
            created += 1
        user.groups.add(Group.objects.get(name=role))
    return created


def _login_for(customer: Customer, email: str) -> None:
    if customer.user_id is None:
        first, _, last = customer.name.partition(" ")
        user = User.objects.create_user(email=email, password=DEMO_PASSWORD, first_name=first, last_name=last)
        customer.user = user
        customer.save(update_fields=["user"])


def _customer_type(value: str) -> str:
    return CustomerType(value.strip().lower()).value


def _store_reads(customer_ids: dict[str, int], reads: pd.DataFrame) -> int:
    """Insert reads that are not stored yet; existing (customer, day) pairs are left untouched."""
    objs = [
        MeterRead(customer_id=customer_ids[loc], read_date=day.date(), usage_ccf=Decimal(str(usage)))
        for loc, day, usage in reads[["location_id", "read_date", "usage_ccf"]].itertuples(index=False)
    ]
    before = MeterRead.objects.count()
    MeterRead.objects.bulk_create(objs, batch_size=5_000, ignore_conflicts=True)
    return MeterRead.objects.count() - before


def seed_noah(yesterday: datetime.date) -> int:
    """Noah Hernandez: the real export, then generated days in the same pattern up to yesterday."""
    export = pd.read_excel(REAL_EXPORT, sheet_name=0, engine="calamine")
    first = export.iloc[-1]
    customer, _ = Customer.objects.get_or_create(
        location_id=NOAH_LOCATION_ID,
        defaults={
            "name": first["Customer Name"],
            "mailing_address": first["Mailing Address"],
            "customer_type": _customer_type(first["Customer Type"]),
            "cycle_number": int(first["Cycle Number"]),
            "phone": first["Customer Phone Number"],
        },
    )
    _login_for(customer, NOAH_EMAIL)
    history = pd.Series(
        export["Daily Water Usage (CCF)"].astype(float).round(4).to_numpy(),
        index=pd.to_datetime(export[["Year", "Month", "Day"]]),
    )
    extension = extend_like(history, yesterday)
    series = pd.concat([history, extension])
    reads = pd.DataFrame({"location_id": NOAH_LOCATION_ID, "read_date": series.index, "usage_ccf": series.to_numpy()})
    return _store_reads({NOAH_LOCATION_ID: customer.pk}, reads)


def seed_customers(count: int, yesterday: datetime.date) -> tuple[int, int]:
    """Generated customers with daily reads from January three years back up to yesterday.
    Returns (customers created, reads created)."""
    frame = generate_customers(count)
    existing = set(Customer.objects.filter(location_id__in=frame["location_id"]).values_list("location_id", flat=True))
    new = frame[~frame["location_id"].isin(existing)]
    Customer.objects.bulk_create(
        [
            Customer(
                location_id=row.location_id,
                name=row.name,
                mailing_address=row.mailing_address,
                customer_type=_customer_type(row.customer_type),
                cycle_number=int(row.cycle_number),
                phone=row.phone,
                business_name=row.business_name,
                facility_name=row.facility_name,
            )
            for row in new.itertuples(index=False)
        ],
        batch_size=1_000,
    )
    ids = dict(Customer.objects.filter(location_id__in=frame["location_id"]).values_list("location_id", "pk"))
    start = datetime.date(yesterday.year - DEMO_YEARS + 1, 1, 1)
    reads, _events = generate_reads(frame, start, yesterday)
    last_stored = (
        MeterRead.objects.filter(customer_id__in=ids.values())
        .order_by("-read_date")
        .values_list("read_date", flat=True)
        .first()
    )
    if last_stored is not None:
        reads = reads[reads["read_date"] > pd.Timestamp(last_stored)]
    return len(new), _store_reads(ids, reads)


@transaction.atomic
def seed_demo(*, customers: int, today: datetime.date, log=print) -> None:
    yesterday = today - datetime.timedelta(days=1)
    log(f"Staff logins created: {seed_staff()}")
    log(f"Noah Hernandez (101887055): {seed_noah(yesterday)} reads added")
    created, reads = seed_customers(customers, yesterday)
    log(f"Generated customers: {created} created, {reads} reads added")
    from billing.demo import seed_bills  # billing builds on the reads above

    issued, payments = seed_bills(today=today, recorded_by=User.objects.filter(email="billing@hydrospark.com").first())
    log(f"Bills for the past months: {issued} issued, {payments} payments recorded")
    from anomalies.services import anomalies_detect  # the review queue and portal notices need findings

    runs = anomalies_detect(actor_label="command seed_demo", notify=False, progress=lambda _: None)
    log("Anomalies found: " + ", ".join(f"{run.method} {run.found} ({run.created} new)" for run in runs))
