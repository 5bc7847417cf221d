from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from .adapter import landing_url


def home(request):
    """The site root sends each person to their own home."""
    if not request.user.is_authenticated:
        return redirect("account_login")
    return redirect(landing_url(request.user))


@login_required
def no_account(request):
    """A login that is neither staff nor linked to a customer account (e.g. a closed account)."""
    return render(request, "accounts/no_account.html", status=403)
