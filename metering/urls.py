from django.urls import path

from . import views

app_name = "metering"

urlpatterns = [
    path("imports/", views.imports, name="imports"),
    path("imports/<int:pk>/", views.import_detail, name="import"),
    path("imports/<int:pk>/status.json", views.import_status, name="import_status"),
    path("imports/<int:pk>/retry/", views.import_retry, name="import_retry"),
    path("imports/<int:pk>/rejected-rows.csv", views.import_rejects, name="import_rejects"),
    path("reads/", views.reads_lookup, name="reads"),
    path("reads/<str:location_id>/", views.reads_for_customer, name="customer_reads"),
]
