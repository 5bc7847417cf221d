"""Realistic demo meter data, generated with numpy: pure functions, no database.

Used by `seed_demo` (a few hundred customers) and by the benchmarks (up to 100,000 customers or
2 million reads). The same seed gives the same data. Each customer's daily use is

    base (by type) × season (summer peak) × weekly rhythm (by type) × log-normal noise

plus planted events whose truth is returned for measuring detectors: *leaks* (a sustained extra
flow for 5–40 days) and *spikes* (one day of several times the usual use).
"""

import datetime
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

EXPORT_COLUMNS = [
    "Customer Name",
    "Mailing Address",
    "Location ID",
    "Customer Type",
    "Cycle Number",
    "Customer Phone Number",
    "Business Name",
    "Facility Name",
    "Year",
    "Month",
    "Day",
    "Daily Water Usage (CCF)",
]

# Mean daily use in CCF by customer type, and the spread of that mean between customers.
BASE_CCF = {"Residential": (0.35, 0.35), "Commercial": (4.0, 0.6), "Municipal": (12.0, 0.7)}
TYPE_SHARES = {"Residential": 0.82, "Commercial": 0.13, "Municipal": 0.05}
# Relative use Monday..Sunday.
WEEKLY = {
    "Residential": np.array([0.95, 0.95, 0.95, 0.97, 1.0, 1.08, 1.1]),
    "Commercial": np.array([1.1, 1.1, 1.1, 1.1, 1.05, 0.8, 0.75]),
    "Municipal": np.array([1.05, 1.05, 1.05, 1.05, 1.0, 0.9, 0.9]),
}
CYCLES = np.arange(1, 21)

FIRST = [
    "Olivia",
    "Liam",
    "Emma",
    "Mateo",
    "Ava",
    "Elijah",
    "Sophia",
    "James",
    "Isabella",
    "Lucas",
    "Mia",
    "Benjamin",
    "Amelia",
    "Diego",
    "Harper",
    "Ethan",
    "Evelyn",
    "Santiago",
    "Camila",
    "Henry",
    "Grace",
    "Jackson",
    "Chloe",
    "Aiden",
    "Lily",
    "Sebastian",
    "Zoe",
    "Daniel",
    "Nora",
    "Samuel",
]
LAST = [
    "Smith",
    "Johnson",
    "Garcia",
    "Martinez",
    "Brown",
    "Davis",
    "Rodriguez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Nguyen",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
]
STREETS = [
    "Oak",
    "Elm",
    "Pecan",
    "Live Oak",
    "Magnolia",
    "Cedar",
    "Mockingbird",
    "Bluebonnet",
    "Ross",
    "Swiss",
    "Gaston",
    "Lemmon",
    "Preston",
    "Bishop",
    "Davis",
    "Jefferson",
    "Main",
    "Commerce",
]
SUFFIXES = ["St", "Ave", "Blvd", "Ln", "Dr", "Way", "Ct"]
CITIES = [("Dallas", "752"), ("Irving", "750"), ("Garland", "750"), ("Mesquite", "751"), ("Plano", "750")]
BUSINESSES = [
    "Bakery",
    "Car Wash",
    "Laundromat",
    "Cafe",
    "Dental Clinic",
    "Fitness Center",
    "Hotel",
    "Grocery",
    "Auto Repair",
    "Brewery",
    "Salon",
    "Diner",
]
FACILITIES = [
    "City Park",
    "Recreation Center",
    "Fire Station",
    "Public Library",
    "Community Pool",
    "Municipal Golf Course",
    "Water Tower Grounds",
    "Sports Complex",
]


@dataclass(frozen=True)
class DemoData:
    customers: pd.DataFrame  # one row per customer, columns as the export's customer columns
    reads: pd.DataFrame  # location_id, read_date (datetime64), usage_ccf (float, 2 decimals)
    events: pd.DataFrame  # planted truth: location_id, kind (leak|spike), start, end, extra_ccf


def generate_customers(n: int, seed: int = 7, first_location_id: int = 200_000_001) -> pd.DataFrame:
    """n customer accounts with plausible Dallas-area details, all columns as strings except cycle."""
    rng = np.random.default_rng(seed)
    types = rng.choice(list(TYPE_SHARES), size=n, p=list(TYPE_SHARES.values()))
    first = rng.choice(FIRST, n)
    last = rng.choice(LAST, n)
    city_idx = rng.integers(0, len(CITIES), n)
    numbers = rng.integers(100, 9999, n)
    streets = rng.choice(STREETS, n)
    suffixes = rng.choice(SUFFIXES, n)
    businesses = rng.choice(BUSINESSES, n)
    facilities = rng.choice(FACILITIES, n)
    frame = pd.DataFrame(
        {
            "location_id": (first_location_id + np.arange(n)).astype(str),
            "name": [f"{f} {s}" for f, s in zip(first, last, strict=True)],
            "mailing_address": [
                f"{num} {st} {sfx}, {CITIES[c][0]}, TX {CITIES[c][1]}{num % 100:02d}"
                for num, st, sfx, c in zip(numbers, streets, suffixes, city_idx, strict=True)
            ],
            "customer_type": types,
            "cycle_number": rng.choice(CYCLES, n),
            "phone": [f"(214) 555-{x:04d}" for x in rng.integers(0, 10_000, n)],
        }
    )
    frame["business_name"] = np.where(
        types == "Commercial", [f"{s} {b}" for s, b in zip(last, businesses, strict=True)], ""
    )
    frame["facility_name"] = np.where(
        types == "Municipal", [f"{c} {CITIES[i][0]}" for c, i in zip(facilities, city_idx, strict=True)], ""
    )
    _add_bill_delivery(frame, first, last, seed)
    return frame


def _add_bill_delivery(frame: pd.DataFrame, first, last, seed: int) -> None:
    """Billing email and delivery choice (not in the meter export): about 4 in 5 customers gave an email; of
    those, most take bills by email only, some on paper as well, a few paper only. The draws use their own
    generator, so the export's columns stay what they were for a given seed."""
    rng = np.random.default_rng(seed + 1_000)
    n = len(frame)
    has_email = rng.random(n) < 0.82
    domains = rng.choice(["example.com", "example.net", "example.org"], n)
    emails = [f"{f}.{s}{i % 97}@{d}".lower() for i, (f, s, d) in enumerate(zip(first, last, domains, strict=True))]
    frame["billing_email"] = np.where(has_email, emails, "")
    choice = rng.choice(["email", "paper_and_email", "paper"], n, p=[0.72, 0.18, 0.10])
    frame["bill_delivery"] = np.where(has_email, choice, "email")


def _seasonal_factor(dates: pd.DatetimeIndex) -> np.ndarray:
    """Summer peak (late July) about 1.45×, winter trough about 0.75× of the mean."""
    doy = dates.day_of_year.to_numpy()
    return 1.1 + 0.35 * np.cos(2 * np.pi * (doy - 205) / 365.25)


def generate_reads(
    customers: pd.DataFrame,
    start: datetime.date,
    end: datetime.date,
    seed: int = 11,
    leak_share: float = 0.06,
    spike_share: float = 0.15,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily reads for every customer from start to end inclusive, and the planted events."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, end, freq="D")
    n_cust, n_days = len(customers), len(dates)
    types = customers["customer_type"].to_numpy()
    base = np.empty(n_cust)
    weekly = np.empty((n_cust, 7))
    for kind, (mean, spread) in BASE_CCF.items():
        mask = types == kind
        base[mask] = mean * rng.lognormal(0.0, spread, mask.sum()) / np.exp(spread**2 / 2)
        weekly[mask] = WEEKLY[kind]
    season = _seasonal_factor(dates)
    dow = dates.day_of_week.to_numpy()
    usage = base[:, None] * season[None, :] * weekly[:, dow] * rng.lognormal(0.0, 0.28, (n_cust, n_days))

    events = []
    if n_days >= 60:
        for i in np.flatnonzero(rng.random(n_cust) < leak_share):
            length = int(rng.integers(5, 41))
            first = int(rng.integers(n_days // 3, n_days - length))
            extra = base[i] * rng.uniform(1.5, 4.0)
            usage[i, first : first + length] += extra
            events.append((customers["location_id"].iat[i], "leak", dates[first], dates[first + length - 1], extra))
        for i in np.flatnonzero(rng.random(n_cust) < spike_share):
            day = int(rng.integers(30, n_days))
            extra = usage[i, day] * rng.uniform(3.0, 7.0)
            usage[i, day] += extra
            events.append((customers["location_id"].iat[i], "spike", dates[day], dates[day], extra))

    reads = pd.DataFrame(
        {
            "location_id": np.repeat(customers["location_id"].to_numpy(), n_days),
            "read_date": np.tile(dates.to_numpy(), n_cust),
            "usage_ccf": np.round(usage.ravel(), 2),
        }
    )
    event_frame = pd.DataFrame(events, columns=["location_id", "kind", "start", "end", "extra_ccf"])
    return reads, event_frame


def generate(n_customers: int, start: datetime.date, end: datetime.date, seed: int = 7) -> DemoData:
    customers = generate_customers(n_customers, seed=seed)
    reads, events = generate_reads(customers, start, end, seed=seed + 1)
    return DemoData(customers=customers, reads=reads, events=events)


def to_export_frame(customers: pd.DataFrame, reads: pd.DataFrame) -> pd.DataFrame:
    """The reads in the utility's meter export layout (one row per customer per day)."""
    merged = reads.merge(customers, on="location_id", how="left", validate="many_to_one")
    dates = pd.DatetimeIndex(merged["read_date"])
    return pd.DataFrame(
        {
            "Customer Name": merged["name"],
            "Mailing Address": merged["mailing_address"],
            "Location ID": merged["location_id"],
            "Customer Type": merged["customer_type"],
            "Cycle Number": merged["cycle_number"],
            "Customer Phone Number": merged["phone"],
            "Business Name": merged["business_name"],
            "Facility Name": merged["facility_name"],
            "Year": dates.year,
            "Month": dates.month,
            "Day": dates.day,
            "Daily Water Usage (CCF)": merged["usage_ccf"],
        },
        columns=EXPORT_COLUMNS,
    )


def iter_export_chunks(
    n_customers: int, start: datetime.date, end: datetime.date, chunk_customers: int = 2_000, seed: int = 7
) -> Iterator[pd.DataFrame]:
    """A large export in chunks of customers, so benchmarks can write millions of rows in little memory."""
    customers = generate_customers(n_customers, seed=seed)
    for offset in range(0, n_customers, chunk_customers):
        chunk = customers.iloc[offset : offset + chunk_customers]
        reads, _ = generate_reads(chunk, start, end, seed=seed + 1 + offset)
        yield to_export_frame(chunk, reads)


def extend_like(history: pd.Series, end: datetime.date, seed: int = 3) -> pd.Series:
    """Continue a daily series (indexed by date) up to `end`, each new day drawn from the same calendar
    month of the history, so the extension keeps the customer's own seasonal pattern."""
    rng = np.random.default_rng(seed)
    last = pd.Timestamp(history.index.max())
    new_dates = pd.date_range(last + pd.Timedelta(days=1), pd.Timestamp(end), freq="D")
    if new_dates.empty:
        return history.iloc[:0]
    by_month = {m: grp.to_numpy() for m, grp in history.groupby(pd.DatetimeIndex(history.index).month)}
    values = [rng.choice(by_month[d.month]) for d in new_dates]
    return pd.Series(values, index=new_dates, name=history.name)
