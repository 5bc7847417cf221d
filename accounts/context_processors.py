from django.apps import apps
from django.urls import reverse

from .adapter import landing_url
from .roles import is_staff_member, user_can, user_roles
from .selectors import holds_accounts


def roles(request):
    """Template flags for the signed-in user: their roles and the staff navigation they may use."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {
            "is_staff_member": False,
            "is_customer": False,
            "staff_nav": [],
            "user_roles": [],
            "home_url": reverse("account_login"),
        }
    staff = is_staff_member(user)
    return {
        "is_staff_member": staff,
        "is_customer": holds_accounts(user),
        "staff_nav": staff_nav(user, request.path) if staff else [],
        "user_roles": sorted(user_roles(user)),
        "home_url": landing_url(user),  # where "back home" leads, e.g. from a 403 or 404 page
    }


def staff_nav(user, path: str) -> list[dict]:
    """The links each app declares (AppConfig.staff_nav) that this user's roles allow; the one whose
    URL is the longest prefix of the current path is active."""
    nav = [
        {"label": label, "url": reverse(url_name), "active": False}
        for config in apps.get_app_configs()
        for label, url_name, capability in getattr(config, "staff_nav", [])
        if user_can(user, capability)
    ]
    matching = [item for item in nav if path.startswith(item["url"])]
    if matching:
        max(matching, key=lambda item: len(item["url"]))["active"] = True
    return nav
