from django.urls import path

from . import account_views, alert_views, views

app_name = "portal"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("usage/", views.usage, name="usage"),
    path("usage/reads.csv", views.usage_csv, name="usage_csv"),
    path("charts/<str:chart>.svg", views.chart, name="chart"),
    path("bills/", views.bills, name="bills"),
    path("bills/<int:pk>/", views.bill_detail, name="bill"),
    path("bills/<int:pk>/pdf/", views.bill_pdf, name="bill_pdf"),
    path("payments/", account_views.payments, name="payments"),
    path("profile/", views.profile, name="profile"),
    path("alerts/", alert_views.alerts, name="alerts"),
    path("accounts/<int:customer>/switch/", alert_views.account_switch, name="account_switch"),
]
