from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from .models import AuditEvent, Customer, User
from .services import audit_record, field_changes


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["location_id", "name", "customer_type", "cycle_number", "phone", "user"]
    list_filter = ["customer_type", "cycle_number"]
    search_fields = ["location_id", "name", "phone", "user__email", "business_name", "mailing_address"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
    readonly_fields = ["created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        if change:
            old = Customer.objects.get(pk=obj.pk)
            changes = field_changes(old, {f: getattr(obj, f) for f in form.changed_data}, form.changed_data)
        super().save_model(request, obj, form, change)
        audit_record(
            actor=request.user,
            action="customer.update" if change else "customer.create",
            target=obj,
            customer=obj,
            summary=("Changed " + ", ".join(changes)) if change else "Created in the admin",
            changes=changes if change else {},
        )


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["at", "actor_label", "action", "target_repr", "summary"]
    list_filter = ["action", "target_type"]
    search_fields = ["actor_label", "target_repr", "summary", "customer__location_id"]
    date_hierarchy = "at"
    list_select_related = ["customer"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
