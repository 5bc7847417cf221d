from django.urls import path

from . import views

app_name = "staff"

urlpatterns = [
    path("", views.home, name="home"),
    path("customers/", views.customer_search_page, name="customers"),
    path("customers/<str:location_id>/", views.customer_page, name="customer"),
    path("customers/<str:location_id>/edit/", views.customer_edit, name="customer_edit"),
    path("customers/<str:location_id>/delivery/", views.customer_delivery, name="customer_delivery"),
    path("customers/<str:location_id>/notes/", views.customer_note_add, name="customer_note_add"),
    path("customers/<str:location_id>/usage.svg", views.customer_usage_chart, name="customer_usage_chart"),
    path("analytics/", views.analytics_page, name="analytics"),
    path("analytics/<slug:slug>.csv", views.analytics_csv, name="analytics_csv"),
    path("analytics/charts/<slug:slug>.svg", views.analytics_chart, name="analytics_chart"),
    path("audit/", views.audit_trail, name="audit"),
    path("audit/export.csv", views.audit_csv, name="audit_csv"),
]
