"""The admin for logins, customer accounts and the audit trail.

Every change goes through the same service as the staff pages (customer_update_contact), so it is audited
the same way; the audit trail itself is read-only for everyone. Groups see what SPEC §5 allows them:
all staff view customers and the trail, Support changes contact details only, and only superusers
manage logins or the fields that meter imports own (location id, type, cycle).
"""

import functools
import json

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.db import DatabaseError, connection
from django.db.models import Prefetch
from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.http import content_disposition_header

from hydrospark.spreadsheet import safe_csv

from .models import AuditEvent, Customer, User
from .selectors import customer_search
from .services import (
    CONTACT_FIELDS,
    DELIVERY_FIELDS,
    PREFERENCE_FIELDS,
    audit_record,
    customer_update_contact,
)

ADMIN_SEARCH_LIMIT = 500


@functools.cache
def time_zone_dates_work() -> bool:
    """The admin's date drill-down converts time zones in SQL; MySQL/MariaDB can only do that once their
    time zone tables are loaded (mariadb-tzinfo-to-sql), which a fresh server lacks."""
    if connection.vendor != "mysql":
        return True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT CONVERT_TZ('2000-01-01 00:00:00', 'UTC', %s)", [settings.TIME_ZONE])
            return cursor.fetchone()[0] is not None
    except DatabaseError:
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records that are history (audit events, reads, imports, runs, notes): viewed, never added, changed
    or deleted in the admin."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DateDrillDown:
    """date_hierarchy on `date_field` wherever the database can convert time zones; the list filter on
    the same field (today, past 7 days, this month, this year) works everywhere."""

    date_field = ""

    @property
    def date_hierarchy(self):
        return self.date_field if time_zone_dates_work() else None


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "roles", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "first_name", "last_name"]
    readonly_fields = ["last_login", "date_joined"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def get_queryset(self, request):
        groups = Prefetch("groups", queryset=Group.objects.order_by("name"))
        return super().get_queryset(request).prefetch_related(groups)

    @admin.display(description="roles")
    def roles(self, user):
        return ", ".join(group.name for group in user.groups.all()) or "–"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        changed = [f for f in form.changed_data if f != "password"] if change else []
        audit_record(
            actor=request.user,
            action="user.update" if change else "user.create",
            target=obj,
            summary=("Changed " + ", ".join(changed)) if change else "Created in the admin",
            changes={f: str(form.cleaned_data.get(f)) for f in changed if f not in ("groups", "user_permissions")},
        )

    def save_related(self, request, form, formsets, change):
        before = set(form.instance.groups.values_list("name", flat=True)) if change else set()
        super().save_related(request, form, formsets, change)
        after = set(form.instance.groups.values_list("name", flat=True))
        if before != after:
            audit_record(
                actor=request.user,
                action="user.roles",
                target=form.instance,
                summary="Roles: " + (", ".join(sorted(after)) or "none"),
                changes={"roles": [", ".join(sorted(before)), ", ".join(sorted(after))]},
            )


class HasLoginFilter(admin.SimpleListFilter):
    title = "portal login"
    parameter_name = "login"

    def lookups(self, request, model_admin):
        return [("yes", "Has a login"), ("no", "No login")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(user__isnull=self.value() == "no")
        return queryset


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["location_id", "name", "customer_type", "cycle_number", "phone", "login_email", "staff_page"]
    list_display_links = ["location_id", "name"]
    list_filter = ["customer_type", "cycle_number", HasLoginFilter]
    search_fields = ["location_id", "name", "phone", "user__email"]
    search_help_text = "A name or its start, a location ID or its first digits, a phone number, or an email."
    list_select_related = ["user"]
    list_per_page = 50
    show_full_result_count = False  # no COUNT(*) over 100,000 accounts on every search
    autocomplete_fields = ["user"]
    actions = ["export_csv"]
    fieldsets = (
        (None, {"fields": ("location_id", "customer_type", "cycle_number", "user")}),
        ("Contact details", {"fields": CONTACT_FIELDS}),
        (
            "Bills and alerts",
            {
                "fields": (*DELIVERY_FIELDS, *PREFERENCE_FIELDS),
                "description": "The customer's own choices (SPEC §5): they change them in their portal profile; "
                "a request they make by phone or letter is recorded on the customer's staff page, with what they said.",
            },
        ),
        ("Record", {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description="email", ordering="user__email")
    def login_email(self, customer):
        return customer.user.email if customer.user_id else "–"

    @admin.display(description="")
    def staff_page(self, customer):
        url = reverse("staff:customer", kwargs={"location_id": customer.location_id})
        return format_html('<a href="{}">staff page</a>', url)

    def get_readonly_fields(self, request, obj=None):
        # How bills reach the customer and which alerts they get are the customer's (portal profile; staff record
        # a request on the staff page, saying what the customer asked for): nobody changes them here.
        own = [*DELIVERY_FIELDS, *PREFERENCE_FIELDS, "created_at", "updated_at"]
        if request.user.is_superuser:
            return own
        # Location, type and cycle come from the meter export; the login link is account administration.
        return ["location_id", "customer_type", "cycle_number", "user", *own]

    def get_search_results(self, request, queryset, search_term):
        """The staff search (index-friendly lookups, best matches first) instead of OR-ed substrings."""
        if not search_term.strip():
            return queryset, False
        found = customer_search(query=search_term, limit=ADMIN_SEARCH_LIMIT)
        return queryset.filter(pk__in=[c.pk for c in found]), False

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            audit_record(
                actor=request.user, action="customer.create", target=obj, customer=obj, summary="Created in the admin"
            )
            return
        fields = [f for f in form.changed_data if f not in (*DELIVERY_FIELDS, *PREFERENCE_FIELDS)]
        if fields:
            fresh = Customer.objects.get(pk=obj.pk)
            customer_update_contact(customer=fresh, actor=request.user, data=form.cleaned_data, fields=fields)

    def delete_model(self, request, obj):
        self._record_deletion(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        for customer in queryset:
            self._record_deletion(request, customer)
        super().delete_queryset(request, queryset)

    def _record_deletion(self, request, customer):
        audit_record(
            actor=request.user,
            action="customer.delete",
            target=customer,
            summary=f"Deleted {customer} in the admin",
            changes={f: getattr(customer, f) for f in CONTACT_FIELDS},
        )

    @admin.action(description="Download the selected customers as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        # People open this in a spreadsheet: every cell through the one formula rule (hydrospark.spreadsheet)
        columns = ["location_id", "name", "customer_type", "cycle_number", *CONTACT_FIELDS[1:], "user__email"]
        rows = queryset.order_by("location_id").values_list(*columns)
        response = HttpResponse(safe_csv(rows, header=columns), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, f"customers-{timezone.localdate()}.csv")
        return response


@admin.register(AuditEvent)
class AuditEventAdmin(DateDrillDown, ReadOnlyAdmin):
    """The audit trail: filterable and searchable, never added to, changed or deleted."""

    date_field = "at"
    list_display = ["at", "actor_label", "action", "target_type", "target_repr", "customer_link", "summary"]
    list_filter = ["at", "action", "target_type", ("actor", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["=customer__location_id", "actor_label", "target_repr", "summary"]
    search_help_text = "A location ID (exact), or words of the actor, the record or the summary."
    list_select_related = ["customer"]
    list_per_page = 50
    show_full_result_count = False
    fields = ["at", "actor", "actor_label", "action", "target_type", "target_id", "target_repr", "customer"]
    fields += ["summary", "changes_pretty"]
    readonly_fields = fields

    @admin.display(description="customer", ordering="customer__location_id")
    def customer_link(self, event):
        if event.customer_id is None:
            return "–"
        url = reverse("staff:customer", kwargs={"location_id": event.customer.location_id})
        return format_html('<a href="{}">{}</a>', url, event.customer.location_id)

    @admin.display(description="changes")
    def changes_pretty(self, event):
        return format_html("<pre>{}</pre>", json.dumps(event.changes, indent=2, ensure_ascii=False, default=str))
