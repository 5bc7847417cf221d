from decimal import Decimal

from django import forms
from django.utils import timezone

from hydrospark.periods import InputError
from hydrospark.query import SMALL_INT_MAX, parse_wholes

from .exceptions import BillingError
from .models import AdjustmentReason, Payment
from .periods import add_months, parse_period


class PeriodForm(forms.Form):
    """A month and optional cycles, for the bill-run page."""

    period = forms.CharField(
        label="Billing period", widget=forms.TextInput(attrs={"type": "month"}), help_text="The month to bill."
    )
    cycles = forms.CharField(
        label="Cycles",
        required=False,
        help_text="Cycle numbers separated by commas, e.g. 1, 2, 20. Empty: every cycle.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["period"].initial = f"{add_months(timezone.localdate().replace(day=1), -1):%Y-%m}"

    def clean_period(self):
        try:
            return parse_period(self.cleaned_data["period"])
        except BillingError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_cycles(self):
        try:
            return parse_wholes(self.cleaned_data["cycles"], name="Cycles", maximum=SMALL_INT_MAX)
        except InputError as error:
            raise forms.ValidationError(str(error)) from None


class PaymentForm(forms.ModelForm):
    """A payment to the customer's account; above the balance it is refused unless confirmed as a credit."""

    confirm_credit = forms.BooleanField(
        label="Record any amount above the balance as a credit", required=False, initial=False
    )

    class Meta:
        model = Payment
        fields = ["amount", "paid_on", "method", "reference"]
        widgets = {"paid_on": forms.DateInput(attrs={"type": "date"})}
        labels = {"paid_on": "Paid on", "amount": "Amount ($)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["paid_on"].initial = timezone.localdate()
        self.fields["amount"].widget.attrs.update({"min": "0.01", "step": "0.01"})


class AdjustmentForm(forms.Form):
    """Billing's adjustment (SPEC §2a): a positive amount with its direction, so nobody types a sign."""

    CREDIT, CHARGE = "credit", "charge"

    direction = forms.ChoiceField(
        choices=[(CREDIT, "Credit: lowers what the customer owes"), (CHARGE, "Charge: adds to what they owe")],
        widget=forms.RadioSelect,
        initial=CREDIT,
    )
    amount = forms.DecimalField(label="Amount ($)", min_value=Decimal("0.01"), max_digits=12, decimal_places=2)
    reason = forms.ChoiceField(choices=AdjustmentReason.choices)
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        help_text="What happened and who agreed to it: kept on the account and in the audit trail.",
    )
    entry_date = forms.DateField(label="Date", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["entry_date"].initial = timezone.localdate()
        self.fields["amount"].widget.attrs.update({"min": "0.01", "step": "0.01"})

    def signed_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        return -amount if self.cleaned_data["direction"] == self.CREDIT else amount


class CancelBillForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept with the bill and shown to the customer.",
    )
    rebill = forms.BooleanField(
        label="Issue a corrected bill from the current reads (at this bill's rates)", required=False, initial=True
    )


class RebillForm(forms.Form):
    """The rebill page's scope: a period and optional location IDs."""

    period = forms.CharField(label="Billing period", widget=forms.TextInput(attrs={"type": "month"}))
    locations = forms.CharField(
        label="Location IDs", required=False, help_text="Separated by commas or spaces. Empty: every changed bill."
    )

    def clean_period(self):
        try:
            return parse_period(self.cleaned_data["period"])
        except BillingError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_locations(self):
        parts = self.cleaned_data["locations"].replace(",", " ").split()
        return sorted(set(parts)) or None


class PaymentUploadForm(forms.Form):
    """The bank's payments file, for the upload page (imported in the background)."""

    file = forms.FileField(
        label="Payments file",
        help_text="The bank's CSV: location_id, amount, paid_on, method, reference (a header row first).",
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )

    @staticmethod
    def max_mb() -> int:
        from django.conf import settings

        return settings.PAYMENT_UPLOAD_MAX_MB

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(".csv"):
            raise forms.ValidationError("Upload the bank's file as a .csv file.")
        if upload.size == 0:
            raise forms.ValidationError("The file is empty.")
        if upload.size > self.max_mb() * 1024 * 1024:
            raise forms.ValidationError(
                f"The file is {upload.size / 1024 / 1024:,.1f} MB; the limit is {self.max_mb()} MB. "
                "Split it, or import it with the import_payments command."
            )
        return upload
