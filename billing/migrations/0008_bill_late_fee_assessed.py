from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def mark_bills_with_a_fee(apps, schema_editor):
    """A bill that has its late fee was judged on the fee's day. Bills without one stay unjudged: the next run
    judges them (a fee if something was open on their grace end), as every run did before."""
    Bill, LedgerEntry = apps.get_model("billing", "Bill"), apps.get_model("billing", "LedgerEntry")
    fee_day = LedgerEntry.objects.filter(bill=OuterRef("pk"), kind="late_fee").values("entry_date")[:1]
    Bill.objects.filter(ledger_entries__kind="late_fee").update(late_fee_assessed_on=Subquery(fee_day))


class Migration(migrations.Migration):
    dependencies = [("billing", "0007_payment_import_retry_of")]

    operations = [
        migrations.AddField(
            model_name="bill", name="late_fee_assessed_on", field=models.DateField(blank=True, null=True)
        ),
        migrations.AddIndex(
            model_name="bill",
            index=models.Index(fields=["status", "late_fee_assessed_on", "due_date"], name="bill_late_fee_pending"),
        ),
        migrations.RunPython(mark_bills_with_a_fee, migrations.RunPython.noop, elidable=True),
    ]
