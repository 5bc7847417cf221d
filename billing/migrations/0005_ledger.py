"""The account (SPEC §2a): the ledger, payments to the account, cancelled bills, late-fee terms.

Existing issued bills are posted as BILL entries dated their issue date; existing payments move from
their bill to its customer and are posted as PAYMENT entries dated when paid."""

from decimal import Decimal

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import billing.models


def post_history(apps, schema_editor):
    Bill = apps.get_model("billing", "Bill")
    Payment = apps.get_model("billing", "Payment")
    LedgerEntry = apps.get_model("billing", "LedgerEntry")
    label = "migration 0005_ledger"
    bills = Bill.objects.filter(status="issued").order_by("issue_date", "id")
    LedgerEntry.objects.bulk_create(
        (
            LedgerEntry(
                customer_id=b.customer_id, entry_date=b.issue_date, amount=b.total_amount, kind="bill",
                due_date=b.due_date, bill_id=b.id, actor_label=label,
            )
            for b in bills.iterator(chunk_size=2000)
        ),
        batch_size=2000,
    )
    seen = set()
    for payment in Payment.objects.select_related("bill").order_by("id").iterator(chunk_size=2000):
        payment.customer_id = payment.bill.customer_id
        # (customer, reference) becomes unique: a reference repeated on one account keeps its payment id
        if payment.reference and (payment.customer_id, payment.reference) in seen:
            payment.reference = f"{payment.reference} #{payment.pk}"[:100]
        seen.add((payment.customer_id, payment.reference))
        payment.save(update_fields=["customer", "reference"])
    LedgerEntry.objects.bulk_create(
        (
            LedgerEntry(
                customer_id=p.customer_id, entry_date=p.paid_on, amount=-p.amount, kind="payment",
                payment_id=p.id, created_by_id=p.recorded_by_id, actor_label=label,
            )
            for p in Payment.objects.order_by("paid_on", "id").iterator(chunk_size=2000)
        ),
        batch_size=2000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_audit_trail_indexes"),
        ("billing", "0004_run_heartbeat"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="rateschedule",
            name="late_fee_percent",
            field=models.DecimalField(
                decimal_places=2, default=Decimal("5.00"), max_digits=5, verbose_name="late fee (%)",
                help_text="Charged once on a bill still open after the grace days; 0 charges none.",
                validators=[
                    django.core.validators.MinValueValidator(Decimal("0")),
                    django.core.validators.MaxValueValidator(Decimal("100")),
                ],
            ),
        ),
        migrations.AddField(
            model_name="rateschedule",
            name="late_fee_grace_days",
            field=models.PositiveSmallIntegerField(
                default=5, verbose_name="late fee grace (days)",
                help_text="Days after the due date before a late fee (payments dated up to the last day count).",
                validators=[django.core.validators.MaxValueValidator(365)],
            ),
        ),
        migrations.AlterField(
            model_name="bill",
            name="status",
            field=models.CharField(
                choices=[("draft", "Draft"), ("issued", "Issued"), ("cancelled", "Cancelled")],
                default="draft", max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="bill",
            name="replaces",
            field=models.OneToOneField(
                blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="replaced_by",
                to="billing.bill",
            ),
        ),
        migrations.AddField(model_name="bill", name="cancelled_at", field=models.DateTimeField(blank=True, null=True)),
        migrations.AddField(
            model_name="bill", name="cancel_reason", field=models.TextField(blank=True, default="", db_default="")
        ),
        migrations.RemoveConstraint(model_name="bill", name="one_bill_per_customer_period"),
        migrations.AddConstraint(
            model_name="bill",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "cancelled"), _negated=True),
                fields=("customer", "period"),
                name="one_live_bill_per_customer_period",
            ),
        ),
        migrations.AddField(
            model_name="payment",
            name="customer",
            field=models.ForeignKey(
                null=True, on_delete=django.db.models.deletion.PROTECT, related_name="payments",
                to="accounts.customer",
            ),
        ),
        migrations.AddField(
            model_name="payment",
            name="source",
            field=models.CharField(
                choices=[("staff", "Recorded by staff"), ("bank_file", "Bank file")], default="staff", max_length=10
            ),
        ),
        migrations.CreateModel(
            name="LedgerEntry",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("entry_date", models.DateField()),
                ("amount", models.DecimalField(decimal_places=2, max_digits=12)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("bill", "Bill"), ("payment", "Payment"), ("late_fee", "Late fee"),
                            ("adjustment", "Adjustment"), ("cancellation", "Cancellation"),
                        ],
                        max_length=12,
                    ),
                ),
                (
                    "due_date",
                    models.DateField(blank=True, help_text="When a charge falls due; empty for credits.", null=True),
                ),
                (
                    "reason",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("leak_allowance", "Leak allowance"), ("goodwill", "Goodwill"),
                            ("correction", "Correction"), ("write_off", "Write-off"),
                        ],
                        max_length=20,
                    ),
                ),
                ("note", models.TextField(blank=True)),
                ("actor_label", models.CharField(blank=True, help_text="Who or which command made it.", max_length=200)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "bill",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_entries", to="billing.bill",
                        help_text="The bill a bill, late fee or cancellation entry refers to.",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="ledger_entries",
                        to="accounts.customer",
                    ),
                ),
                (
                    "payment",
                    models.OneToOneField(
                        blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                        related_name="ledger_entry", to="billing.payment",
                    ),
                ),
            ],
            options={"verbose_name_plural": "ledger entries", "ordering": ["customer", "entry_date", "id"]},
        ),
        migrations.RunPython(post_history, migrations.RunPython.noop, elidable=False),
        migrations.AlterField(
            model_name="payment",
            name="customer",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="payments", to="accounts.customer"
            ),
        ),
        migrations.RemoveField(model_name="payment", name="bill"),
        migrations.AddIndex(
            model_name="payment", index=models.Index(fields=["paid_on"], name="billing_pay_paid_on_a0fdca_idx")
        ),
        migrations.AddConstraint(
            model_name="payment",
            constraint=models.UniqueConstraint(
                condition=models.Q(("reference", ""), _negated=True),
                fields=("customer", "reference"),
                name="one_payment_per_reference",
            ),
        ),
        migrations.AddIndex(
            model_name="ledgerentry",
            index=models.Index(fields=["customer", "entry_date", "id"], name="ledger_customer_date"),
        ),
        migrations.AddIndex(
            model_name="ledgerentry", index=models.Index(fields=["kind", "entry_date"], name="ledger_kind_date")
        ),
        migrations.AddConstraint(
            model_name="ledgerentry",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind__in", ["bill", "late_fee", "cancellation"])),
                fields=("bill", "kind"),
                name="one_entry_of_a_kind_per_bill",
            ),
        ),
        migrations.CreateModel(
            name="PaymentImport",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "state",
                    models.CharField(
                        choices=[("queued", "Queued"), ("running", "Running"), ("done", "Done"), ("failed", "Failed")],
                        default="queued", max_length=10,
                    ),
                ),
                ("actor_label", models.CharField(blank=True, max_length=200)),
                ("file_name", models.CharField(max_length=255)),
                (
                    "upload",
                    models.FileField(blank=True, max_length=300, upload_to=billing.models._payment_upload_path),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("rows_read", models.PositiveIntegerField(default=0)),
                ("payments_recorded", models.PositiveIntegerField(default=0)),
                ("already_recorded", models.PositiveIntegerField(default=0)),
                ("rows_rejected", models.PositiveIntegerField(default=0)),
                ("total_recorded", models.DecimalField(decimal_places=2, default=Decimal("0"), max_digits=12)),
                (
                    "rejects",
                    models.JSONField(blank=True, default=list, help_text="[line, reason, row] of each rejected row."),
                ),
                (
                    "error",
                    models.TextField(blank=True, help_text="Why the file could not be imported (nothing was recorded)."),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"ordering": ["-created_at", "-id"]},
        ),
    ]
