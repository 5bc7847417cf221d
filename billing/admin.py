"""Billing in the admin: Billing staff edit rate schedules and record payments; bills and runs are
read-only records (bills come from bill runs). A schedule that priced an issued bill is read-only too."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from .exceptions import BillingError
from .models import Bill, BillLine, BillRun, Payment, RateFee, RateSchedule, RateTier, SeasonalMultiplier
from .pricing import Tier, check_tiers
from .services import payment_check, payment_record, rate_schedule_is_locked, rate_schedule_record_change


class _LockedInline:
    """Inlines of a locked schedule: shown, never editable."""

    def _locked(self, obj):
        return obj is not None and rate_schedule_is_locked(obj)

    def has_add_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return not self._locked(obj) and super().has_delete_permission(request, obj)


class TierFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        tiers = [
            Tier(form.cleaned_data.get("up_to"), form.cleaned_data["rate"])
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE") and "rate" in form.cleaned_data
        ]
        tiers.sort(key=lambda t: (t.up_to is None, t.up_to or 0))
        try:
            check_tiers(tuple(tiers))
        except ValueError as error:
            raise ValidationError(str(error)) from None


class RateTierInline(_LockedInline, admin.TabularInline):
    model = RateTier
    formset = TierFormSet
    extra = 0
    min_num = 1


class SeasonalMultiplierInline(_LockedInline, admin.TabularInline):
    model = SeasonalMultiplier
    extra = 0


class RateFeeInline(_LockedInline, admin.TabularInline):
    model = RateFee
    extra = 0


@admin.register(RateSchedule)
class RateScheduleAdmin(admin.ModelAdmin):
    list_display = ["name", "customer_type", "effective_from", "updated_at"]
    list_filter = ["customer_type"]
    inlines = [RateTierInline, SeasonalMultiplierInline, RateFeeInline]
    save_as = True  # "Save as new": the way to start a new version from an old one
    readonly_fields = ["created_at", "updated_at"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and rate_schedule_is_locked(obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.bills.exists():
            return False
        return super().has_delete_permission(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and request.method == "GET" and rate_schedule_is_locked(obj):
            messages.info(
                request,
                "This version priced issued bills and can no longer change. To change rates, use “Save as new” "
                "with a later effective date.",
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        changes = {field: str(form.cleaned_data.get(field)) for field in form.changed_data}
        for formset in formsets:
            if formset.has_changed():
                changes[formset.model._meta.verbose_name_plural] = "changed"
        rate_schedule_record_change(schedule=form.instance, actor=request.user, created=not change, changes=changes)


class BillLineInline(admin.TabularInline):
    model = BillLine
    fields = ["position", "kind", "label", "quantity", "rate", "amount"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class PaymentInline(admin.TabularInline):
    model = Payment
    fields = ["paid_on", "amount", "method", "reference", "recorded_by", "recorded_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Bill)
class BillAdmin(admin.ModelAdmin):
    list_display = ["__str__", "customer", "period", "status", "total_amount", "due_date", "sent_at"]
    list_filter = ["status", "period"]
    search_fields = ["number", "customer__location_id", "customer__name"]
    list_select_related = ["customer"]
    date_hierarchy = "period"
    inlines = [BillLineInline, PaymentInline]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PaymentAdminForm(forms.ModelForm):
    class Meta:
        model = Payment
        fields = ["bill", "amount", "paid_on", "method", "reference"]

    def clean(self):
        data = super().clean()
        if all(data.get(f) is not None for f in ("bill", "amount", "paid_on", "method")):
            try:
                payment_check(bill=data["bill"], amount=data["amount"], paid_on=data["paid_on"], method=data["method"])
            except BillingError as error:
                raise ValidationError(str(error)) from None
        return data


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    """Adding a payment here goes through billing.services.payment_record (balance check, audit)."""

    form = PaymentAdminForm
    list_display = ["bill", "amount", "paid_on", "method", "reference", "recorded_by"]
    list_filter = ["method", "paid_on"]
    search_fields = ["bill__number", "bill__customer__location_id", "reference"]
    list_select_related = ["bill", "recorded_by"]
    raw_id_fields = ["bill"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        return ["bill", "amount", "paid_on", "method", "reference", "recorded_by", "recorded_at"] if obj else []

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = payment_record(
            bill=data["bill"],
            amount=data["amount"],
            paid_on=data["paid_on"],
            method=data["method"],
            reference=data.get("reference", ""),
            actor=request.user,
        )
        obj.pk, obj.recorded_at = saved.pk, saved.recorded_at


@admin.register(BillRun)
class BillRunAdmin(admin.ModelAdmin):
    list_display = ["__str__", "actor_label", "created_at", "bills_created", "bills_issued", "bills_sent"]
    list_filter = ["action", "status"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
