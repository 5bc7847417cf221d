"""The customer's billing email and bill delivery choice (SPEC §2b).

Existing accounts take their login's email as billing email; a customer who had turned bill emails off
("email me my bills" unticked) gets paper only, so nobody who asked for no email starts receiving one."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def fill_from_logins(apps, schema_editor):
    Customer = apps.get_model("accounts", "Customer")
    User = apps.get_model("accounts", "User")
    login_email = User.objects.filter(pk=OuterRef("user_id")).values("email")[:1]
    Customer.objects.filter(billing_email="", user__isnull=False).update(billing_email=Subquery(login_email))
    Customer.objects.filter(notify_bill_emails=False).update(bill_delivery="paper")


def restore_opt_out(apps, schema_editor):
    Customer = apps.get_model("accounts", "Customer")
    Customer.objects.filter(bill_delivery="paper").update(notify_bill_emails=False)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_audit_trail_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="billing_email",
            field=models.EmailField(
                blank=True,
                help_text="Where bills are emailed. Empty: the login's email, if any.",
                max_length=254,
                verbose_name="billing email",
            ),
        ),
        migrations.AddField(
            model_name="customer",
            name="bill_delivery",
            field=models.CharField(
                choices=[("email", "Email only"), ("paper_and_email", "Paper and email"), ("paper", "Paper only")],
                default="email",
                max_length=20,
                verbose_name="bills by",
            ),
        ),
        migrations.RunPython(fill_from_logins, restore_opt_out),
        migrations.RemoveField(model_name="customer", name="notify_bill_emails"),
    ]
