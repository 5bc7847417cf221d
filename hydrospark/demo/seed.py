"""Demo data for `seed_demo` (never in production): the SPEC §6 logins, Noah Hernandez's real meter
history extended to yesterday, and a few hundred generated customers. Safe to run again: it only adds
what is missing (new days since the last run, accounts that do not exist yet)."""

import datetime
from pathlib import Path

import pandas as pd
from django.conf import settings
from django.contrib.auth.models import Group
from django.db import transaction

from accounts.models import Customer, User
from accounts.roles import Role
from accounts.services import login_create
from metering.models import ImportRun, ImportStatus
from metering.selectors import last_read_dates
from metering.services import meter_file_import, meter_frames_import

from .generator import extend_like, generate_customers, generate_reads, to_export_frame

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
        user = User.objects.filter(email=email).first()
        if user is None:
            user = login_create(email=email, password=DEMO_PASSWORD, first_name=first, last_name=last, is_staff=True)
            created += 1
        user.groups.add(Group.objects.get(name=role))
    return created


def _login_for(customer: Customer, email: str) -> None:
    if customer.user_id is None:
        first, _, last = customer.name.partition(" ")
        user = login_create(email=email, password=DEMO_PASSWORD, first_name=first, last_name=last)
        customer.user = user
        customer.save(update_fields=["user"])


IMPORT_ACTOR = "command seed_demo"


def _imported(run: ImportRun) -> ImportRun:
    """Demo data must import cleanly: anything else is a bug in the generator or the importer."""
    if run.status != ImportStatus.DONE or run.rows_rejected:
        raise RuntimeError(f"The demo import of {run.file_name} did not go through: {run.summary()}")
    return run


def _import_frame(frame: pd.DataFrame, name: str) -> ImportRun:
    """Reads in the export layout, through the same import service as the command and the upload page."""
    return _imported(meter_frames_import(frames=lambda: [frame], name=name, actor_label=IMPORT_ACTOR))


def _new_days_only(reads: pd.DataFrame) -> pd.DataFrame:
    """The reads dated after each location's latest stored read: reruns add only the days since."""
    last = last_read_dates(location_ids=reads["location_id"].unique())
    cutoff = pd.to_datetime(reads["location_id"].map({loc: pd.Timestamp(day) for loc, day in last.items()}))
    return reads[cutoff.isna() | (reads["read_date"] > cutoff)]


def seed_noah(yesterday: datetime.date) -> int:
    """Noah Hernandez: the real export, imported as Operations would, then generated days in the same
    pattern up to yesterday. Returns the reads added."""
    added = _imported(meter_file_import(path=REAL_EXPORT, actor_label=IMPORT_ACTOR)).reads_created
    customer = Customer.objects.get(location_id=NOAH_LOCATION_ID)
    _login_for(customer, NOAH_EMAIL)
    export = pd.read_excel(REAL_EXPORT, sheet_name=0, engine="calamine")
    history = pd.Series(
        export["Daily Water Usage (CCF)"].astype(float).round(4).to_numpy(),
        index=pd.to_datetime(export[["Year", "Month", "Day"]]),
    )
    extension = extend_like(history, yesterday)
    reads = _new_days_only(
        pd.DataFrame({"location_id": NOAH_LOCATION_ID, "read_date": extension.index, "usage_ccf": extension.to_numpy()})
    )
    if reads.empty:
        return added
    details = pd.DataFrame(
        [
            {
                "location_id": customer.location_id,
                "name": customer.name,
                "mailing_address": customer.mailing_address,
                "customer_type": customer.customer_type,
                "cycle_number": customer.cycle_number,
                "phone": customer.phone,
                "business_name": customer.business_name,
                "facility_name": customer.facility_name,
            }
        ]
    )
    return added + _import_frame(to_export_frame(details, reads), "Noah Hernandez, days since the export").reads_created


def seed_customers(count: int, yesterday: datetime.date) -> tuple[int, int]:
    """Generated customers with daily reads from January three years back up to yesterday.
    Returns (customers created, reads created)."""
    frame = generate_customers(count)
    start = datetime.date(yesterday.year - DEMO_YEARS + 1, 1, 1)
    reads, _events = generate_reads(frame, start, yesterday)
    reads = _new_days_only(reads)
    if reads.empty:
        return 0, 0
    run = _import_frame(to_export_frame(frame, reads), f"{count} generated customers")
    _seed_bill_delivery(frame)
    return run.customers_created, run.reads_created


def _seed_bill_delivery(frame) -> None:
    """The generated billing emails and delivery choices, on accounts that have none yet (a rerun keeps
    what was changed since)."""
    rows = frame.itertuples(index=False)
    wanted = {r.location_id: (r.billing_email, r.bill_delivery) for r in rows if r.billing_email}
    customers = list(Customer.objects.filter(location_id__in=list(wanted), billing_email="", user__isnull=True))
    for customer in customers:
        customer.billing_email, customer.bill_delivery = wanted[customer.location_id]
    Customer.objects.bulk_update(customers, ["billing_email", "bill_delivery"], batch_size=1_000)


@transaction.atomic
def seed_demo(*, customers: int, today: datetime.date, log=print) -> None:
    yesterday = today - datetime.timedelta(days=1)
    log(f"Staff logins created: {seed_staff()}")
    log(f"Noah Hernandez (101887055): {seed_noah(yesterday)} reads added")
    created, reads = seed_customers(customers, yesterday)
    log(f"Generated customers: {created} created, {reads} reads added")
    from billing.demo import seed_bills  # billing builds on the reads above

    figures = seed_bills(today=today, recorded_by=User.objects.filter(email="billing@hydrospark.com").first())
    log(f"Accounts for the past months: {figures.summary()}")
    from anomalies.services import anomalies_detect  # the review queue and portal notices need findings

    runs = anomalies_detect(actor_label="command seed_demo", notify=False, progress=lambda _: None)
    log("Anomalies found: " + ", ".join(f"{run.method} {run.found} ({run.created} new)" for run in runs))
