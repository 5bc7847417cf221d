from django import forms
from django.utils import timezone

from .exceptions import BillingError
from .models import Payment
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
        text = self.cleaned_data["cycles"].replace(";", ",")
        try:
            cycles = sorted({int(part) for part in text.split(",") if part.strip()})
        except ValueError:
            raise forms.ValidationError("Cycles are whole numbers separated by commas, e.g. 1, 2, 20.") from None
        if any(c < 1 for c in cycles):
            raise forms.ValidationError("Cycle numbers start at 1.")
        return cycles


class PaymentForm(forms.ModelForm):
    class Meta:
        model = Payment
        fields = ["amount", "paid_on", "method", "reference"]
        widgets = {"paid_on": forms.DateInput(attrs={"type": "date"})}
        labels = {"paid_on": "Paid on", "amount": "Amount ($)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["paid_on"].initial = timezone.localdate()
        self.fields["amount"].widget.attrs.update({"min": "0.01", "step": "0.01"})
