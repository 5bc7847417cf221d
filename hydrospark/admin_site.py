from functools import wraps

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import PermissionDenied


class HydroSparkAdminSite(admin.AdminSite):
    """The admin for staff only: a signed-in customer gets 403 on every admin URL (not a login page),
    and signing in goes through allauth so its rate limits apply."""

    site_header = "HydroSpark administration"
    site_title = "HydroSpark admin"
    index_title = "Records"

    def admin_view(self, view, cacheable=False):
        inner = super().admin_view(view, cacheable)

        @wraps(view)
        def refuse_non_staff(request, *args, **kwargs):
            user = request.user
            if user.is_authenticated and not (user.is_active and user.is_staff):
                raise PermissionDenied("The administration is for staff.")
            return inner(request, *args, **kwargs)

        return refuse_non_staff

    def login(self, request, extra_context=None):
        from allauth.account.decorators import secure_admin_login  # imports models: not at app loading

        return secure_admin_login(super().login)(request, extra_context)


class HydroSparkAdminConfig(AdminConfig):
    default_site = "hydrospark.admin_site.HydroSparkAdminSite"
