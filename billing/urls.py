from django.urls import path

from . import account_views, delivery_views, payment_views, views

app_name = "billing"

urlpatterns = [
    path("", views.bill_list, name="bills"),
    path("runs/", views.runs, name="runs"),
    path("runs/act/", views.run_action, name="run_action"),
    path("runs/<int:pk>/", views.run_status, name="run"),
    path("print-files/<int:pk>/bills.pdf", delivery_views.print_file_pdf, name="print_file_pdf"),
    path("print-files/<int:pk>/manifest.csv", delivery_views.print_file_manifest, name="print_file_manifest"),
    path("runs/<int:pk>/retry/", views.run_retry, name="run_retry"),
    path("bills/<int:pk>/", views.bill_detail, name="bill"),
    path("bills/<int:pk>/pdf/", views.bill_pdf, name="bill_pdf"),
    path("bills/<int:pk>/payments/", views.payment_add, name="payment_add"),
    path("bills/<int:pk>/send/", views.bill_send, name="bill_send"),
    path("bills/<int:pk>/cancel/", account_views.bill_cancel, name="bill_cancel"),
    path("rebill/", account_views.rebill, name="rebill"),
    path("customers/<str:location_id>/adjust/", account_views.adjustment_add, name="adjustment_add"),
    path("payment-imports/", payment_views.payment_imports, name="payment_imports"),
    path("payment-imports/<int:pk>/", payment_views.payment_import_detail, name="payment_import"),
    path("payment-imports/<int:pk>/status/", payment_views.payment_import_status, name="payment_import_status"),
    path("payment-imports/<int:pk>/rejects.csv", payment_views.payment_import_rejects, name="payment_import_rejects"),
    path("payment-imports/<int:pk>/retry/", payment_views.payment_import_retry_view, name="payment_import_retry"),
]
