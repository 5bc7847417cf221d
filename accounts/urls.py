from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("no-account/", views.no_account, name="no_account"),
]
