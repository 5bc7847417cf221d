from decimal import Decimal

from django import forms

from accounts.models import CustomerType
from hydrospark.query import SMALL_INT_MAX, DateFilterField, WholeNumberField

from .models import Anomaly, Incident, IncidentContact, Kind, Method, Resolution, Status


class QueueFilterForm(forms.Form):
    """Filters of the review queue (GET). An empty query shows the open anomalies."""

    status = forms.ChoiceField(choices=[("", "Any status"), *Status.choices], required=False)
    method = forms.ChoiceField(choices=[("", "Any method"), *Method.choices], required=False)
    customer_type = forms.ChoiceField(choices=[("", "Any type"), *CustomerType.choices], required=False, label="Type")
    cycle = WholeNumberField(max_value=SMALL_INT_MAX, widget=forms.NumberInput(attrs={"placeholder": "Any"}))
    date_from = DateFilterField(label="From")
    date_to = DateFilterField(label="To")
    customer = forms.CharField(
        max_length=100, required=False, widget=forms.TextInput(attrs={"placeholder": "Name or location ID"})
    )

    DEFAULT = {"status": Status.OPEN}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = f"{css} form-control-sm" if css == "form-control" else f"{css} form-select-sm"

    def clean(self):
        data = super().clean()
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise forms.ValidationError("The start date is after the end date.")
        return data

    def queue_filters(self) -> dict:
        """Keyword arguments for selectors.anomaly_queue."""
        data = self.cleaned_data
        return {
            "statuses": [data["status"]] if data.get("status") else [],
            "methods": [data["method"]] if data.get("method") else [],
            "customer_types": [data["customer_type"]] if data.get("customer_type") else [],
            "cycles": [data["cycle"]] if data.get("cycle") else [],
            "date_from": data.get("date_from"),
            "date_to": data.get("date_to"),
            "customer_query": (data.get("customer") or "").strip(),
        }


class ReviewForm(forms.Form):
    resolution = forms.ChoiceField(
        choices=Resolution.choices, widget=forms.RadioSelect(attrs={"class": "form-check-input"})
    )
    note = forms.CharField(
        required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), help_text="What you found or did."
    )


class DetailReviewForm(ReviewForm):
    """The review on an anomaly's page, optionally for the customer's other open days nearby too
    (a leak is one event but many anomalous days, often under several methods)."""

    with_nearby = forms.BooleanField(required=False)


class BulkReviewForm(ReviewForm):
    """Resolve the ticked anomalies of the queue page at once."""

    anomalies = forms.ModelMultipleChoiceField(
        queryset=Anomaly.objects.select_related("customer"),
        error_messages={"required": "Tick the anomalies to resolve first."},
    )
    resolution = forms.ChoiceField(
        choices=[("", "Resolution…"), *Resolution.choices], error_messages={"required": "Choose a resolution."}
    )
    note = forms.CharField(required=False, max_length=2000, widget=forms.TextInput(attrs={"placeholder": "Note"}))


class RunForm(forms.Form):
    method = forms.ChoiceField(choices=[("", "All methods"), *Method.choices], required=False)


# --- incidents -------------------------------------------------------------------------------------------


class IncidentFilterForm(forms.Form):
    """Filters of the incident queue (GET). An empty query shows the open incidents, costliest first."""

    status = forms.ChoiceField(choices=[("", "Any status"), *Status.choices], required=False)
    kind = forms.ChoiceField(choices=[("", "Any kind"), *Kind.choices], required=False)
    customer_type = forms.ChoiceField(choices=[("", "Any type"), *CustomerType.choices], required=False, label="Type")
    cycle = WholeNumberField(max_value=SMALL_INT_MAX, widget=forms.NumberInput(attrs={"placeholder": "Any"}))
    allowance = forms.ChoiceField(
        choices=[("", "Any allowance"), *[c for c in Incident.Allowance.choices if c[0]]], required=False
    )
    customer = forms.CharField(
        max_length=100, required=False, widget=forms.TextInput(attrs={"placeholder": "Name or location ID"})
    )

    DEFAULT = {"status": Status.OPEN}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            select = isinstance(field.widget, forms.Select)
            field.widget.attrs["class"] = "form-select form-select-sm" if select else "form-control form-control-sm"

    def queue_filters(self) -> dict:
        """Keyword arguments for selectors.incident_queue."""
        data = self.cleaned_data

        def one(name):
            return [data[name]] if data.get(name) else []

        return {
            "statuses": one("status"),
            "kinds": one("kind"),
            "customer_types": one("customer_type"),
            "cycles": one("cycle"),
            "allowance": data.get("allowance") or "",
            "customer_query": (data.get("customer") or "").strip(),
        }


class BulkIncidentReviewForm(ReviewForm):
    """Resolve the ticked incidents of the queue page at once."""

    incidents = forms.ModelMultipleChoiceField(
        queryset=Incident.objects.select_related("customer"),
        error_messages={"required": "Tick the incidents to resolve first."},
    )
    resolution = forms.ChoiceField(
        choices=[("", "Resolution…"), *Resolution.choices], error_messages={"required": "Choose a resolution."}
    )
    note = forms.CharField(required=False, max_length=2000, widget=forms.TextInput(attrs={"placeholder": "Note"}))


class ContactForm(forms.Form):
    channel = forms.ChoiceField(choices=IncidentContact.Channel.choices)
    note = forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))


class AllowanceOfferForm(forms.Form):
    amount = forms.DecimalField(min_value=Decimal("0.01"), max_digits=10, decimal_places=2)
    note = forms.CharField(required=False, max_length=2000)


class AllowanceDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("post", "Credit it"), ("decline", "Decline")])
    note = forms.CharField(required=False, max_length=2000)
