from django.shortcuts import render

from accounts.roles import staff_required


@staff_required
def home(request):
    """Each role's starting page: what this role can do, with links (SPEC §5)."""
    return render(request, "staff/home.html")
