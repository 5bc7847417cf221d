from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.validators import MinValueValidator
from django.db import models

from .validators import validate_location_id, validate_phone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A login. Email is the identifier; there is no username."""

    username = None
    email = models.EmailField("email address", unique=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []

    objects = UserManager()

    class Meta:
        ordering = ["email"]

    def __str__(self):
        return self.email


class CustomerType(models.TextChoices):
    RESIDENTIAL = "residential", "Residential"
    COMMERCIAL = "commercial", "Commercial"
    MUNICIPAL = "municipal", "Municipal"


class DeliveryChoice(models.TextChoices):
    """How a customer's bills reach them (SPEC §2b): the customer's choice, recorded by Support on request."""

    EMAIL = "email", "Email only"
    PAPER_AND_EMAIL = "paper_and_email", "Paper and email"
    PAPER = "paper", "Paper only"


class Customer(models.Model):
    """The utility's customer account: one service location, identified by its Location ID."""

    location_id = models.CharField("location ID", max_length=20, unique=True, validators=[validate_location_id])
    name = models.CharField(max_length=200)
    mailing_address = models.CharField(max_length=300)
    customer_type = models.CharField(max_length=20, choices=CustomerType.choices)
    cycle_number = models.PositiveSmallIntegerField(validators=[MinValueValidator(1)])
    phone = models.CharField(max_length=40, blank=True, validators=[validate_phone])
    business_name = models.CharField(max_length=200, blank=True)
    facility_name = models.CharField(max_length=200, blank=True)
    # A login may hold several accounts (a landlord, a business with sites: issue 16), so this is a foreign
    # key, not one-to-one; each account still has at most one login, which its emails and bills fall back to.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="customers",
        help_text="The portal login of this customer, if they have one. One login may hold several accounts.",
    )
    # The account's own address for bills (SPEC §2b): a customer without a login has one too, and a
    # household may want bills at another address than the one it signs in with.
    billing_email = models.EmailField(
        "billing email", blank=True, help_text="Where bills are emailed. Empty: the login's email, if any."
    )
    bill_delivery = models.CharField(
        "bills by", max_length=20, choices=DeliveryChoice.choices, default=DeliveryChoice.EMAIL
    )
    notify_usage_alerts = models.BooleanField("email me about unusual use", default=True)
    # SPEC §1: contact details changed in HydroSpark (by Support or the customer) are theirs; a later meter
    # import keeps them and reports the difference. The names of those fields, set by customer_update_contact.
    contact_edited = models.JSONField(
        "contact details changed in HydroSpark",
        default=list,
        blank=True,
        help_text="Fields a meter import no longer overwrites: Support or the customer changed them here.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["location_id"]
        indexes = [
            models.Index(fields=["name"]),
            models.Index(fields=["phone"]),
            models.Index(fields=["cycle_number"]),
        ]

    def __str__(self):
        return f"{self.name} ({self.location_id})"

    @property
    def email(self) -> str:
        return self.user.email if self.user_id else ""

    @property
    def bill_email(self) -> str:
        """The address bills go to ("" for none): the billing email, else the login's."""
        return self.billing_email or self.email

    @property
    def gets_bill_email(self) -> bool:
        return bool(self.bill_email) and self.bill_delivery != DeliveryChoice.PAPER

    @property
    def gets_paper_bill(self) -> bool:
        """Paper when chosen, and whenever there is no address to email (SPEC §2b)."""
        return self.bill_delivery != DeliveryChoice.EMAIL or not self.bill_email


class AuditEvent(models.Model):
    """Who did what, when: written by services for every change to customers, rates, bills,
    payments, imports and anomaly reviews. Never edited."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(
        max_length=200, help_text="The login's email, or the command that acted (e.g. 'command run_billing')."
    )
    action = models.CharField(max_length=60)
    target_type = models.CharField(max_length=60, blank=True)
    target_id = models.CharField(max_length=60, blank=True)
    target_repr = models.CharField(max_length=300, blank=True)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="audit_events"
    )
    summary = models.CharField(max_length=500, blank=True)
    changes = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        # The trail is read newest first, often filtered by action or record type: these serve the filter
        # and the order at once (a filter on `action` alone made SQLite sort 25,000 rows per page).
        indexes = [
            models.Index(fields=["action", "-at"], name="audit_action_newest"),
            models.Index(fields=["target_type", "-at"], name="audit_type_newest"),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label}: {self.action} {self.target_repr}"
