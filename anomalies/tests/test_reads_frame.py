"""metering.selectors.reads_frame, which detection loads every read through (its fast path fetches
dates as day numbers computed by the database, so check it on each database)."""

import datetime

import pandas as pd
import pytest

from anomalies.tests.factories import store_reads
from conftest import make_customer
from metering.selectors import reads_frame

pytestmark = pytest.mark.django_db


def test_reads_frame_returns_every_read_sorted_with_exact_dates_and_usage():
    late = make_customer("100000020", "Late Larry")
    early = make_customer("100000010", "Early Erin")
    store_reads(late, datetime.date(2024, 2, 28), ["1.2345", "0", "7.0001"])
    store_reads(early, datetime.date(1969, 12, 30), ["0.5600", "0.07"])
    frame = reads_frame()
    assert frame.dtypes.astype(str).to_dict() == {
        "customer_id": "int64",
        "read_date": "datetime64[s]",
        "usage_ccf": "float64",
    }
    expected = {
        (late.pk, "2024-02-28", 1.2345),
        (late.pk, "2024-02-29", 0.0),
        (late.pk, "2024-03-01", 7.0001),
        (early.pk, "1969-12-30", 0.56),
        (early.pk, "1969-12-31", 0.07),
    }
    got = {(c, d.strftime("%Y-%m-%d"), u) for c, d, u in frame.itertuples(index=False)}
    assert got == expected
    assert frame.equals(frame.sort_values(["customer_id", "read_date"]).reset_index(drop=True))


def test_reads_frame_filters_by_customer_and_dates_and_can_be_empty():
    customer = make_customer("100000010", "Erin")
    other = make_customer("100000011", "Olly")
    store_reads(customer, datetime.date(2024, 1, 1), [0.1] * 10)
    store_reads(other, datetime.date(2024, 1, 1), [0.2] * 10)
    frame = reads_frame(customer_ids=[customer.pk], start=datetime.date(2024, 1, 3), end=datetime.date(2024, 1, 5))
    assert frame["read_date"].tolist() == list(pd.to_datetime(["2024-01-03", "2024-01-04", "2024-01-05"]))
    assert set(frame["customer_id"]) == {customer.pk}
    empty = reads_frame(customer_ids=[])
    assert empty.empty and list(empty.columns) == ["customer_id", "read_date", "usage_ccf"]
