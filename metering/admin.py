"""Meter data in the admin: read-only. Reads change only through an import (SPEC §1), never by hand."""

from django.contrib import admin

from .models import ImportRun, MeterRead, ReadCorrection


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MeterRead)
class MeterReadAdmin(ReadOnlyAdmin):
    list_display = ["read_date", "location_id", "customer_name", "usage_ccf"]
    list_filter = ["read_date"]
    search_fields = ["=customer__location_id"]
    search_help_text = "A location ID."
    date_hierarchy = "read_date"
    list_select_related = ["customer"]
    ordering = ["-read_date", "customer__location_id"]
    show_full_result_count = False  # millions of rows: skip the second COUNT(*)
    list_per_page = 100

    @admin.display(description="location ID", ordering="customer__location_id")
    def location_id(self, read):
        return read.customer.location_id

    @admin.display(description="customer", ordering="customer__name")
    def customer_name(self, read):
        return read.customer.name


@admin.register(ImportRun)
class ImportRunAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "created_at",
        "file_name",
        "actor_label",
        "status",
        "rows_read",
        "reads_created",
        "reads_corrected",
        "reads_unchanged",
        "rows_rejected",
        "customers_created",
    ]
    list_filter = ["status", "source"]
    search_fields = ["file_name", "actor_label"]
    date_hierarchy = "created_at"


@admin.register(ReadCorrection)
class ReadCorrectionAdmin(ReadOnlyAdmin):
    list_display = ["import_run", "customer", "read_date", "old_usage_ccf", "new_usage_ccf"]
    list_select_related = ["customer", "import_run"]
    search_fields = ["customer__location_id", "=import_run__id"]
    search_help_text = "A location ID, or an import's number."
    date_hierarchy = "read_date"
