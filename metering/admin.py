"""Meter data in the admin: read-only. Reads change only through an import (SPEC §1), never by hand.

The read list is built for millions of rows: no date hierarchy (its SELECT DISTINCT over every read
ran on each load), no facet counts and no second COUNT(*); dates are filtered by one range condition
on the read_date index, and the search resolves a location ID through the customers' unique index.
"""

import datetime

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.utils import timezone
from django.utils.functional import cached_property

from accounts.admin import DateDrillDown, ReadOnlyAdmin
from accounts.models import Customer
from accounts.roles import user_can

from .exceptions import MeterImportError
from .models import ImportRun, MeterRead, ReadCorrection
from .progress import mark_stalled
from .selectors import reads_count_estimate
from .services import import_run_retry

SEARCH_CUSTOMERS_LIMIT = 500  # locations a prefix search may match
ESTIMATE_FROM = 200_000  # reads from which the unfiltered list shows the statistics' count


class ReadsPaginator(Paginator):
    """The unfiltered read list takes its total from the table statistics once the table is big
    (COUNT(*) reads every row: half a second per 2 million on MariaDB); filtered lists count exactly,
    through the index of their date range or customers."""

    @cached_property
    def count(self):
        if not self.object_list.query.where:
            estimate = reads_count_estimate()
            if estimate is not None and estimate >= ESTIMATE_FROM:
                return estimate
        return super().count


class DateRangeFilter(admin.FieldListFilter):
    """A date field by range: a few ready ranges and a from–to form, each one `BETWEEN` on the field's
    index. Both ends are inclusive."""

    template = "metering/admin/date_range_filter.html"

    def __init__(self, field, request, params, model, model_admin, field_path):
        self.since = f"{field_path}__gte"
        self.until = f"{field_path}__lte"
        for key in (self.since, self.until):  # an empty box of the form is no condition
            if key in params and not any(str(v).strip() for v in params[key]):
                params.pop(key)
        super().__init__(field, request, params, model, model_admin, field_path)

    def expected_parameters(self):
        return [self.since, self.until]

    def _value(self, key) -> str:
        values = self.used_parameters.get(key) or [""]
        return str(values[-1])

    @property
    def since_value(self) -> str:
        return self._value(self.since)

    @property
    def until_value(self) -> str:
        return self._value(self.until)

    def _ranges(self) -> list[tuple[str, datetime.date | None, datetime.date | None]]:
        today = timezone.localdate()
        month = today.replace(day=1)
        last_month_end = month - datetime.timedelta(days=1)
        return [
            ("Yesterday", today - datetime.timedelta(days=1), today - datetime.timedelta(days=1)),
            ("Past 7 days", today - datetime.timedelta(days=7), today),
            ("Past 30 days", today - datetime.timedelta(days=30), today),
            ("This month", month, today),
            ("Last month", last_month_end.replace(day=1), last_month_end),
            ("This year", today.replace(month=1, day=1), today),
        ]

    def choices(self, changelist):
        current = (self.since_value, self.until_value)
        yield {
            "selected": current == ("", ""),
            "query_string": changelist.get_query_string(remove=[self.since, self.until]),
            "display": "Any date",
        }
        for title, start, end in self._ranges():
            yield {
                "selected": current == (start.isoformat(), end.isoformat()),
                "query_string": changelist.get_query_string(
                    {self.since: start.isoformat(), self.until: end.isoformat()}
                ),
                "display": title,
            }
        # The from–to form keeps the rest of the list's state (search, other filters, order).
        self.hidden = [(k, v) for k, v in changelist.params.items() if k not in (self.since, self.until)]


class LocationSearch:
    """Search by location ID through accounts_customer's unique index: the exact ID, or else the IDs
    starting with what was typed (a prefix LIKE, which PostgreSQL serves from the column's pattern
    index and MariaDB from its B-tree), never a substring scan joined to every read."""

    search_fields = ["customer__location_id"]  # shows the search box; the lookup is below
    search_help_text = "A location ID, or its first digits."

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        customers = Customer.objects.filter(location_id=term).values_list("pk", flat=True)
        ids = list(customers[:1]) or list(
            Customer.objects.filter(location_id__startswith=term)
            .order_by("location_id")
            .values_list("pk", flat=True)[:SEARCH_CUSTOMERS_LIMIT]
        )
        return queryset.filter(customer_id__in=ids), False


@admin.register(MeterRead)
class MeterReadAdmin(LocationSearch, ReadOnlyAdmin):
    list_display = ["read_date", "location_id", "customer_name", "usage_ccf"]
    list_filter = [("read_date", DateRangeFilter)]
    # Newest first by the read_date index alone, the page's customers fetched after in one query: ordering
    # by a joined column (or the join itself) made MariaDB sort every read to show a hundred.
    list_select_related = False
    ordering = ["-read_date", "-id"]
    show_full_result_count = False  # millions of rows: skip the second COUNT(*)
    show_facets = admin.ShowFacets.NEVER  # a count per range over millions of rows
    paginator = ReadsPaginator
    list_per_page = 100

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("customer")

    @admin.display(description="location ID", ordering="customer__location_id")
    def location_id(self, read):
        return read.customer.location_id

    @admin.display(description="customer", ordering="customer__name")
    def customer_name(self, read):
        return read.customer.name


@admin.register(ImportRun)
class ImportRunAdmin(DateDrillDown, ReadOnlyAdmin):
    """Import history: read-only. Operations may retry a stalled or failed upload (the service the
    import page's Retry button calls)."""

    date_field = "created_at"
    list_display = [
        "id",
        "created_at",
        "file_name",
        "state",
        "actor_label",
        "rows_read",
        "reads_created",
        "reads_corrected",
        "reads_unchanged",
        "rows_rejected",
        "customers_created",
        "retry_of",
    ]
    list_filter = ["status", "source", "created_at"]
    search_fields = ["file_name", "actor_label"]
    show_full_result_count = False
    actions = ["retry"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("retry_of")

    def get_changelist_instance(self, request):
        changelist = super().get_changelist_instance(request)
        mark_stalled(changelist.result_list)  # one cache read for the page's running imports
        return changelist

    @admin.display(description="status", ordering="status")
    def state(self, run):
        return "Stalled" if getattr(run, "stalled", False) else run.get_status_display()

    def has_import_meter_data_permission(self, request):
        return user_can(request.user, "import_meter_data")

    @admin.action(description="Retry the selected stalled or failed uploads", permissions=["import_meter_data"])
    def retry(self, request, queryset):
        if not self.has_import_meter_data_permission(request):
            raise PermissionDenied("Only Operations import meter data.")
        for run in queryset.order_by("id"):
            try:
                retry = import_run_retry(run=run, actor=request.user)
            except MeterImportError as error:
                self.message_user(request, str(error), messages.WARNING)
            else:
                self.message_user(request, f"Import #{run.pk} is retried as import #{retry.pk}.", messages.SUCCESS)


@admin.register(ReadCorrection)
class ReadCorrectionAdmin(ReadOnlyAdmin):
    list_display = ["import_run", "customer", "read_date", "old_usage_ccf", "new_usage_ccf"]
    list_select_related = ["customer", "import_run"]
    list_filter = [("read_date", DateRangeFilter)]
    search_fields = ["customer__location_id__exact", "import_run__id__exact"]  # both served by an index
    search_help_text = "A location ID, or an import's number."
    date_hierarchy = "read_date"  # a DateField: no time zone conversion; corrections are few
    show_full_result_count = False
