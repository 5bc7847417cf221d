from django import forms

from accounts.exceptions import AccountError
from accounts.models import Customer, DeliveryChoice
from accounts.services import CONTACT_FIELDS, clean_billing_email
from hydrospark.query import DateFilterField

from .services import NOTE_MAX_LENGTH


class CustomerSearchForm(forms.Form):
    q = forms.CharField(
        label="Find a customer",
        max_length=200,
        required=False,
        widget=forms.TextInput(
            attrs={"placeholder": "Name, location ID, phone or email", "autofocus": True, "type": "search"}
        ),
    )


class ContactForm(forms.ModelForm):
    """The contact details Support may change (SPEC §5); the change goes through customer_update_contact."""

    class Meta:
        model = Customer
        fields = CONTACT_FIELDS
        widgets = {"mailing_address": forms.TextInput()}

    def clean(self):
        data = super().clean()
        for name in CONTACT_FIELDS:
            if isinstance(data.get(name), str):
                data[name] = " ".join(data[name].split())
        return data


class DeliveryRequestForm(forms.Form):
    """Support records how a customer asked for their bills (SPEC §2b: the choice is the customer's)."""

    billing_email = forms.CharField(label="Billing email", max_length=254, required=False)
    bill_delivery = forms.ChoiceField(label="Bills by", choices=DeliveryChoice.choices, widget=forms.RadioSelect)
    request_note = forms.CharField(
        label="What the customer asked for",
        max_length=400,
        help_text="Recorded in the account's history, e.g. 'Phoned on 3 May: wants paper bills too.'",
        widget=forms.TextInput(),
    )

    def clean_billing_email(self):
        try:
            return clean_billing_email(self.cleaned_data["billing_email"])
        except AccountError as error:
            raise forms.ValidationError(str(error)) from None


class NoteForm(forms.Form):
    body = forms.CharField(
        label="Add a note",
        max_length=NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What happened, what was promised…"}),
    )


class AuditFilterForm(forms.Form):
    """Filters of the audit trail; choices are the actions and target types that occur in it."""

    actor = forms.CharField(label="Who", required=False, max_length=200, help_text="Start of an email or command")
    action = forms.ChoiceField(required=False)
    target_type = forms.ChoiceField(label="Record type", required=False)
    location_id = forms.CharField(label="Location ID", required=False, max_length=20)
    since = DateFilterField(label="From")
    until = DateFilterField(label="To")

    def __init__(self, *args, actions=(), target_types=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["action"].choices = [("", "Any action"), *((a, a) for a in actions)]
        self.fields["target_type"].choices = [("", "Any record"), *((t, t) for t in target_types)]
        for field in self.fields.values():
            field.widget.attrs.setdefault("class", "form-select form-select-sm" if hasattr(field, "choices") else "")
            if not field.widget.attrs["class"]:
                field.widget.attrs["class"] = "form-control form-control-sm"

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("The start date is after the end date.")
        return data
