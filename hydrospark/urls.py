from django.contrib import admin
from django.urls import include, path

from accounts.views import home

urlpatterns = [
    path("", home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("portal/", include("portal.urls")),
    path("staff/", include("staff.urls")),
    path("staff/metering/", include("metering.urls")),
    path("staff/billing/", include("billing.urls")),
    path("staff/anomalies/", include("anomalies.urls")),
]
