from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.urls import reverse

from .roles import is_staff_member
from .selectors import holds_accounts


class AccountAdapter(DefaultAccountAdapter):
    """No open sign-up: the utility creates customer logins; customers set a password by reset email."""

    def is_open_for_signup(self, request):
        return False

    def get_login_redirect_url(self, request):
        return landing_url(request.user)

    def render_mail(self, template_prefix, email, context, headers=None):
        """Every account email (password reset, email change, notices) speaks as the utility and signs
        with its name, phone and site address, not as the host name the request came in on."""
        return super().render_mail(template_prefix, email, {**context, **utility_context()}, headers)


def utility_context() -> dict:
    return {
        "utility_name": settings.UTILITY_NAME,
        "utility_phone": settings.UTILITY_PHONE,
        "site_url": settings.SITE_URL.rstrip("/"),
    }


def landing_url(user) -> str:
    if is_staff_member(user):
        return reverse("staff:home")
    if holds_accounts(user):
        return reverse("portal:dashboard")
    if user.is_staff:
        return reverse("admin:index")
    return reverse("accounts:no_account")
