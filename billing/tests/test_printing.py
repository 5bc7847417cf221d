"""Every issued bill reaches its customer (SPEC §2b): by email, on paper, or both; the print file, its
manifest and the run's delivery report."""

import csv
import datetime
import re
import smtplib
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import DeliveryChoice
from billing.delivery import bills_for_paper, bills_print, delivery_report, mailing_order
from billing.models import Bill, BillDelivery
from billing.services import bill_run_compute, bills_send
from conftest import make_customer

from .conftest import add_month

JULY = datetime.date(2025, 7, 1)


def page_count(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


@pytest.fixture
def people(db):
    """One customer per delivery path, at addresses whose ZIP order differs from their location order."""
    paths = {
        "email": ("email", "e@example.com", "9 Oak St, Dallas, TX 75230"),
        "both": ("paper_and_email", "b@example.com", "5 Elm St, Dallas, TX 75201"),
        "paper": ("paper", "p@example.com", "2 Ash St, Plano, TX 75093"),
        "none": ("email", "", "7 Bay St, Dallas, TX 75201"),
        "fails": ("email", "bounce@example.com", "1 Fir St, Dallas, TX 75204"),
    }
    people = {}
    for i, (key, (choice, email, address)) in enumerate(paths.items()):
        customer = make_customer(
            f"40000000{i}", key.title(), billing_email=email, bill_delivery=choice, mailing_address=address
        )
        add_month(customer, JULY, "10")
        people[key] = customer
    bill_run_compute(period=JULY, issue=True, actor_label="test", today=datetime.date(2025, 8, 3))
    return people


@pytest.fixture
def bounce(monkeypatch):
    """The mail server refuses bounce@example.com and accepts everyone else."""
    from django.core.mail.backends.locmem import EmailBackend

    original = EmailBackend.send_messages

    def send_messages(self, messages):
        if messages[0].to == ["bounce@example.com"]:
            raise smtplib.SMTPRecipientsRefused({"bounce@example.com": (550, b"No such user")})
        return original(self, messages)

    monkeypatch.setattr(EmailBackend, "send_messages", send_messages)


def outcome(customer) -> tuple[bool, bool]:
    bill = Bill.objects.get(customer=customer)
    deliveries = set(BillDelivery.objects.filter(bill=bill).values_list("status", flat=True))
    return ("sent" in deliveries, "printed" in deliveries)


def test_every_delivery_path_ends_emailed_or_printed_both_for_paper_and_email(people, bounce, tmp_path):
    bills_send(period=JULY, actor_label="test")
    printed = bills_print(period=JULY, output_dir=tmp_path, actor_label="test")
    assert {key: outcome(c) for key, c in people.items()} == {
        "email": (True, False),
        "both": (True, True),
        "paper": (False, True),
        "none": (False, True),
        "fails": (False, True),
    }
    report = delivery_report(period=JULY)
    assert (report.issued, report.emailed, report.printed, report.failed) == (5, 2, 4, 1)
    assert (report.reached_nobody, report.nobody) == (0, [])
    assert printed.bills == 4


def test_the_print_file_is_in_mailing_order_and_its_manifest_matches_the_pdf(people, bounce, tmp_path):
    bills_send(period=JULY, actor_label="test")
    printed = bills_print(period=JULY, output_dir=tmp_path, actor_label="test")
    with open(printed.manifest_path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["location_id", "bill_number", "name", "mailing_address", "first_page", "pages"]
    assert [r["mailing_address"] for r in rows] == [
        "2 Ash St, Plano, TX 75093",
        "5 Elm St, Dallas, TX 75201",
        "7 Bay St, Dallas, TX 75201",
        "1 Fir St, Dallas, TX 75204",
    ]
    pdf = Path(printed.pdf_path).read_bytes()
    assert page_count(pdf) == sum(int(r["pages"]) for r in rows) == printed.pages
    first_pages = [int(r["first_page"]) for r in rows]
    assert first_pages[0] == 1
    assert all(b == a + int(r["pages"]) for a, b, r in zip(first_pages, first_pages[1:], rows, strict=False))


def test_printing_twice_prints_once_unless_reprint(people, tmp_path):
    first = bills_print(period=JULY, output_dir=tmp_path, actor_label="test")
    assert bills_print(period=JULY, output_dir=tmp_path, actor_label="test") is None
    again = bills_print(period=JULY, reprint=True, output_dir=tmp_path, actor_label="test")
    assert again.bills == first.bills and again.reprint
    assert BillDelivery.objects.filter(status="printed").count() == 2 * first.bills


def test_an_email_bill_not_sent_yet_reached_nobody_and_is_not_printed(people):
    assert people["email"].bill_delivery == DeliveryChoice.EMAIL
    bill = Bill.objects.get(customer=people["email"])
    assert bill.pk not in bills_for_paper(period=JULY)
    report = delivery_report(period=JULY)
    assert report.reached_nobody == 5 and bill in report.nobody


def test_mailing_order_is_zip_then_address_and_bills_without_a_zip_come_last():
    addresses = ["9 A St, Dallas, TX 75230", "no zip here", "1 B St, Plano, TX 75093-1234", "2 A St, Dallas, TX 75230"]
    ordered = sorted(addresses, key=lambda a: mailing_order(a, "1"))
    assert ordered == [addresses[2], addresses[3], addresses[0], addresses[1]]


def test_print_bills_command_prints_reports_and_exits_by_what_reached_nobody(people, bounce, tmp_path, capsys):
    with pytest.raises(SystemExit) as exited:  # the email bills have not been sent: they reached nobody
        call_command("print_bills", "--period", "2025-07", "--output", str(tmp_path))
    assert exited.value.code == 1
    bills_send(period=JULY, actor_label="test")
    call_command("print_bills", "--period", "2025-07", "--output", str(tmp_path))  # exit 0: nothing raised
    out = capsys.readouterr().out
    assert "0 reached nobody" in out and "Manifest:" in out
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".csv", ".csv", ".pdf", ".pdf"]


def test_print_bills_refuses_a_bad_period_with_exit_2(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError) as refused:
        call_command("print_bills", "--period", "2025-13")
    assert refused.value.returncode == 2
