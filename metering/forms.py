from pathlib import Path

from django import forms
from django.conf import settings

from hydrospark.query import DateFilterField

ACCEPTED_SUFFIXES = (".csv", ".xlsx")


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Meter export",
        help_text="CSV or XLSX (first sheet), one row per customer per day, with the export's header row.",
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(ACCEPTED_SUFFIXES)}),
    )
    atomic = forms.BooleanField(
        required=False,
        label="All or nothing",
        help_text="Write nothing at all if any row is rejected (otherwise good rows are imported and the rest listed).",
    )

    @staticmethod
    def max_bytes() -> int:
        return settings.METER_UPLOAD_MAX_MB * 1024 * 1024

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in ACCEPTED_SUFFIXES:
            raise forms.ValidationError("Upload a .csv or an .xlsx file.")
        if upload.size > self.max_bytes():
            raise forms.ValidationError(
                f"The file is {upload.size / 1024 / 1024:,.0f} MB; the limit is {settings.METER_UPLOAD_MAX_MB} MB. "
                "Split it, or import it with the import_usage command."
            )
        if upload.size == 0:
            raise forms.ValidationError("The file is empty.")
        return upload


class ReadsFilterForm(forms.Form):
    start = DateFilterField(label="From")
    end = DateFilterField(label="To")

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] > data["end"]:
            raise forms.ValidationError("“From” must be on or before “To”.")
        return data


class LocationForm(forms.Form):
    location_id = forms.CharField(label="Location ID", max_length=20)
