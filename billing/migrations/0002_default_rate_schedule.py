"""SPEC §2's default rate schedule as data: every customer type, from the beginning of the records."""

import datetime
from decimal import Decimal

from django.db import migrations

EFFECTIVE_FROM = datetime.date(2000, 1, 1)
TIERS = [(Decimal("10"), Decimal("2.50")), (Decimal("20"), Decimal("3.00")), (None, Decimal("3.50"))]
MULTIPLIERS = {6: "1.20", 7: "1.20", 8: "1.20", 12: "0.90", 1: "0.90", 2: "0.90"}
FEES = [("base", "Base service fee", Decimal("15.00")), ("infrastructure", "Infrastructure fee", Decimal("5.00"))]


def create_default(apps, schema_editor):
    RateSchedule = apps.get_model("billing", "RateSchedule")
    if RateSchedule.objects.filter(customer_type="", effective_from=EFFECTIVE_FROM).exists():
        return
    schedule = RateSchedule.objects.create(
        name="Standard rates",
        customer_type="",
        effective_from=EFFECTIVE_FROM,
        notes="The default schedule of SPEC §2, created by migration.",
    )
    for up_to, rate in TIERS:
        schedule.tiers.create(up_to=up_to, rate=rate)
    for month, multiplier in MULTIPLIERS.items():
        schedule.multipliers.create(month=month, multiplier=Decimal(multiplier))
    for position, (code, label, amount) in enumerate(FEES):
        schedule.fees.create(code=code, label=label, amount=amount, position=position)


def remove_default(apps, schema_editor):
    RateSchedule = apps.get_model("billing", "RateSchedule")
    RateSchedule.objects.filter(customer_type="", effective_from=EFFECTIVE_FROM, bills__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(create_default, remove_default)]
