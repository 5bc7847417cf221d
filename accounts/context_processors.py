from django.apps import apps
from django.urls import reverse

from .roles import is_staff_member, user_can, user_roles


def roles(request):
    """Template flags for the signed-in user: their roles and the staff navigation they may use."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"is_staff_member": False, "is_customer": False, "staff_nav": [], "user_roles": []}
    staff = is_staff_member(user)
    nav = []
    if staff:
        for config in apps.get_app_configs():
            for label, url_name, capability in getattr(config, "staff_nav", []):
                if user_can(user, capability):
                    nav.append(
                        {"label": label, "url": reverse(url_name), "active": request.path.startswith(reverse(url_name))}
                    )
    return {
        "is_staff_member": staff,
        "is_customer": getattr(user, "customer", None) is not None,
        "staff_nav": nav,
        "user_roles": sorted(user_roles(user)),
    }
