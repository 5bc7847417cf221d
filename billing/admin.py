"""Billing in the admin: Billing staff edit rate schedules and record payments; bills and runs are
read-only records (bills come from bill runs). A schedule that priced an issued bill is read-only too.

Billing (and only Billing, SPEC §5) may issue and send selected bills from the bill list: the actions
call the same services as the bill-run and bill pages, so the same rules, refusals and audit apply."""

from collections import defaultdict
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.core.exceptions import PermissionDenied, ValidationError
from django.forms.models import BaseInlineFormSet
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from accounts.admin import ADMIN_SEARCH_LIMIT, DateDrillDown
from accounts.roles import user_can
from accounts.selectors import customer_search
from metering.admin import DateRangeFilter

from .account_admin import cancel_bills, reverse_adjustments
from .exceptions import BillingError
from .models import (
    Bill,
    BillLine,
    BillRun,
    LedgerEntry,
    Payment,
    PaymentStatus,
    RateFee,
    RateSchedule,
    RateTier,
    SeasonalMultiplier,
)
from .periods import add_months, label, parse_period
from .pricing import Fee, Tier, check_tiers
from .rates import (
    SCHEDULE_FIELDS,
    RateVersion,
    rate_schedule_create,
    rate_schedule_delete,
    rate_schedule_drafts,
    rate_schedule_is_locked,
    rate_schedule_update,
)
from .services import (
    NUMBER_PREFIX,
    bill_run_issue,
    bill_send,
    payment_check,
    payment_record,
)

SEND_LIMIT = 100  # bills per admin send: each is a PDF and an email, made while the page waits
NAMED = 10  # bills named in a message before "and N more"


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
        tiers.sort(key=_tier_order)
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

    def has_add_permission(self, request):
        return user_can(request.user, "edit_rates") and super().has_add_permission(request)

    def has_change_permission(self, request, obj=None):
        if obj is not None and rate_schedule_is_locked(obj):
            return False
        return user_can(request.user, "edit_rates") and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.bills.exists():
            return False
        return user_can(request.user, "edit_rates") and super().has_delete_permission(request, obj)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and request.method == "GET" and rate_schedule_is_locked(obj):
            messages.info(
                request,
                "This version priced issued bills and can no longer change. To change rates, use “Save as new” "
                "with a later effective date.",
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The service has the last word (a bill issued meanwhile locks the version): its refusal is a
        # message on the form again, never a 500; the admin's transaction has undone everything.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except BillingError as error:
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        """Nothing yet: the version is written whole, with its inlines, by billing.rates in save_related."""

    def save_related(self, request, form, formsets, change):
        version = _rate_version(form, formsets)
        if change:
            saved = rate_schedule_update(schedule=form.instance, version=version, actor=request.user)
        else:
            saved = rate_schedule_create(version=version, actor=request.user)
        form.instance.pk = saved.pk  # the admin's log entry and redirect use the form's instance
        drafts = rate_schedule_drafts(saved)
        if drafts:
            self.message_user(
                request,
                f"{drafts} draft bill(s) were priced with this version before the change: run their periods "
                "again (Bill runs) so they show these rates before they are issued.",
                messages.WARNING,
            )

    def construct_change_message(self, request, form, formsets, add=False):
        # The inlines were not saved by their formsets (billing.rates replaced them), so say it plainly;
        # the audit trail holds the full before and after.
        return "Added with its tiers, multipliers and fees." if add else "Changed through billing.rates."

    def delete_model(self, request, obj):
        rate_schedule_delete(schedule=obj, actor=request.user)

    def delete_queryset(self, request, queryset):
        for schedule in queryset:
            rate_schedule_delete(schedule=schedule, actor=request.user)


def _kept(formset) -> list[dict]:
    return [f.cleaned_data for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]


def _rate_version(form, formsets) -> RateVersion:
    """The version the form and its three inlines describe, as billing.rates takes it."""
    rows = {formset.model: _kept(formset) for formset in formsets}
    tiers = sorted((Tier(r.get("up_to"), r["rate"]) for r in rows.get(RateTier, [])), key=_tier_order)
    fees = sorted(rows.get(RateFee, []), key=lambda r: r.get("position") or 0)
    return RateVersion(
        tiers=tuple(tiers),
        multipliers={r["month"]: r["multiplier"] for r in rows.get(SeasonalMultiplier, [])},
        fees=tuple(Fee(r["label"], r["amount"], r["code"]) for r in fees),
        **{name: form.cleaned_data.get(name, getattr(form.instance, name)) for name in SCHEDULE_FIELDS},
    )


def _tier_order(tier: Tier):
    return (tier.up_to is None, tier.up_to or 0)


class HistoryInline(admin.TabularInline):
    """Rows shown beside their bill that are history: never added, changed or deleted here."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


class BillLineInline(HistoryInline):
    model = BillLine
    fields = ["position", "kind", "label", "quantity", "rate", "amount"]


class LedgerEntryInline(HistoryInline):
    """The bill's own entries: its charge, its late fee, its cancellation."""

    model = LedgerEntry
    fields = ["entry_date", "kind", "amount", "due_date", "note", "actor_label", "created_at"]


class PaymentStatusFilter(admin.SimpleListFilter):
    title = "payment status"
    parameter_name = "payment"

    def lookups(self, request, model_admin):
        return PaymentStatus.choices

    def queryset(self, request, queryset):
        # The changelist's queryset carries with_payment_status()'s annotation (BillAdmin.get_queryset).
        if self.value() in PaymentStatus.values:
            return queryset.filter(payment_status=self.value())
        return queryset


class PeriodFilter(admin.SimpleListFilter):
    """The last 13 billing periods and "earlier", computed from today: no query (a date hierarchy ran
    a SELECT DISTINCT over every bill on each load)."""

    title = "period"
    parameter_name = "period"
    MONTHS = 13

    def _periods(self):
        this_month = timezone.localdate().replace(day=1)
        return [add_months(this_month, -n) for n in range(self.MONTHS)]

    def lookups(self, request, model_admin):
        return [(f"{p:%Y-%m}", label(p)) for p in self._periods()] + [("earlier", "Earlier")]

    def queryset(self, request, queryset):
        if self.value() == "earlier":
            return queryset.filter(period__lt=self._periods()[-1])
        try:
            return queryset.filter(period=parse_period(self.value())) if self.value() else queryset
        except BillingError:
            return queryset


class SentFilter(admin.SimpleListFilter):
    title = "emailed"
    parameter_name = "sent"

    def lookups(self, request, model_admin):
        return [("yes", "Sent"), ("no", "Not sent")]

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(sent_at__isnull=self.value() == "no")
        return queryset


def _money(amount) -> str:
    return f"${amount:,.2f}"


def _named(bills, describe=str) -> str:
    names = ", ".join(describe(bill) for bill in bills[:NAMED])
    return names + (f" and {len(bills) - NAMED} more" if len(bills) > NAMED else "")


def _with_customer(bill) -> str:
    return f"{bill} ({bill.customer.name})"


@admin.register(Bill)
class BillAdmin(admin.ModelAdmin):
    list_display = [
        "bill",
        "customer",
        "period_label",
        "total",
        "payment_status",
        "open_balance",
        "due_date",
        "emailed",
        "staff_page",
    ]
    list_display_links = ["bill"]
    list_filter = [PeriodFilter, "status", PaymentStatusFilter, SentFilter]
    search_fields = ["number"]  # shows the search box; get_search_results does the lookups
    search_help_text = "A bill number or its start (HS-…), or a customer: location ID, name, phone or email."
    # Pages come in the order of the (period, status) index, the page's customers in one more query:
    # ordering by the customer's location (a join) made MariaDB sort every bill to show a hundred.
    ordering = ["-period", "-status", "-id"]
    list_select_related = []
    inlines = [BillLineInline, LedgerEntryInline]
    show_full_result_count = False
    actions = ["issue_drafts", "send_bills", cancel_bills]

    def get_queryset(self, request):
        # Payment status and open balance for the whole page in the list's one query (no query per bill).
        return super().get_queryset(request).with_payment_status().prefetch_related("customer")

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields] + ["payment_status", "open_balance"]

    def get_search_results(self, request, queryset, search_term):
        """A bill number by its prefix (the unique index), else the customer through the staff search
        (index-friendly tiers), then their bills by the (customer, period) index: no OR of substrings."""
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.upper().startswith(f"{NUMBER_PREFIX}-"):
            return queryset.filter(number__startswith=term.upper()), False
        customers = customer_search(query=term, limit=ADMIN_SEARCH_LIMIT)
        return queryset.filter(customer_id__in=[c.pk for c in customers]), False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_manage_bills_permission(self, request):
        return user_can(request.user, "manage_bills")

    @admin.display(description="bill", ordering="number")
    def bill(self, bill):
        return format_html('<span class="hs-nowrap">{}</span>', bill)  # a class: the CSP refuses style=""

    @admin.display(description="emailed", boolean=True, ordering="sent_at")
    def emailed(self, bill):
        return bill.sent_at is not None if bill.is_issued else None

    @admin.display(description="period", ordering="period")
    def period_label(self, bill):
        return f"{bill.period:%Y-%m}"

    @admin.display(description="total", ordering="total_amount")
    def total(self, bill):
        return _money(bill.total_amount)

    @admin.display(description="payment", ordering="payment_status")
    def payment_status(self, bill):
        return bill.get_payment_status_display()

    @admin.display(description="open balance")
    def open_balance(self, bill):
        return _money(bill.open_balance()) if bill.is_issued else "–"

    @admin.display(description="")
    def staff_page(self, bill):
        return format_html('<a href="{}">page</a>', reverse("billing:bill", args=[bill.pk]))

    def _check_can_manage(self, request):
        # The action list already hides these from other roles; this guards a forged request too.
        if not self.has_manage_bills_permission(request):
            raise PermissionDenied("Only Billing issues and sends bills.")

    @admin.action(
        description="Issue this draft",
        description_plural="Issue selected drafts",
        permissions=["manage_bills"],
        location=[ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM],
    )
    def issue_drafts(self, request, queryset):
        """billing.services.bill_run_issue for each period's selected drafts (numbers, dates, audit)."""
        self._check_can_manage(request)
        bills = list(queryset.select_related("customer").order_by("period", "customer__location_id"))
        if request.POST.get("confirmed") != "yes":  # issued bills are final: ask first, with the count and total
            return self._confirm_issue(request, bills)
        drafts = defaultdict(list)
        for bill in bills:
            if not bill.is_issued:
                drafts[bill.period].append(bill.pk)
        for period, ids in drafts.items():
            try:
                issued = bill_run_issue(period=period, bill_ids=ids, actor=request.user)
            except BillingError as error:
                self.message_user(request, f"{label(period)}: {len(ids)} draft(s) not issued. {error}", messages.ERROR)
                continue
            text = f"{label(period)}: issued {issued} of {len(ids)} selected draft(s), due in 21 days."
            if issued < len(ids):
                text += " The others were issued meanwhile by another run."
            self.message_user(request, text, messages.SUCCESS)
        already = [bill for bill in bills if bill.is_issued]
        if already:
            self.message_user(
                request,
                f"{len(already)} selected bill(s) were already issued and stay as they are: {_named(already)}.",
                messages.WARNING,
            )

    def _confirm_issue(self, request, bills):
        drafts = [bill for bill in bills if not bill.is_issued]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "bills": bills[:20],
            "count": len(bills),
            "drafts": len(drafts),
            "total": sum((bill.total_amount for bill in drafts), Decimal("0")),
            "pks": [bill.pk for bill in bills],
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "billing/admin_issue.html", context)

    @admin.action(
        description="Send this bill by email",
        description_plural="Send selected issued bills by email",
        permissions=["manage_bills"],
        location=[ActionLocation.CHANGE_LIST, ActionLocation.CHANGE_FORM],
    )
    def send_bills(self, request, queryset):
        """billing.services.bill_send for each selected bill: never twice, and each sending audited."""
        self._check_can_manage(request)
        if queryset.count() > SEND_LIMIT:
            runs = reverse("billing:runs")
            self.message_user(
                request,
                format_html(
                    "Nothing was sent: select at most {} bills here. To send a whole period, use "
                    '<a href="{}">Bill runs</a> (it sends in the background).',
                    SEND_LIMIT,
                    runs,
                ),
                messages.ERROR,
            )
            return
        bills = queryset.select_related("customer", "customer__user", "rate_schedule").order_by(
            "period", "customer__location_id"
        )
        outcome = defaultdict(list)
        for bill in bills:
            if not bill.is_issued:
                outcome["draft"].append(bill)
                continue
            report = bill_send(bill=bill, actor=request.user)
            if report.sent:
                outcome["sent"].append(bill)
            elif report.already_sent:
                outcome["already_sent"].append(bill)
            elif report.without_email:
                outcome["without_email"].append(bill)
            elif report.opted_out:
                outcome["opted_out"].append(bill)
            else:
                outcome["failed"].append((bill, report.failed[0][1]))
        self._report_sending(request, outcome)

    def _report_sending(self, request, outcome) -> None:
        if outcome["sent"]:
            self.message_user(
                request, f"Emailed {len(outcome['sent'])} bill(s): {_named(outcome['sent'])}.", messages.SUCCESS
            )
        refusals = [
            ("draft", "are drafts: issue them first"),
            ("already_sent", "were sent before (to send one again, use “Send again” on its bill page)"),
            ("without_email", "belong to customers without a billing email (they go on paper)"),
            ("opted_out", "belong to customers who chose paper only"),
        ]
        for key, reason in refusals:
            if outcome[key]:
                bills = outcome[key]
                self.message_user(
                    request,
                    f"Not sent, {len(bills)} bill(s) that {reason}: {_named(bills, _with_customer)}.",
                    messages.WARNING,
                )
        for bill, error in outcome["failed"]:
            self.message_user(request, f"Sending {bill} failed ({error}); it stays unsent for a retry.", messages.ERROR)


class PaymentAdminForm(forms.ModelForm):
    confirm_credit = forms.BooleanField(
        required=False, help_text="Tick to record a payment above the account's balance as a credit."
    )

    class Meta:
        model = Payment
        fields = ["customer", "amount", "paid_on", "method", "reference"]

    def clean(self):
        data = super().clean()
        if all(data.get(f) is not None for f in ("customer", "amount", "paid_on", "method")):
            try:
                payment_check(
                    customer=data["customer"],
                    amount=data["amount"],
                    paid_on=data["paid_on"],
                    method=data["method"],
                    reference=data.get("reference", ""),
                    confirm_credit=data.get("confirm_credit", False),
                )
            except BillingError as error:
                raise ValidationError(str(error)) from None
        return data


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    """Adding a payment here goes through billing.services.payment_record (balance check, ledger, audit)."""

    form = PaymentAdminForm
    list_display = ["customer", "amount", "paid_on", "method", "reference", "source", "recorded_by", "recorded_at"]
    # A from–to range on paid_on rather than a date hierarchy (a SELECT DISTINCT over every payment).
    list_filter = [
        "method",
        "source",
        ("paid_on", DateRangeFilter),
        ("recorded_by", admin.RelatedOnlyFieldListFilter),
    ]
    search_fields = ["customer__location_id__exact", "reference"]
    search_help_text = "A location ID (exact), or part of a payment reference."
    list_select_related = ["customer", "recorded_by"]
    show_full_result_count = False
    raw_id_fields = ["customer"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        fields = ["customer", "amount", "paid_on", "method", "reference", "source", "recorded_by", "recorded_at"]
        return fields if obj else []

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = payment_record(
            customer=data["customer"],
            amount=data["amount"],
            paid_on=data["paid_on"],
            method=data["method"],
            reference=data.get("reference", ""),
            confirm_credit=data.get("confirm_credit", False),
            actor=request.user,
        )
        obj.pk, obj.recorded_at = saved.pk, saved.recorded_at


@admin.register(LedgerEntry)
class LedgerEntryAdmin(admin.ModelAdmin):
    """The ledger is append-only (SPEC §2a): shown here, never added, changed or deleted."""

    list_display = ["entry_date", "customer", "kind", "amount", "due_date", "bill", "reason", "actor_label"]
    list_filter = ["kind", "reason", ("entry_date", DateRangeFilter)]
    search_fields = ["customer__location_id__exact", "^bill__number"]
    search_help_text = "A location ID (exact) or a bill number or its start."
    list_select_related = ["customer", "bill"]
    show_full_result_count = False
    ordering = ["-entry_date", "-id"]
    actions = [reverse_adjustments]  # a mistake is put right by another entry, never by an edit

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_manage_bills_permission(self, request):
        return user_can(request.user, "manage_bills")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BillRun)
class BillRunAdmin(DateDrillDown, admin.ModelAdmin):
    date_field = "created_at"
    list_display = [
        "__str__",
        "actor_label",
        "created_at",
        "bills_created",
        "bills_issued",
        "bills_sent",
        "total_billed",
        "message",
    ]
    list_filter = ["action", "status", "created_at"]
    search_fields = ["actor_label", "message"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
