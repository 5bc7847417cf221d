from django.shortcuts import render
from django.utils import timezone

from accounts.roles import customer_required
from metering.selectors import daily_usage


@customer_required
def dashboard(request):
    """The customer's home: this month's use so far and the last days' reads."""
    today = timezone.localdate()
    reads = daily_usage(customer=request.customer, start=today.replace(day=1), end=today)
    month_total = sum((r.usage_ccf for r in reads), start=0)
    return render(request, "portal/dashboard.html", {"reads": reads, "month_total": month_total, "today": today})
