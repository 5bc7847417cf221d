"""The customer's own profile forms. Saving goes through accounts.services.customer_update_contact."""

from django import forms

from accounts.exceptions import AccountError
from accounts.models import Customer, DeliveryChoice
from accounts.services import clean_billing_email
from accounts.validators import normalize_phone, validate_phone


class ContactForm(forms.Form):
    phone = forms.CharField(
        label="Phone number",
        max_length=40,
        required=False,
        help_text="We call this number about leaks and service work.",
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    mailing_address = forms.CharField(
        label="Mailing address",
        max_length=Customer._meta.get_field("mailing_address").max_length,
        help_text="Where paper notices go. Your service location does not change.",
        widget=forms.Textarea(attrs={"rows": 2, "autocomplete": "street-address"}),
    )

    def clean_phone(self):
        phone = normalize_phone(self.cleaned_data["phone"])
        validate_phone(phone)  # the one rule, as on Support's form and in the admin
        return phone

    def clean_mailing_address(self):
        # one line, as printed on bills and in the meter export
        address = ", ".join(part.strip(" ,") for part in self.cleaned_data["mailing_address"].splitlines())
        address = " ".join(address.split()).strip(" ,")
        if not address:
            raise forms.ValidationError("Enter your mailing address.")
        # Joining lines with ", " lengthens the text: the limit is the column's, on what is stored.
        limit = Customer._meta.get_field("mailing_address").max_length
        if len(address) > limit:
            raise forms.ValidationError(
                f"Keep the address to {limit} characters: it has {len(address)} once its lines are joined on one line."
            )
        return address


class DeliveryForm(forms.Form):
    """How the customer's bills reach them; saved through accounts.services.customer_update_delivery."""

    bill_delivery = forms.ChoiceField(
        label="Send my bills by",
        choices=DeliveryChoice.choices,
        widget=forms.RadioSelect,
        help_text="Without a billing email, bills come on paper.",
    )
    billing_email = forms.CharField(
        label="Billing email",
        max_length=Customer._meta.get_field("billing_email").max_length,
        required=False,
        help_text="Bills are emailed here, with the PDF attached. It may differ from your sign-in email.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )

    def clean_billing_email(self):
        try:
            return clean_billing_email(self.cleaned_data["billing_email"])
        except AccountError as error:
            raise forms.ValidationError(str(error)) from None

    def clean(self):
        data = super().clean()
        if data.get("bill_delivery") != DeliveryChoice.PAPER and data.get("billing_email") == "":
            self.add_error("billing_email", "Enter the address to email your bills to, or choose paper only.")
        return data


class PreferencesForm(forms.Form):
    notify_usage_alerts = forms.BooleanField(
        label="Email me about unusual use",
        required=False,
        help_text="When your meter shows much more use than usual: often the first sign of a leak.",
    )


class AlertsForm(forms.Form):
    """The alerts a customer chooses (issue 16); saved through portal.services.alert_settings_save."""

    MAX_AWAY_DAYS = 366

    budget = forms.DecimalField(
        label="Monthly budget ($)",
        required=False,
        min_value=1,
        max_value=100_000,
        decimal_places=2,
        help_text="We tell you when your anticipated bill reaches 75%, 90% and 100% of it. Leave empty for none.",
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
    )
    away_from = forms.DateField(label="Away from", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    away_until = forms.DateField(label="Away until", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    email = forms.BooleanField(label="Email me these alerts too", required=False)

    def clean(self):
        data = super().clean()
        start, end = data.get("away_from"), data.get("away_until")
        if (start is None) != (end is None) and not self.errors:
            self.add_error("away_until" if start else "away_from", "Enter both dates you are away, or neither.")
        elif start and end and end < start:
            self.add_error("away_until", "The day you are back comes after the day you leave.")
        elif start and end and (end - start).days >= self.MAX_AWAY_DAYS:
            self.add_error("away_until", "A vacation is at most a year: set a shorter one.")
        return data
