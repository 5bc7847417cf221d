from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from accounts.admin import DateDrillDown, ReadOnlyAdmin

from .models import StaffNote


@admin.register(StaffNote)
class StaffNoteAdmin(DateDrillDown, ReadOnlyAdmin):
    """Notes are written on the customer's staff page (audited there) and never edited: view only."""

    date_field = "created_at"
    list_display = ["created_at", "customer_link", "author_label", "excerpt"]
    list_filter = ["created_at", ("author", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["=customer__location_id", "author_label", "body"]
    search_help_text = "A location ID (exact), an author's email or words of the note."
    list_select_related = ["customer"]
    show_full_result_count = False
    fields = ["customer", "author", "author_label", "created_at", "body"]
    readonly_fields = fields

    @admin.display(description="customer", ordering="customer__location_id")
    def customer_link(self, note):
        url = reverse("staff:customer", kwargs={"location_id": note.customer.location_id})
        return format_html('<a href="{}#notes">{}</a>', url, note.customer)

    @admin.display(description="note")
    def excerpt(self, note):
        return note.body if len(note.body) <= 120 else note.body[:119] + "…"
