from django.urls import path

from . import incident_views, views

app_name = "anomalies"

urlpatterns = [
    # Incidents (SPEC §3a): what Operations work through.
    path("", incident_views.queue, name="queue"),
    path("incidents/resolve/", incident_views.bulk_review, name="incidents_bulk_review"),
    path("incidents/<int:pk>/", incident_views.incident, name="incident"),
    path("incidents/<int:pk>/review/", incident_views.review, name="incident_review"),
    path("incidents/<int:pk>/contact/", incident_views.contact, name="incident_contact"),
    path("incidents/<int:pk>/allowance/", incident_views.allowance_offer, name="incident_allowance_offer"),
    path("incidents/<int:pk>/allowance/decide/", incident_views.allowance_decide, name="incident_allowance_decide"),
    path("run/", views.run_detection, name="run"),
    # The day records (SPEC §3) the incidents are made of.
    path("days/", views.queue, name="days"),
    path("resolve/", views.bulk_review, name="bulk_review"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/review/", views.review, name="review"),
]
