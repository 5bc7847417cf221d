from django.contrib import admin, messages
from django.template.response import TemplateResponse

from accounts.admin import ReadOnlyAdmin

from .forms import ReviewForm
from .incident_services import incidents_review
from .models import Anomaly, DetectionRun, Digest, Incident
from .services import AnomalyError, anomalies_review, anomaly_review


@admin.register(Anomaly)
class AnomalyAdmin(admin.ModelAdmin):
    """Browse and review anomalies; reviews go through the same service as the staff pages."""

    list_display = ["date", "customer", "method", "usage_ccf", "mean_ccf", "std_ccf", "status", "resolution"]
    list_filter = ["method", "status", "resolution", "customer__customer_type", "customer__cycle_number", "date"]
    search_fields = ["customer__location_id", "customer__name"]
    list_select_related = ["customer"]
    date_hierarchy = "date"
    ordering = ["-date", "customer__location_id"]
    actions = ["resolve_selected"]
    readonly_fields = [
        "customer",
        "date",
        "method",
        "usage_ccf",
        "mean_ccf",
        "std_ccf",
        "detected_at",
        "run",
        "status",
        "reviewed_by",
        "reviewed_at",
    ]
    fields = [*readonly_fields[:9], "resolution", "note", "reviewed_by", "reviewed_at"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        if "resolution" in form.base_fields:
            form.base_fields["resolution"].required = True  # saving the form is a review
        return form

    def save_model(self, request, obj, form, change):
        """Saving the change form is a review: resolution and note through the review service."""
        try:
            anomaly_review(anomaly=obj, reviewer=request.user, resolution=obj.resolution, note=obj.note)
        except AnomalyError as error:
            self.message_user(request, str(error), messages.ERROR)

    @admin.action(description="Resolve selected anomalies…", permissions=["change"])
    def resolve_selected(self, request, queryset):
        form = ReviewForm(request.POST if "resolution" in request.POST else None)
        if form.is_valid():
            try:
                done = anomalies_review(
                    anomalies=queryset.select_related("customer"), reviewer=request.user, **form.cleaned_data
                )
            except AnomalyError as error:
                self.message_user(request, str(error), messages.ERROR)
                return None
            self.message_user(request, f"{len(done)} anomalies marked reviewed.", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Resolve anomalies",
            "queryset": queryset.select_related("customer")[:200],
            "pks": list(queryset.values_list("pk", flat=True)),
            "count": queryset.count(),
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "anomalies/admin_resolve.html", context)


@admin.register(DetectionRun)
class DetectionRunAdmin(ReadOnlyAdmin):
    list_display = ["started_at", "method", "state", "found", "created", "withdrawn", "reads_assessed", "actor_label"]
    list_filter = ["method", "state"]
    date_hierarchy = "started_at"


@admin.register(Incident)
class IncidentAdmin(ReadOnlyAdmin):
    """Incidents are kept by detection and acted on through the staff pages; the admin browses them and
    resolves in bulk through the same service."""

    list_display = ["start", "end", "customer", "kind", "days", "excess_ccf", "estimated_cost", "status", "allowance"]
    list_filter = ["kind", "status", "resolution", "allowance", "customer__customer_type", "customer__cycle_number"]
    search_fields = ["customer__location_id", "customer__name"]
    list_select_related = ["customer"]
    ordering = ["-estimated_cost", "-end"]
    actions = ["resolve_selected"]

    @admin.action(description="Resolve selected incidents…")
    def resolve_selected(self, request, queryset):
        form = ReviewForm(request.POST if "resolution" in request.POST else None)
        if form.is_valid():
            try:
                done = incidents_review(
                    incidents=queryset.select_related("customer"), reviewer=request.user, **form.cleaned_data
                )
            except AnomalyError as error:
                self.message_user(request, str(error), messages.ERROR)
                return None
            self.message_user(request, f"{len(done)} incidents resolved.", messages.SUCCESS)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Resolve incidents",
            "queryset": queryset.select_related("customer")[:200],
            "pks": list(queryset.values_list("pk", flat=True)),
            "count": queryset.count(),
            "form": form,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "anomalies/admin_resolve.html", context)


@admin.register(Digest)
class DigestAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "state", "incidents_covered", "recipients", "sent_at", "error"]
    list_filter = ["state"]
