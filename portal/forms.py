"""The customer's own profile forms. Saving goes through accounts.services.customer_update_contact."""

import re

from django import forms

from accounts.models import Customer

PHONE = re.compile(r"^\+?[\d\s().\-]{7,25}$")


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
        phone = " ".join(self.cleaned_data["phone"].split())
        if phone and (not PHONE.match(phone) or sum(c.isdigit() for c in phone) < 7):
            raise forms.ValidationError("Enter a phone number with at least 7 digits, e.g. (214) 555-0100.")
        return phone

    def clean_mailing_address(self):
        # one line, as printed on bills and in the meter export
        address = ", ".join(part.strip(" ,") for part in self.cleaned_data["mailing_address"].splitlines())
        address = " ".join(address.split()).strip(" ,")
        if not address:
            raise forms.ValidationError("Enter your mailing address.")
        return address


class PreferencesForm(forms.Form):
    notify_bill_emails = forms.BooleanField(
        label="Email me my bills", required=False, help_text="Each new bill, with its PDF attached."
    )
    notify_usage_alerts = forms.BooleanField(
        label="Email me about unusual use",
        required=False,
        help_text="When your meter shows much more use than usual: often the first sign of a leak.",
    )
