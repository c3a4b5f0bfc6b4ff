from django.urls import path

from . import views

app_name = "devices"

urlpatterns = [
    path("", views.DeviceListView.as_view(), name="device_list"),
    path("<int:pk>/", views.DeviceDetailView.as_view(), name="device_detail"),
    path("<int:pk>/move/", views.DeviceMoveView.as_view(), name="device_move"),
    path("<int:pk>/pair/", views.DevicePairView.as_view(), name="device_pair"),
    path("batches/", views.BatchListView.as_view(), name="batch_list"),
    path("batches/receive/", views.BatchReceiveView.as_view(), name="batch_receive"),
    path("batches/<int:pk>/", views.BatchDetailView.as_view(), name="batch_detail"),
    path("warranty/", views.WarrantyPolicyView.as_view(), name="warranty_policies"),
]
