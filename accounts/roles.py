"""Who may do what (SPEC §5). Staff pages check capabilities; the admin uses model permissions,
which each app declares in its AppConfig.role_permissions and `sync_role_permissions` applies."""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import models

from .selectors import PORTAL_ACCOUNT_KEY, chosen_customer, customers_for_login


class Role(models.TextChoices):
    OPERATIONS = "Operations"
    BILLING = "Billing"
    SUPPORT = "Support"


ALL_STAFF = frozenset(Role)

CAPABILITIES: dict[str, frozenset[str]] = {
    "view_customers": ALL_STAFF,
    "edit_customer_contact": frozenset({Role.SUPPORT}),
    "import_meter_data": frozenset({Role.OPERATIONS}),
    "review_anomalies": frozenset({Role.OPERATIONS}),
    "view_anomalies": ALL_STAFF,
    "edit_rates": frozenset({Role.BILLING}),
    "manage_bills": frozenset({Role.BILLING}),
    # the bank's payments file (issue 12): Operations runs the daily files, Billing records payments
    "import_payments": frozenset({Role.OPERATIONS, Role.BILLING}),
    "view_bills": ALL_STAFF,
    "view_analytics": ALL_STAFF,
}


def user_roles(user) -> frozenset[str]:
    """The user's staff roles (cached on the user object for the request)."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    if not hasattr(user, "_hydrospark_roles"):
        names = set(user.groups.filter(name__in=ALL_STAFF).values_list("name", flat=True))
        user._hydrospark_roles = frozenset(ALL_STAFF if user.is_superuser else names)
    return user._hydrospark_roles


def is_staff_member(user) -> bool:
    return bool(user_roles(user))


def user_can(user, capability: str) -> bool:
    return bool(user_roles(user) & CAPABILITIES[capability])


def capability_required(capability: str):
    """View decorator: signed out -> login redirect; signed in without the capability -> 403."""
    if capability not in CAPABILITIES:
        raise ValueError(f"Unknown capability {capability!r}")

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not user_can(request.user, capability):
                raise PermissionDenied(f"Your role does not allow this ({capability}).")
            return view(request, *args, **kwargs)

        wrapper.capability = capability
        return wrapper

    return decorator


def staff_required(view):
    """Any staff role (Operations, Billing or Support)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not is_staff_member(request.user):
            raise PermissionDenied("Staff only.")
        return view(request, *args, **kwargs)

    return wrapper


def customer_required(view):
    """Portal pages: a signed-in login holding a customer account; staff get 403. request.customer is the
    account chosen in the switcher (one of the login's own, so every page is scoped to it by construction);
    request.customer_accounts all the login holds."""
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        accounts = customers_for_login(request.user)
        if not accounts:
            raise PermissionDenied("The customer portal is for customer accounts.")
        request.customer_accounts = request.user._portal_accounts = accounts  # holds_accounts reads it again
        request.customer = chosen_customer(accounts, request.session.get(PORTAL_ACCOUNT_KEY))
        return view(request, *args, **kwargs)

    return wrapper


def sync_role_permissions(**kwargs):
    """Give each role group the model permissions the apps declare (idempotent, runs after migrate).

    An app declares them on its AppConfig: role_permissions = {"Billing": ["billing.add_payment", ...]}.
    """
    from django.apps import apps
    from django.contrib.auth.models import Group, Permission

    wanted: dict[str, set[str]] = {role: set() for role in Role}
    for config in apps.get_app_configs():
        for role, perms in getattr(config, "role_permissions", {}).items():
            wanted[role].update(perms)
    for role, codes in wanted.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = []
        for code in sorted(codes):
            app_label, codename = code.split(".")
            perms.extend(Permission.objects.filter(content_type__app_label=app_label, codename=codename))
        group.permissions.set(perms)
