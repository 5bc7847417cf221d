"""The portal's alerts page and account switcher (issue 16). Both are scoped by construction: the alerts are
request.customer's, and a switch accepts only an id among the login's own accounts (anything else is a 404)."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from accounts.roles import customer_required
from accounts.selectors import PORTAL_ACCOUNT_KEY, customer_for_login

from . import selectors
from .alert_rules import BUDGET_STEPS, VACATION_THRESHOLD_CCF
from .forms import AlertsForm
from .models import AlertSetting
from .services import alert_settings_save


@customer_required
@require_http_methods(["GET", "POST"])
def alerts(request):
    customer = request.customer
    setting = AlertSetting.objects.filter(customer=customer).first()
    form = AlertsForm(request.POST or None, initial=_initial(setting))
    if request.method == "POST" and form.is_valid():
        changed = alert_settings_save(customer=customer, actor=request.user, data=form.cleaned_data)
        messages.success(
            request, "Your alerts are saved." if changed else "Nothing to change: your alerts were already set so."
        )
        return redirect("portal:alerts")
    context = {
        "form": form,
        "steps": BUDGET_STEPS,
        "threshold_ccf": VACATION_THRESHOLD_CCF,
        "events": selectors.alerts_for_dashboard(customer, timezone.localdate()),
        "unit": request.session.get("portal_unit", "ccf"),
    }
    return render(request, "portal/alerts.html", context)


def _initial(setting: AlertSetting | None) -> dict:
    if setting is None:
        return {"email": True}
    return {name: getattr(setting, name) for name in ("budget", "away_from", "away_until", "email")}


@customer_required
@require_POST
def account_switch(request, customer):
    """Show another of the login's accounts on every portal page (kept in the session)."""
    chosen = customer_for_login(request.user, customer)
    request.session[PORTAL_ACCOUNT_KEY] = chosen.pk
    messages.info(request, f"Showing account {chosen.location_id}, {chosen.name}.")
    return redirect("portal:dashboard")
