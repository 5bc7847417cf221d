from django.urls import path

from . import views

app_name = "anomalies"

urlpatterns = [
    path("", views.queue, name="queue"),
    path("resolve/", views.bulk_review, name="bulk_review"),
    path("run/", views.run_detection, name="run"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/review/", views.review, name="review"),
]
